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

"""Hosts and requests: parsing, validation and resource bookkeeping.

Node reports arrive as plain mappings (or JSON). They are validated once
into a :class:`HostTable`: a read-only, columnar table of hosts sorted by id,
whose rows read as :class:`Host` objects. Drivers and per-host plugins see
only :class:`Host` and :class:`Request`; vectorised code reads the columns.
"""

import collections.abc
import dataclasses
import math
import os
import sys
import types

import numpy as np

from sora.scheduler import exceptions
from sora.scheduler import validate

UNLIMITED = math.inf
"""The value of a resource a host did not report: it never limits."""

_NO_LABELS = types.MappingProxyType({})
GROUP_POLICIES = ('affinity', 'anti-affinity')

# Field name -> default, in the order of the documented format. None marks
# a required field; a callable derives the default from the parsed host.
HOST_FIELDS = {
    'id': None,
    'memory_mb': None,
    'memory_total_mb': lambda host: host['memory_mb'],
    'cpus': UNLIMITED,
    'cpus_total': lambda host: host['cpus'],
    'disk_gb': UNLIMITED,
    'containers': 0,
    'labels': _NO_LABELS,
    'groups': (),
    'enabled': True,
}
REQUEST_FIELDS = ('memory_mb', 'cpus', 'disk_gb', 'labels', 'same_host',
                  'different_host', 'group', 'group_policy')
RESOURCES = ('memory_mb', 'cpus', 'disk_gb')
"""The request fields a placement consumes from its host."""
MAX_HOSTS_FILE_BYTES = 512 * 2**20
"""The largest hosts file :func:`load_hosts` reads: 512 MiB, room for a
million hosts (a million hosts like the documented example take 210 MB,
285 MB indented)."""
MAX_CONTAINERS = 2**53
"""The largest ``containers`` count a host may report (exact as a float)."""
EPSILON = 1e-9
"""Tolerance of resource arithmetic on floats."""
_FLOATS = ('memory_mb', 'memory_total_mb', 'cpus', 'cpus_total', 'disk_gb')


