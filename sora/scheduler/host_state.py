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

"""Hosts: the node-report model, parsing and validation.

Node reports arrive as plain mappings (or JSON: a hosts file is read by
:mod:`sora.scheduler.hosts_file`) and are validated into :class:`Reports`
(what the tracked hosts are updated with) or straight into a
:class:`~sora.scheduler.host_table.HostTable` (:func:`parse_hosts`);
:func:`hosts_from_seed` takes the seed's data shape.
:class:`~sora.scheduler.host_table.Host` objects a caller passes in are
validated exactly as mappings are. Amounts are held as whole units (see
:mod:`sora.scheduler.units`).

Requests are modelled and validated in :mod:`sora.scheduler.request`.
``Host``, ``HostTable`` and ``Request`` can also be imported from here,
as plugins written against this module do.
"""

import collections.abc
import itertools
import math
import types

import numpy as np

from sora.scheduler import exceptions
from sora.scheduler import host_table
from sora.scheduler import request as sora_request
from sora.scheduler import units
from sora.scheduler import validate

Host = host_table.Host
HostTable = host_table.HostTable
Request = sora_request.Request
UNLIMITED = math.inf
"""The value of a resource a host did not report: it never limits."""

_NO_LABELS = types.MappingProxyType({})
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
    'labels': _NO_LABELS,
    'groups': (),
    'enabled': True,
    'consumers': (),
}
_HOST_KEYS = frozenset(HOST_FIELDS)
_AMOUNTS = host_table.FLOATS


class Reports:
    """Validated node reports, in the order they were given.

    What the tracked hosts are updated with. Per report (index ``i``):
    ``ids[i]``; ``amounts[field][i]``, whole units of each of
    ``memory_mb``, ``memory_total_mb``, ``cpus``, ``cpus_total`` and
    ``disk_gb`` (:data:`units.UNLIMITED` when not reported);
    ``containers[i]``, ``enabled[i]``, ``labels[i]`` (read-only mapping),
    ``groups[i]`` and ``consumers[i]`` (tuples). Build them with
    :func:`parse_reports`.
    """

    __slots__ = ('ids', 'amounts', 'containers', 'enabled', 'labels',
                 'groups', 'consumers')

    def __init__(self, ids, amounts, containers, enabled, labels, groups,
                 consumers):
        self.ids, self.amounts = ids, amounts
        self.containers, self.enabled = containers, enabled
        self.labels, self.groups, self.consumers = labels, groups, consumers

    @classmethod
    def _of_rows(cls, rows):
        # Rows as _quick and _checked make them.
        columns = [list(column) for column in zip(*rows)] or [[]] * 11
        return cls(columns[0], dict(zip(_AMOUNTS, columns[1:6])),
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
            for name in _AMOUNTS},
            *([item for part in parts for item in getattr(part, name)]
              for name in cls.__slots__[2:]))

    def table(self):
        """Return these hosts as a :class:`HostTable` sorted by id."""
        return HostTable.build(self.ids, self.amounts, self.containers,
                               self.enabled, self.labels, self.groups)

    def to_dicts(self):
        """Return the reports in their JSON form."""
        reports = []
        for i, host_id in enumerate(self.ids):
            report = {'id': host_id}
            for name in _AMOUNTS:
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
            reports.append(report)
        return reports


_INT_LIMIT = 2 ** 53  # beyond: checked and cut to units.MAX the slow way


def _amount(value, scale):
    # The units of a plain number >= 0, or None to take the full check.
    kind = type(value)
    if kind is int:
        return min(value * scale, units.MAX) if 0 <= value <= _INT_LIMIT \
            else None
    if kind is float and 0.0 <= value < math.inf:
        return units.capacity(value, scale)
    return None


def _names(value):
    if type(value) is not list and type(value) is not tuple:
        return None
    for item in value:
        if type(item) is not str or not item:
            return None
    return tuple(value)


