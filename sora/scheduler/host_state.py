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

"""Hosts: parsing and validating node reports.

Node reports arrive as plain mappings (or JSON: a hosts file is read by
:mod:`sora.scheduler.hosts_file`) and are validated into
:class:`~sora.scheduler.reports.Reports` (what the tracked hosts are
updated with) or straight into a
:class:`~sora.scheduler.host_table.HostTable` (:func:`parse_hosts`);
:func:`hosts_from_seed` takes the seed's data shape. Each report takes a
fast path (one by one, or column by column for many:
:mod:`sora.scheduler.report_columns`) or, when anything is unusual, the
checked one, which names what is wrong.
:class:`~sora.scheduler.host_table.Host` objects a caller passes in are
validated exactly as mappings are. Amounts are held as whole units (see
:mod:`sora.scheduler.units`).

Requests are modelled and validated in :mod:`sora.scheduler.request`.
``Host``, ``HostTable``, ``Reports`` and ``Request`` can also be imported
from here, as plugins written against this module do.
"""

import collections.abc
import itertools
import math
import types

from sora.scheduler import exceptions
from sora.scheduler import host_table
from sora.scheduler import report_columns
from sora.scheduler import reports as sora_reports
from sora.scheduler import request as sora_request
from sora.scheduler import taints as sora_taints
from sora.scheduler import units
from sora.scheduler import validate

Host = host_table.Host
HostTable = host_table.HostTable
Request = sora_request.Request
Reports = sora_reports.Reports
UNLIMITED = sora_reports.UNLIMITED
MAX_CONTAINERS = sora_reports.MAX_CONTAINERS
HOST_FIELDS = sora_reports.HOST_FIELDS
BULK = report_columns.BULK


def _amount(value, scale):
    # The units of a plain number >= 0, or None to take the full check.
    kind = type(value)
    if kind is int:
        return min(value * scale, units.MAX) \
            if 0 <= value <= sora_reports.INT_LIMIT else None
    if kind is float and 0.0 <= value < math.inf:
        return units.capacity(value, scale)
    return None


def _quick(data):
    # A plain, valid report as a row, fast; None sends it to _checked,
    # which accepts or refuses exactly what this accepts, and more.
    if type(data) is not dict or not data.keys() <= sora_reports.HOST_KEYS:
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
        labels = sora_reports.NO_LABELS
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
    groups, consumers = (() if value is None else
                         sora_reports.plain_names(value)
                         for value in (groups, consumers))
    containers, enabled = get('containers'), get('enabled', True)
    if containers is None and consumers is not None:
        containers = len(consumers)
    if groups is None or consumers is None or \
            not validate.is_text(''.join(groups) + ''.join(consumers)) or \
            type(enabled) is not bool or type(containers) is not int \
            or not 0 <= containers <= MAX_CONTAINERS:
        return None
    counted = sora_reports.counted(get('resources'), get('resources_total'))
    taints = get('taints')
    taints = sora_taints.NONE if taints is None else sora_taints.plain(taints)
    if counted is None or taints is None:
        return None
    return [host_id, memory_units, total_units, cpus_units,
            cpus_total_units, disk_units, containers, enabled, labels, groups,
            consumers, *counted, taints]


def _checked(data, position):
    # Every check, with a message naming the host, field and what is
    # accepted; returns the row as _quick does.
    if isinstance(data, Host):
        # An operator's reason is not the node's to report: what it did
        # shows in enabled.
        data = data.to_dict()
        data.pop('disabled_reason', None)
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
        elif field in ('resources', 'resources_total'):
            host[field] = validate.resources(value, field, where, error,
                                             most=units.MAX)
        elif field == 'taints':
            host[field] = sora_taints.parse_taints(value, where, error)
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
    free, total = host['resources'], host['resources_total']
    for name, amount in free.items():
        if amount > total.get(name, amount):
            raise error(f'{where}: resources {name!r} ({amount}) is more '
                        f'than resources_total {name!r} ({total[name]})')
    return ([host_id] + [units.capacity(host[name], units.SCALES[name])
                         for name in sora_reports.AMOUNTS]
            + [host['containers'], host['enabled'], host['labels'],
               host['groups'], host['consumers']]
            + list(sora_reports.counted(dict(free), dict(total)))
            + [host['taints']])


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
        reports = report_columns.parse(data)
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