@dataclasses.dataclass(frozen=True, slots=True)
class Host:
    """One node that can run containers, as plugins see it (read-only).

    Attributes carry the node report's field names: ``id``, ``memory_mb``
    (free), ``memory_total_mb``, ``cpus`` (free), ``cpus_total``,
    ``disk_gb`` (free), ``containers``, ``labels`` (read-only mapping),
    ``groups`` (tuple: the group of each container it runs that has one)
    and ``enabled``. A resource the node did not report is
    :data:`UNLIMITED`.
    """

    id: str
    memory_mb: float
    memory_total_mb: float
    cpus: float
    cpus_total: float
    disk_gb: float
    containers: int
    labels: collections.abc.Mapping
    groups: tuple
    enabled: bool

    def to_dict(self):
        """Return the host in its JSON form (unlimited resources omitted)."""
        data = _fields_of(self)
        data['labels'] = dict(self.labels)
        data['groups'] = list(self.groups)
        return {k: v for k, v in data.items() if v != UNLIMITED}


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What one container needs; every field is optional (no constraint).

    :param memory_mb: free memory needed, in MB.
    :param cpus: free CPUs needed (fractions allowed).
    :param disk_gb: free disk needed, in GB.
    :param labels: labels the host must carry with these exact values.
    :param same_host: ids of hosts to choose among.
    :param different_host: ids of hosts to avoid.
    :param group: the container's group, for (anti-)affinity.
    :param group_policy: ``affinity`` (join the hosts already running the
        group, anywhere for its first container) or ``anti-affinity``
        (never beside another container of the group); required with
        ``group``.
    """

    memory_mb: float = 0.0
    cpus: float = 0.0
    disk_gb: float = 0.0
    labels: collections.abc.Mapping = dataclasses.field(default_factory=dict)
    same_host: tuple = ()
    different_host: tuple = ()
    group: str = None
    group_policy: str = None

    def __post_init__(self):
        object.__setattr__(self, 'labels',
                           types.MappingProxyType(dict(self.labels)))
        for field in ('same_host', 'different_host'):
            object.__setattr__(self, field, tuple(getattr(self, field)))

    def to_dict(self):
        """Return the request in its JSON form (unset extras omitted)."""
        data = _fields_of(self)
        data['labels'] = dict(self.labels)
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in data.items()
                if value not in ((), None)}


class HostTable(collections.abc.Sequence):
    """A validated set of hosts, stored by column and sorted by host id.

    It reads as a sequence of :class:`Host`; the columns (NumPy arrays,
    read-only) serve vectorised code: ``memory_mb``, ``memory_total_mb``,
    ``cpus``, ``cpus_total``, ``disk_gb``, ``containers``, ``enabled``;
    ``ids``, ``labels`` and ``groups`` are tuples. Because rows are sorted
    by id, the first of several equal rows is the one with the lowest id,
    which is how every tie is broken. Tables never change: the methods that
    account for placements return new tables. Build them with
    :func:`parse_hosts`.
    """

    def __init__(self, ids, labels, groups, columns, index=None,
                 label_codes=None):
        self.ids = ids
        self.labels = labels
        self.groups = groups
        self._columns = columns
        for name, column in columns.items():
            column.flags.writeable = False
            setattr(self, name, column)
        self._index = index
        self._label_codes = {} if label_codes is None else label_codes
        self._group_masks = {}

    @classmethod
    def _from_rows(cls, rows):
        rows = sorted(rows, key=lambda row: row['id'])
        columns = {name: np.array([row[name] for row in rows], dtype=float)
                   for name in _FLOATS}
        columns['containers'] = np.array(
            [row['containers'] for row in rows], dtype=np.int64)
        columns['enabled'] = np.array(
            [row['enabled'] for row in rows], dtype=bool)
        return cls(tuple(row['id'] for row in rows),
                   tuple(row['labels'] for row in rows),
                   tuple(row['groups'] for row in rows), columns)

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        shown = ', '.join(self.ids[:5]) + (', ...' if len(self) > 5 else '')
        return f'<HostTable of {len(self)} hosts: {shown}>'

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        return Host(
            id=self.ids[row],
            memory_mb=float(self.memory_mb[row]),
            memory_total_mb=float(self.memory_total_mb[row]),
            cpus=float(self.cpus[row]),
            cpus_total=float(self.cpus_total[row]),
            disk_gb=float(self.disk_gb[row]),
            containers=int(self.containers[row]),
            labels=self.labels[row],
            groups=self.groups[row],
            enabled=bool(self.enabled[row]))

    def _rows(self):
        if self._index is None:
            self._index = {host_id: row for row, host_id in
                           enumerate(self.ids)}
        return self._index

    def row_of(self, host_id):
        """Return the row number of *host_id* (:class:`KeyError` if none)."""
        return self._rows()[host_id]

    def rows_of(self, host_ids):
        """Return the rows of those of *host_ids* that are in the table."""
        index = self._rows()
        return [index[host_id] for host_id in host_ids if host_id in index]

    def label_mask(self, labels):
        """Return the mask of hosts carrying every ``labels`` key=value."""
        mask = np.ones(len(self), dtype=bool)
        for key, value in labels.items():
            codes, by_value = self._codes_of(key)
            mask &= codes == by_value.get(value, -2)
        return mask

    def _codes_of(self, key):
        # Per label key: an int code per host (-1: key absent) and the code
        # of each value, built on first use and shared by derived tables.
        cached = self._label_codes.get(key)
        if cached is None:
            by_value = {}
            codes = np.fromiter(
                (by_value.setdefault(labels[key], len(by_value))
                 if key in labels else -1 for labels in self.labels),
                dtype=np.int64, count=len(self))
            cached = self._label_codes[key] = (codes, by_value)
        return cached

    def group_mask(self, group):
        """Return the mask of hosts running a container of *group*."""
        mask = self._group_masks.get(group)
        if mask is None:
            mask = np.fromiter((group in groups for groups in self.groups),
                               dtype=bool, count=len(self))
            mask.flags.writeable = False
            self._group_masks[group] = mask
        return mask

    def overcommitted(self, rows, request):
        """Return the first of *rows* that cannot take *request*, or None.

        A row listed n times must have n times the request free, and be
        enabled.
        """
        for row, times in collections.Counter(rows).items():
            if not self.enabled[row] or any(
                    getattr(self, name)[row] + EPSILON
                    < times * getattr(request, name) for name in RESOURCES):
                return row
        return None

    def consume(self, rows, request, sign=1):
        """Return a copy in which each of *rows* has taken *request*.

        A row listed twice takes it twice: free memory, CPUs and disk drop
        by what the request needs, the container count grows by one and the
        request's group joins the host's groups. ``sign=-1`` gives all that
        back instead. This table is unchanged.
        """
        tally = collections.Counter(rows)
        columns = dict(self._columns)
        for name in RESOURCES:
            amount = getattr(request, name)
            if amount:
                columns[name] = column = columns[name].copy()
                for row, times in tally.items():
                    column[row] -= sign * times * amount
        columns['containers'] = column = columns['containers'].copy()
        for row, times in tally.items():
            column[row] += sign * times
        groups = self.groups
        if request.group is not None:
            groups = list(groups)
            for row in rows:
                groups[row] = _with_group(groups[row], request.group, sign)
            groups = tuple(groups)
        return HostTable(self.ids, self.labels, groups, columns, self._index,
                         self._label_codes)

    def less(self, usage):
        """Return a copy of this table with *usage* taken from each host.

        Free resources may turn negative: a node reporting less free than
        the claims outstanding on it is overcommitted, and nothing fits.
        """
        columns = dict(self._columns)
        for name in RESOURCES:
            used = getattr(usage, name)
            if used.any():
                columns[name] = columns[name] - used
        columns['containers'] = self.containers + usage.containers
        groups = self.groups
        if usage.groups:
            groups = list(groups)
            for row, extra in usage.groups.items():
                groups[row] += tuple(extra.elements())
            groups = tuple(groups)
        return HostTable(self.ids, self.labels, groups, columns, self._index,
                         self._label_codes)

    def take(self, rows):
        """Return a table of the given rows (which must stay id-sorted)."""
        rows = np.asarray(rows, dtype=np.int64)
        return HostTable(tuple(self.ids[row] for row in rows),
                         tuple(self.labels[row] for row in rows),
                         tuple(self.groups[row] for row in rows),
                         {name: column[rows] for name, column in
                          self._columns.items()})

    def merge(self, other):
        """Return this table with *other*'s hosts added or replacing."""
        replaced = self.rows_of(other.ids)
        if len(replaced) == len(other):
            columns = {}
            for name, column in self._columns.items():
                columns[name] = column.copy()
                columns[name][replaced] = getattr(other, name)
            labels, groups = list(self.labels), list(self.groups)
            for row, label, group in zip(replaced, other.labels,
                                         other.groups):
                labels[row], groups[row] = label, group
            return HostTable(self.ids, tuple(labels), tuple(groups), columns,
                             self._index)
        kept = self.without(other.ids)
        ids = kept.ids + other.ids
        order = sorted(range(len(ids)), key=ids.__getitem__)
        joined = HostTable(
            ids, kept.labels + other.labels, kept.groups + other.groups,
            {name: np.concatenate([column, getattr(other, name)])
             for name, column in kept._columns.items()})
        return joined.take(order)

    def without(self, host_ids):
        """Return this table less the hosts in *host_ids*."""
        keep = np.ones(len(self), dtype=bool)
        keep[self.rows_of(host_ids)] = False
        return self if keep.all() else self.take(np.flatnonzero(keep))


