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

"""Validated node reports: what the tracked hosts are updated with.

:mod:`sora.scheduler.host_state` parses reports into :class:`Reports`; the
fields, their defaults and the limits every parser shares are here.
"""

import functools
import math
import types

from sora.scheduler import host_table
from sora.scheduler import taints as sora_taints
from sora.scheduler import units
from sora.scheduler import validate

UNLIMITED = math.inf
"""The value of a resource a host did not report: it never limits."""

NO_LABELS = types.MappingProxyType({})
NO_RESOURCES = host_table.NO_RESOURCES
MAX_CONTAINERS = 2**53
"""The largest ``containers`` count a host may report (exact as a float)."""

# Field name -> default, in the order of the documented format. None marks
# a required field; a callable derives the default from the parsed host.
HOST_FIELDS = {
    'id': None,
    'memory_mb': None,
    'memory_total_mb': lambda host: host['memory_mb'],
    'cpus': UNLIMITED,
    'cpus_total': lambda host: host['cpus'],
    'disk_gb': UNLIMITED,
    'containers': 0,  # or how many consumers the report lists
    'labels': NO_LABELS,
    'groups': (),
    'enabled': True,
    'consumers': (),
    'resources': NO_RESOURCES,
    'resources_total': NO_RESOURCES,
    'taints': sora_taints.NONE,
}
HOST_KEYS = frozenset(HOST_FIELDS)
AMOUNTS = host_table.FLOATS


INT_LIMIT = 2 ** 53  # beyond: checked and cut to units.MAX the slow way


class Reports:
    """Validated node reports, in the order they were given.

    What the tracked hosts are updated with. Per report (index ``i``):
    ``ids[i]``; ``amounts[field][i]``, whole units of each of
    ``memory_mb``, ``memory_total_mb``, ``cpus``, ``cpus_total`` and
    ``disk_gb`` (:data:`units.UNLIMITED` when not reported);
    ``containers[i]``, ``enabled[i]``, ``labels[i]`` (read-only mapping),
    ``groups[i]`` and ``consumers[i]`` (tuples), ``resources[i]`` (free)
    and ``resources_total[i]`` (read-only mappings of countable resource
    name to amount, naming the same resources), ``taints[i]`` (a sorted
    tuple of :class:`~sora.scheduler.taints.Taint`). Build them
    with :func:`~sora.scheduler.host_state.parse_reports`.
    """

    __slots__ = ('ids', 'amounts', 'containers', 'enabled', 'labels',
                 'groups', 'consumers', 'resources', 'resources_total',
                 'taints')

    def __init__(self, ids, amounts, containers, enabled, labels, groups,
                 consumers, resources=None, resources_total=None,
                 taints=None):
        self.ids, self.amounts = ids, amounts
        self.containers, self.enabled = containers, enabled
        self.labels, self.groups, self.consumers = labels, groups, consumers
        self.resources = resources or [NO_RESOURCES] * len(ids)
        self.resources_total = resources_total or self.resources
        self.taints = taints or [sora_taints.NONE] * len(ids)

    @classmethod
    def _of_rows(cls, rows):
        # Rows as _quick and _checked make them.
        columns = [list(column) for column in zip(*rows)] or [[]] * 14
        return cls(columns[0], dict(zip(AMOUNTS, columns[1:6])),
                   *columns[6:])

    def __eq__(self, other):
        return isinstance(other, Reports) and all(
            getattr(self, name) == getattr(other, name)
            for name in self.__slots__)

    __hash__ = None

    def __len__(self):
        return len(self.ids)

    def part(self, start, end):
        """Return the reports from *start* up to *end* as ``Reports``."""
        return Reports(self.ids[start:end], {
            name: column[start:end] for name, column in self.amounts.items()},
            *(getattr(self, name)[start:end] for name in self.__slots__[2:]))

    @classmethod
    def joined(cls, parts):
        """Return the ``Reports`` holding each of *parts* in turn."""
        return cls([host_id for part in parts for host_id in part.ids], {
            name: [amount for part in parts for amount in part.amounts[name]]
            for name in AMOUNTS},
            *([item for part in parts for item in getattr(part, name)]
              for name in cls.__slots__[2:]))

    def table(self):
        """Return these hosts as a ``HostTable`` sorted by id."""
        return host_table.HostTable.build(
            self.ids, self.amounts, self.containers, self.enabled,
            self.labels, self.groups, self.resources, self.resources_total,
            self.taints)

    def to_dicts(self):
        """Return the reports in their JSON form."""
        reports = []
        for i, host_id in enumerate(self.ids):
            report = {'id': host_id}
            for name in AMOUNTS:
                amount = self.amounts[name][i]
                if amount != units.UNLIMITED:
                    report[name] = units.documented(amount,
                                                    units.SCALES[name])
            report.update(containers=self.containers[i],
                          labels=dict(self.labels[i]),
                          groups=list(self.groups[i]),
                          enabled=self.enabled[i])
            if self.consumers[i]:
                report['consumers'] = list(self.consumers[i])
            if self.resources_total[i]:
                report['resources'] = dict(self.resources[i])
                report['resources_total'] = dict(self.resources_total[i])
            if self.taints[i]:
                report['taints'] = [taint.to_dict()
                                    for taint in self.taints[i]]
            reports.append(report)
        return reports


def counted(free, total):
    """Return ``(free, total)`` of a report's countable resources, or None.

    *free* and *total* are the report's ``resources`` and
    ``resources_total`` (None when absent); a name in only one of them
    has the other's amount as its total, or 0 free: both name the same
    resources, sorted. None when either is
    not a valid mapping or a free amount is more than its total: the
    checked parser then names what is wrong.
    """
    if free is None and total is None:
        return NO_RESOURCES, NO_RESOURCES
    amounts = []
    for value in (free, total):
        if value is None:
            amounts.append({})
        elif type(value) is not dict or \
                len(value) > validate.MAX_RESOURCES or not all(
                validate.is_resource_name(name) and type(amount) is int
                and 0 <= amount <= units.MAX
                for name, amount in value.items()):
            return None
        else:
            amounts.append(value)
    free, total = amounts
    total = dict(sorted({**free, **total}.items()))
    if any(amount > total[name] for name, amount in free.items()):
        return None
    return (_shared(tuple((name, free.get(name, 0)) for name in total)),
            _shared(tuple(total.items())))


@functools.lru_cache(maxsize=4096)
def _shared(items):
    # Hosts report few distinct amounts of their resources: each mapping
    # is kept once (as Chunks keeps label sets), and so costs a host only
    # the reference to it.
    return types.MappingProxyType(dict(items))


def plain_names(value):
    """Return a list of non-empty strings as a tuple; else None."""
    if type(value) is not list and type(value) is not tuple:
        return None
    for item in value:
        if type(item) is not str or not item:
            return None
    return tuple(value)
