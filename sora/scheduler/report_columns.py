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

"""Many node reports checked at once, column by column with NumPy.

The fast path of :func:`sora.scheduler.host_state.parse_reports` for
lists of :data:`BULK` reports or more.
"""

import itertools
import types

import numpy as np

from sora.scheduler import reports
from sora.scheduler import taints
from sora.scheduler import units
from sora.scheduler import validate

BULK = 256
"""From this many reports at once, they are checked column by column."""
_NONE = type(None)


def parse(data):
    # A list of plain, valid reports checked column by column with NumPy;
    # None when anything is unusual, and the reports are then checked one
    # by one (which finds and names what is wrong). Accepts exactly what
    # _quick does, with the same result.
    if set(map(type, data)) != {dict} or \
            not all(item.keys() <= reports.HOST_KEYS for item in data):
        return None
    present = set().union(*map(dict.keys, data))
    column = {field: [item.get(field) for item in data]
              if field in present else [None] * len(data)
              for field in reports.HOST_FIELDS}
    ids = column['id']
    if set(map(type, ids)) != {str} or not all(ids) or \
            len(set(ids)) != len(ids) or not validate.is_text(''.join(ids)):
        return None
    numbers = {}
    for field in reports.AMOUNTS + ('containers',):
        values = column[field]
        kinds = set(map(type, values))
        if not kinds <= ({int, _NONE} if field == 'containers' else
                         {int, float, _NONE}):
            return None
        try:
            array = np.array(values, dtype=float)
        except OverflowError:
            return None
        missing = values.count(None)
        if np.count_nonzero(np.isnan(array)) != missing or \
                np.nanmin(array, initial=0.0) < 0 or \
                np.nanmax(array, initial=0.0) > reports.INT_LIMIT:
            return None
        numbers[field] = array, (np.isnan(array) if missing else None)
    memory, absent = numbers['memory_mb']
    if absent is not None:
        return None
    total, absent = numbers['memory_total_mb']
    if absent is not None:
        total = np.where(absent, memory, total)
    cpus, no_cpus = numbers['cpus']
    cpus_total, absent = numbers['cpus_total']
    if no_cpus is not None:
        if absent is None or (no_cpus & ~absent).any():
            return None
        cpus = np.where(no_cpus, np.inf, cpus)
    if absent is not None:
        cpus_total = np.where(absent, cpus, cpus_total)
    if (memory > total).any() or (cpus > cpus_total).any():
        return None
    disk, absent = numbers['disk_gb']
    if absent is not None:
        disk = np.where(absent, np.inf, disk)
    # Nodes share a few label sets: each distinct one is checked and
    # stored once.
    shared, labels = {None: reports.NO_LABELS}, column['labels']
    for at, value in enumerate(labels):
        try:
            labels[at] = shared[None if value is None else
                                tuple(value.items())]
        except KeyError:
            if type(value) is not dict or not set(map(
                    type, itertools.chain.from_iterable(value.items()))) \
                    <= {str} or not validate.is_text(''.join(
                        itertools.chain.from_iterable(value.items()))):
                return None
            labels[at] = shared[tuple(value.items())] = \
                types.MappingProxyType(value.copy())
        except (TypeError, AttributeError):
            return None
    names = {}
    for field in ('groups', 'consumers'):
        names[field] = [() if value is None else reports.plain_names(value)
                        for value in column[field]]
        if None in names[field] or not validate.is_text(''.join(
                itertools.chain.from_iterable(names[field]))):
            return None
    containers, absent = numbers['containers']
    if absent is not None:
        containers = np.where(absent, [len(consumers) for consumers in
                                       names['consumers']], containers)
    enabled = column['enabled']
    if not set(map(type, enabled)) <= {bool, _NONE}:
        return None
    if (containers > reports.MAX_CONTAINERS).any():
        return None
    counted = [None, None]  # no host reports countable resources
    if {'resources', 'resources_total'} & present:
        counted = list(map(reports.counted, column['resources'],
                           column['resources_total']))
        if None in counted:
            return None
        counted = map(list, zip(*counted))
    tainted = None  # no host reports taints
    if 'taints' in present:
        tainted = [taints.NONE if value is None else taints.plain(value)
                   for value in column['taints']]
        if None in tainted:
            return None
    amounts = {name: units.capacities(values, units.SCALES[name]).tolist()
               for name, values in zip(reports.AMOUNTS, (
                   memory, total, cpus, cpus_total, disk))}
    return reports.Reports(
        ids, amounts, containers.astype(np.int64).tolist(),
        [value is not False for value in enabled], labels, names['groups'],
        names['consumers'], *counted, tainted)