def _with_group(groups, group, sign):
    if sign > 0:
        return groups + (group,)
    at = groups.index(group)
    return groups[:at] + groups[at + 1:]


class Usage:
    """Resources taken from each row of a table (claims, picks).

    Arrays aligned with the table's rows: ``memory_mb``, ``cpus``,
    ``disk_gb``, ``containers``; ``groups`` maps a row to a Counter of the
    groups placed there.
    """

    def __init__(self, size):
        for name in RESOURCES:
            setattr(self, name, np.zeros(size))
        self.containers = np.zeros(size, dtype=np.int64)
        self.groups = {}

    def add(self, rows, request, sign=1):
        """Add (or with ``sign=-1`` take back) *request* on each of rows."""
        for row in rows:
            for name in RESOURCES:
                getattr(self, name)[row] += sign * getattr(request, name)
            self.containers[row] += sign
            if request.group is not None:
                counter = self.groups.setdefault(row, collections.Counter())
                counter[request.group] += sign
                if not +counter:
                    del self.groups[row]
            if not self.containers[row]:
                for name in RESOURCES:
                    getattr(self, name)[row] = 0.0  # no float residue

    def holds(self, row, request):
        """Whether row's usage includes one placement of *request*."""
        return bool(
            self.containers[row] >= 1
            and all(getattr(self, name)[row] + EPSILON
                    >= getattr(request, name) for name in RESOURCES)
            and (request.group is None
                 or self.groups.get(row, {}).get(request.group, 0) >= 1))

    def realign(self, old, new):
        """Return this usage of table *old* for table *new*, row by id.

        Usage of hosts that are not in *new* is dropped.
        """
        if new.ids is old.ids:
            return self
        usage = Usage(len(new))
        for row in np.flatnonzero(self.containers):
            target = new.rows_of([old.ids[row]])
            for name in RESOURCES + ('containers',):
                getattr(usage, name)[target] = getattr(self, name)[row]
            if target and row in self.groups:
                usage.groups[target[0]] = self.groups[row]
        return usage


def _fields_of(instance):
    return {field.name: getattr(instance, field.name)
            for field in dataclasses.fields(instance)}