def _quick(data):
    # A plain, valid report as a row, fast; None sends it to _checked,
    # which accepts or refuses exactly what this accepts, and more.
    if type(data) is not dict or not data.keys() <= _HOST_KEYS:
        return None
    get = data.get
    host_id, memory = get('id'), get('memory_mb')
    if type(host_id) is not str or not host_id or \
            not validate.is_text(host_id):
        return None
    memory_units = _amount(memory, 1)
    if memory_units is None:
        return None
    total = get('memory_total_mb')
    if total is None:
        total_units = memory_units
    else:
        total_units = _amount(total, 1)
        if total_units is None or memory > total:
            return None
    cpus, cpus_total = get('cpus'), get('cpus_total')
    if cpus is None:
        if cpus_total is not None:
            return None
        cpus_units = cpus_total_units = units.UNLIMITED
    else:
        cpus_units = _amount(cpus, 1000)
        if cpus_units is None:
            return None
        if cpus_total is None:
            cpus_total_units = cpus_units
        else:
            cpus_total_units = _amount(cpus_total, 1000)
            if cpus_total_units is None or cpus > cpus_total:
                return None
    disk = get('disk_gb')
    if disk is None:
        disk_units = units.UNLIMITED
    else:
        disk_units = _amount(disk, 1)
        if disk_units is None:
            return None
    labels = get('labels')
    if labels is None:
        labels = _NO_LABELS
    elif type(labels) is dict:
        for key, value in labels.items():
            if type(key) is not str or type(value) is not str:
                return None
        if not validate.is_text(''.join(itertools.chain.from_iterable(
                labels.items()))):
            return None
        labels = types.MappingProxyType(labels.copy())
    else:
        return None
    groups, consumers = get('groups'), get('consumers')
    groups = () if groups is None else _names(groups)
    consumers = () if consumers is None else _names(consumers)
    containers, enabled = get('containers'), get('enabled', True)
    if containers is None and consumers is not None:
        containers = len(consumers)
    if groups is None or consumers is None or \
            not validate.is_text(''.join(groups) + ''.join(consumers)) or \
            type(enabled) is not bool or type(containers) is not int \
            or not 0 <= containers <= MAX_CONTAINERS:
        return None
    return [host_id, memory_units, total_units, cpus_units,
            cpus_total_units, disk_units, containers, enabled, labels, groups,
            consumers]


BULK = 256
"""From this many reports at once, they are checked column by column."""
_NONE = type(None)


