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

"""Loading filters by name and running them over a host table."""

import numpy as np

from sora.scheduler import exceptions
from sora.scheduler import plugins

REQUEST_FILTERS = ('enabled', 'memory', 'cpu', 'disk', 'labels', 'same_host',
                   'different_host', 'affinity', 'anti_affinity')
"""What every built-in driver checks: resources, labels and placement."""


def load(names, conf, option=None):
    """Build the filters called *names*; return ``[(name, filter)]``.

    See :func:`sora.scheduler.plugins.load_all`.
    """
    return [(name, plugin) for name, plugin, _entry in plugins.load_all(
        plugins.FILTERS, names, conf, option, ('filter_mask', 'host_passes'))]


def check_request(filters, request):
    """Refuse a request whose constraints no filter in *filters* enforces.

    :raises InvalidRequest: naming the constraint and what to enable.
    """
    wanted = [field for field in ('labels', 'same_host', 'different_host')
              if getattr(request, field)]
    if request.group_policy:
        wanted.append(request.group_policy)
    enforced = {field for _name, plugin in filters
                for field in getattr(plugin, 'request_fields', ())}
    missing = [field for field in wanted if field not in enforced]
    if missing:
        raise exceptions.InvalidRequest(
            f'the request asks for {", ".join(missing)} but no enabled '
            'filter enforces it: add the filter for it (built in: labels, '
            'same_host, different_host, affinity, anti_affinity) to '
            '[filter_scheduler] enabled_filters')


def run(filters, hosts, request, time_limit=0):
    """Return the mask of hosts passing every filter, and the counts.

    The counts are ``[(filter name, hosts left after it)]`` for each filter
    that had something to check, up to the first that leaves none. A
    per-host filter is only asked about the hosts every earlier filter
    kept. *time_limit* is the seconds each filter may take (0: any).

    :raises PluginError: a filter raised, answered in the wrong shape or
        took too long.
    """
    mask = np.ones(len(hosts), dtype=bool)
    counts = []
    for name, plugin in filters:
        with plugins.calling('filter', name, time_limit):
            vectorised = getattr(plugin, 'filter_mask', None)
            if vectorised is not None:
                passed = vectorised(hosts, request)
                if passed is None:
                    continue
                mask = mask & _checked_mask(name, passed, len(hosts))
            else:
                mask = _per_host(name, plugin, hosts, request, mask)
        counts.append((name, int(np.count_nonzero(mask))))
        if not counts[-1][1]:
            break
    return mask, counts


def _checked_mask(name, passed, size):
    passed = np.asarray(passed)
    if passed.dtype != bool or passed.shape != (size,):
        raise exceptions.PluginError(
            f'filter {name!r} returned {passed.dtype} values of shape '
            f'{passed.shape}, not {size} booleans (one per host)')
    return passed


def _per_host(name, plugin, hosts, request, mask):
    passed = np.zeros(len(hosts), dtype=bool)
    for row in np.flatnonzero(mask):
        answer = plugin.host_passes(hosts[row], request)
        if not isinstance(answer, (bool, np.bool_)):
            raise exceptions.PluginError(
                f'filter {name!r} answered {answer!r:.60} for host '
                f'{hosts.ids[row]!r}, not True or False')
        passed[row] = answer
    return passed


def no_valid_host(filters, hosts, request, counts, count=1, placed=0):
    """Return the :class:`NoValidHost` explaining *counts*."""
    details = {}
    for name, plugin in filters:
        describe = getattr(plugin, 'describe', None)
        text = describe(request) if describe is not None else None
        if text:
            details[name] = text
    return exceptions.NoValidHost(len(hosts), counts, count=count,
                                  placed=placed, details=details)