def _parse_host(data, position):
    if isinstance(data, Host):
        return _fields_of(data)
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
        elif field == 'groups':
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
    for free, total in (('memory_mb', 'memory_total_mb'),
                        ('cpus', 'cpus_total')):
        if host[free] > host[total]:
            raise error(f'{where}: {free} ({host[free]:g}) is more than '
                        f'{total} ({host[total]:g})')
    return host


def parse_hosts(data):
    """Validate hosts and return them as a :class:`HostTable`.

    :param data: a list of host mappings (or :class:`Host` objects), a
        mapping ``{"hosts": [...]}``, or a :class:`HostTable` (returned
        as it is).
    :raises InvalidHostData: naming the host (position and id) and field.
    """
    if isinstance(data, HostTable):
        return data
    if isinstance(data, collections.abc.Mapping) and set(data) == {'hosts'}:
        data = data['hosts']
    if (isinstance(data, (str, bytes, collections.abc.Mapping))
            or not isinstance(data, collections.abc.Iterable)):
        raise exceptions.InvalidHostData(
            'hosts must be a list of hosts or {"hosts": [...]}, '
            f'got {validate.show(data)}')
    rows, seen = [], {}
    for position, item in enumerate(data):
        row = _parse_host(item, position)
        first = seen.setdefault(row['id'], position)
        if first != position:
            raise exceptions.InvalidHostData(
                f'host {position} (id {row["id"]!r}): duplicate id, '
                f'already used by host {first}')
        rows.append(row)
    return HostTable._from_rows(rows)


def load_hosts(path, limit=None):
    """Read and validate a JSON hosts file (``-`` reads stdin).

    :param limit: the most bytes to read; :data:`MAX_HOSTS_FILE_BYTES` when
        omitted. A larger input is refused before it is parsed.
    :raises InvalidHostData: the file cannot be read, is too large, is not
        JSON, or holds malformed hosts.
    """
    limit = MAX_HOSTS_FILE_BYTES if limit is None else limit
    try:
        if path == '-':
            if sys.stdin is None:
                raise exceptions.InvalidHostData(
                    'cannot read hosts file -: stdin is closed')
            text = _read_bounded(getattr(sys.stdin, 'buffer', sys.stdin),
                                 path, limit)
        else:
            with open(path, 'rb') as hosts_file:
                if os.fstat(hosts_file.fileno()).st_size > limit:
                    _too_large(path, limit)
                text = _read_bounded(hosts_file, path, limit)
        if isinstance(text, bytes):
            text = text.decode('utf-8')
        data = validate.loads_json(text)
    except exceptions.InvalidHostData:
        raise
    except OSError as error:
        raise exceptions.InvalidHostData(
            f'cannot read hosts file {path}: {error.strerror}') from None
    except (ValueError, RecursionError) as error:
        raise exceptions.InvalidHostData(
            f'hosts file {path} is not valid JSON: {error}') from None
    return parse_hosts(data)


def _read_bounded(stream, path, limit):
    data = stream.read(limit + 1)  # one more: is there more than limit?
    if len(data) > limit:
        _too_large(path, limit)
    return data


def _too_large(path, limit):
    raise exceptions.InvalidHostData(
        f'hosts file {path} is larger than {limit // 2**20} MiB, the most '
        'sora-scheduler reads')


def parse_request(data):
    """Validate a request and return it as a :class:`Request`.

    :param data: a mapping of the optional fields of :class:`Request`;
        ``None`` (no constraint) or a :class:`Request` (returned as it is).
    :raises InvalidRequest: naming the field and what is accepted.
    """
    if isinstance(data, Request):
        return data
    if data is None:
        return Request()
    error = exceptions.InvalidRequest
    validate.check_fields(data, REQUEST_FIELDS, 'request', error)
    fields = {}
    for field, value in data.items():
        if value is None:
            continue
        if field == 'labels':
            fields[field] = validate.labels(value, 'request', error)
        elif field in ('same_host', 'different_host'):
            fields[field] = validate.names(value, field, 'request', error)
        elif field in ('group', 'group_policy'):
            fields[field] = validate.name(value, field, 'request', error)
        else:
            fields[field] = validate.number(value, field, 'request', error)
    policies = ' or '.join(GROUP_POLICIES)
    if fields.get('group_policy', GROUP_POLICIES[0]) not in GROUP_POLICIES:
        raise error(f'request: group_policy must be {policies}, got '
                    f'{validate.show(fields["group_policy"])}')
    if 'group' in fields and 'group_policy' not in fields:
        raise error(f'request: group {fields["group"]!r} needs a '
                    f'group_policy ({policies})')
    if 'group_policy' in fields and 'group' not in fields:
        raise error('request: group_policy needs a group to apply to')
    return Request(**fields)


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
