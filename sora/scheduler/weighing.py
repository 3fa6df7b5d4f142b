# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Loading weighers by name and scoring candidate hosts with them."""

import math
import numbers

import numpy as np

from sora.scheduler import exceptions
from sora.scheduler import plugins


def load(names, conf, option=None):
    """Build the weighers called *names*; return ``[(name, weigher)]``.

    See :func:`sora.scheduler.plugins.load`.
    """
    built = plugins.load(plugins.WEIGHERS, names, conf, option,
                         ('weigh_all', 'weigh'))
    for name, plugin in built:
        try:
            _multiplier(name, plugin)
        except exceptions.PluginError as error:
            # Most often set from an option: a configuration error.
            raise exceptions.InvalidConfig(str(error)) from None
    return built


def normalise(values):
    """Scale *values* to 0..1 (all 0 when they are equal), as Nova does.

    Infinite values (a resource a host does not report) count as the
    largest, or smallest, finite value.
    """
    finite = values[np.isfinite(values)]
    if not len(finite):
        return np.zeros(len(values))
    low, high = finite.min(), finite.max()
    if high == low:
        return np.zeros(len(values))
    if len(finite) < len(values):
        values = np.clip(values, low, high)
    return (values - low) / (high - low)


def scores(weighers, hosts, request, rows, time_limit=0):
    """Return ``{weigher name: multiplier x normalised weight}`` for rows.

    Weighers whose multiplier is 0 are skipped, and so are vectorised ones
    that answer ``None`` (the request gives them nothing to weigh);
    *time_limit* is the seconds each weigher may take (0: any).

    :raises PluginError: a weigher raised, answered in the wrong shape or
        with NaN, has a multiplier that is not a finite number, or took too
        long.
    """
    weighted = {}
    for name, plugin in weighers:
        with plugins.calling('weigher', name, time_limit):
            multiplier = _multiplier(name, plugin)
            if not multiplier:
                continue
            vectorised = getattr(plugin, 'weigh_all', None)
            if vectorised is not None:
                values = vectorised(hosts, request)
                if values is None:
                    continue
                values = _checked(name, values, (len(hosts),))[rows]
            else:
                values = _checked(name, [plugin.weigh(hosts[row], request)
                                         for row in rows], (len(rows),))
        weighted[name] = multiplier * normalise(values)
    return weighted


def _multiplier(name, plugin):
    multiplier = getattr(plugin, 'multiplier', 1.0)
    if not isinstance(multiplier, numbers.Real) or \
            not math.isfinite(multiplier):
        raise exceptions.PluginError(
            f'weigher {name!r} has multiplier {multiplier!r:.60}, '
            'not a finite number')
    return multiplier


def _checked(name, values, shape):
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        values = None
    if values is None or values.shape != shape:
        raise exceptions.PluginError(
            f'weigher {name!r} did not answer one number per host')
    if np.isnan(values).any():
        raise exceptions.PluginError(f'weigher {name!r} answered NaN')
    return values