def _bulk(data):
    # A list of plain, valid reports checked column by column with NumPy;
    # None when anything is unusual, and the reports are then checked one
    # by one (which finds and names what is wrong). Accepts exactly what
    # _quick does, with the same result.
    if set(map(type, data)) != {dict} or \
            not all(item.keys() <= _HOST_KEYS for item in data):
        return None
    present = set().union(*map(dict.keys, data))
    column = {field: [item.get(field) for item in data]
              if field in present else [None] * len(data)
              for field in HOST_FIELDS}
    ids = column['id']
    if set(map(type, ids)) != {str} or not all(ids) or \
            len(set(ids)) != len(ids) or not validate.is_text(''.join(ids)):
        return None
    numbers = {}
    for field in _AMOUNTS + ('containers',):
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
                np.nanmax(array, initial=0.0) > _INT_LIMIT:
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
    shared, labels = {None: _NO_LABELS}, column['labels']
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
        names[field] = [() if value is None else _names(value)
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
    if (containers > MAX_CONTAINERS).any():
        return None
    amounts = {name: units.capacities(values, units.SCALES[name]).tolist()
               for name, values in zip(_AMOUNTS, (memory, total, cpus,
                                                  cpus_total, disk))}
    return Reports(ids, amounts, containers.astype(np.int64).tolist(),
                   [value is not False for value in enabled], labels,
                   names['groups'], names['consumers'])


def _checked(data, position):
    # Every check, with a message naming the host, field and what is
    # accepted; returns the row as _quick does.
    if isinstance(data, Host):
        data = data.to_dict()
    where = f'host {position}'
    error = exceptions.InvalidHostData
    if not isinstance(data, collections.abc.Mapping):
        raise error(f'{where}: expected an object (mapping), '
                    f'got {validate.show(data)}')
    host_id = validate.name(data.get('id'), 'id', where, error)
    where = f'host {position} (id {host_id!r})'
    validate.check_fields(data, HOST_FIELDS, where, error)
    host = {'id': host_id}
    for field, default in HOST_FIELDS.items():
        if field == 'id':
            continue
        value = data.get(field)
        if value is None:
            if default is None:
                raise error(f'{where}: missing required field {field!r}')
            host[field] = default(host) if callable(default) else default
        elif field == 'labels':
            host[field] = validate.labels(value, where, error)
        elif field in ('groups', 'consumers'):
            host[field] = validate.names(value, field, where, error)
        elif field == 'enabled':
            if not isinstance(value, bool):
                raise error(f'{where}: enabled must be true or false, '
                            f'got {validate.show(value)}')
            host[field] = value
        elif field == 'containers':
            if isinstance(value, bool) or not isinstance(value, int):
                raise error(f'{where}: containers must be a whole number '
                            f'>= 0, got {validate.show(value)}')
            if value > MAX_CONTAINERS:
                raise error(f'{where}: containers must be at most '
                            f'{MAX_CONTAINERS}, got {validate.show(value)}')
            host[field] = int(validate.number(value, field, where, error))
        else:
            host[field] = validate.number(value, field, where, error)
    if data.get('containers') is None:
        host['containers'] = len(host['consumers'])
    for free, total in (('memory_mb', 'memory_total_mb'),
                        ('cpus', 'cpus_total')):
        if host[free] > host[total]:
            raise error(f'{where}: {free} ({host[free]:g}) is more than '
                        f'{total} ({host[total]:g})')
    return ([host_id] + [units.capacity(host[name], units.SCALES[name])
                         for name in _AMOUNTS]
            + [host['containers'], host['enabled'], host['labels'],
               host['groups'], host['consumers']])


def parse_reports(data):
    """Validate node reports and return them as :class:`Reports`.

    :param data: a list of host mappings (or
        :class:`~sora.scheduler.host_table.Host` objects, validated as
        mappings), a mapping ``{"hosts": [...]}``, or a
        :class:`HostTable`, or :class:`Reports` (returned as they are:
        they are only ever built validated). Besides the host fields, a
        report may list
        ``consumers``: the ids of the containers running on the node
        (``containers`` defaults to how many there are).
    :raises InvalidHostData: naming the host (position and id) and field.
    """
    if isinstance(data, Reports):
        return data
    if isinstance(data, collections.abc.Mapping) and set(data) == {'hosts'}:
        data = data['hosts']
    if (isinstance(data, (str, bytes, collections.abc.Mapping))
            or not isinstance(data, collections.abc.Iterable)):
        raise exceptions.InvalidHostData(
            'hosts must be a list of hosts or {"hosts": [...]}, '
            f'got {validate.show(data)}')
    if type(data) is list and len(data) >= BULK:
        reports = _bulk(data)
        if reports is not None:
            return reports
    rows, seen = [], {}
    for position, item in enumerate(data):
        row = _quick(item) or _checked(item, position)
        first = seen.setdefault(row[0], position)
        if first != position:
            raise exceptions.InvalidHostData(
                f'host {position} (id {row[0]!r}): duplicate id, '
                f'already used by host {first}')
        rows.append(row)
    return Reports._of_rows(rows)


def parse_hosts(data):
    """Validate hosts and return them as a :class:`HostTable`, by id.

    :param data: as for :func:`parse_reports`; a :class:`HostTable` is
        returned as it is (tables are read-only and only ever built from
        validated data).
    :raises InvalidHostData: naming the host (position and id) and field.
    """
    if isinstance(data, HostTable):
        return data
    return parse_reports(data).table()


def hosts_from_seed(data):
    """Turn the seed's ``{free memory: id, 'memory': [...]}`` into hosts.

    :raises InvalidHostData: when the mapping does not have that shape.
    """
    error = exceptions.InvalidHostData
    if (not isinstance(data, collections.abc.Mapping)
            or not isinstance(data.get('memory'), collections.abc.Iterable)
            or isinstance(data.get('memory'), (str, bytes))):
        raise error("seed data must map free memory to node id and list "
                    "the free memory values under 'memory', e.g. "
                    "{13: 'id1', 324: 'id2', 'memory': [13, 324]}; "
                    f"got {validate.show(data)}")
    nodes = {}
    for memory in data['memory']:
        try:
            nodes[memory] = data[memory]
        except (KeyError, TypeError):
            raise error(f'seed data lists memory {validate.show(memory)} '
                        "under 'memory' but maps no node id to it")
    return parse_hosts({'id': node_id, 'memory_mb': memory}
                       for memory, node_id in nodes.items())
