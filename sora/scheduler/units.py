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

"""Resource amounts as whole numbers of a smallest unit.

Sora keeps every amount as an integer of the resource's smallest unit (MB
of memory, milli-CPUs, GB of disk), so that claiming and releasing never
leave float residue and three claims of 0.1 CPU fit a node with 0.3 free.
A value finer than the unit is rounded the safe way: what a request needs
is rounded up, what a host has is rounded down. Plugins still read the
documented units (``host.cpus`` in CPUs): :func:`documented` turns units
back into floats, and because it is one monotone conversion of integers,
comparing two converted amounts gives the same answer as comparing the
integers.
"""

import math

import numpy as np

SCALES = {'memory_mb': 1, 'memory_total_mb': 1, 'cpus': 1000,
          'cpus_total': 1000, 'disk_gb': 1}
"""Units per documented unit, by field: 1 MB, 1/1000 CPU, 1 GB."""
RESOURCES = ('memory_mb', 'cpus', 'disk_gb')
"""The fields a placement consumes from its host, in this order."""
MAX = 2 ** 50
"""The most units of any one amount (a larger capacity is cut to it)."""
UNLIMITED = 2 ** 62
"""The units of a resource a host does not report: it never limits."""
_LIMITLESS = 2 ** 61  # at or above: unlimited, even after claims
_TOLERANCE = 1e-12


def _whole(scaled):
    # A decimal written in whole units (0.3 CPUs) lands within a few ulps
    # of an integer once scaled; that integer is what was meant.
    nearest = round(scaled)
    if abs(scaled - nearest) <= _TOLERANCE * max(1.0, abs(scaled)):
        return nearest
    return None


def capacity(value, scale):
    """Return what a host has of *value* (documented units), rounded down.

    :param value: a finite number >= 0, or ``math.inf`` (not reported).
    """
    if value == math.inf:
        return UNLIMITED
    if type(value) is int:
        return min(value * scale, MAX)
    scaled = value * scale
    whole = _whole(scaled)
    return min(math.floor(scaled) if whole is None else whole, MAX)


def need(value, scale):
    """Return what a request needs of *value*, rounded up.

    A need beyond :data:`MAX` becomes ``MAX + 1``, more than any host has.
    """
    if type(value) is int:
        return min(value * scale, MAX + 1)
    scaled = value * scale
    whole = _whole(scaled)
    return min(math.ceil(scaled) if whole is None else whole, MAX + 1)


def capacities(values, scale):
    """Return :func:`capacity` of each of *values* (a float array)."""
    values = np.asarray(values, dtype=float)
    limitless = values == math.inf
    scaled = np.where(limitless, 0.0, values) * scale
    nearest = np.rint(scaled)
    whole = np.abs(scaled - nearest) <= _TOLERANCE * np.maximum(
        1.0, np.abs(scaled))
    result = np.minimum(np.where(whole, nearest, np.floor(scaled)), MAX)
    result = result.astype(np.int64)
    result[limitless] = UNLIMITED
    return result


def documented(units, scale):
    """Return *units* in documented units (a float; inf when unlimited)."""
    if units >= _LIMITLESS:
        return math.inf
    return units / scale


def documented_all(units, scale):
    """Return :func:`documented` of each of *units* (an int64 array)."""
    result = units / scale
    result[units >= _LIMITLESS] = math.inf
    return result


def of(value, scale):
    """Return the units of a documented amount that came from units.

    The exact inverse of :func:`documented` (``of(documented(u, s), s) ==
    u``), for values read back from a table.
    """
    if value == math.inf:
        return UNLIMITED
    return round(value * scale)
