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

"""The read-only columnar table of hosts that drivers and plugins read.

A :class:`HostTable` is a snapshot: nothing can change it, and nothing done
to it changes the hosts the manager tracks. Its rows read as :class:`Host`
objects; its columns are NumPy arrays backed by immutable memory, so even
``column.flags.writeable = True`` is refused.
"""

import collections
import collections.abc
import dataclasses
import math
import types

import numpy as np

from sora.scheduler import chunked
from sora.scheduler import table_index
from sora.scheduler import taints as sora_taints
from sora.scheduler import units

FLOATS = ('memory_mb', 'memory_total_mb', 'cpus', 'cpus_total', 'disk_gb')
COLUMNS = FLOATS + ('containers', 'enabled', 'id_rank', 'taint_set')
"""The table's NumPy columns."""
NO_RESOURCES = types.MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True)
class Host:
    """One node that can run containers, as plugins see it (read-only).

    Attributes carry the node report's field names: ``id``, ``memory_mb``
    (free), ``memory_total_mb``, ``cpus`` (free), ``cpus_total``,
    ``disk_gb`` (free), ``containers``, ``labels`` (read-only mapping),
    ``groups`` (tuple: the group of each container it runs that has one),
    ``enabled`` (false when the node reports so, or an operator disabled
    it), ``disabled_reason`` (the operator's, or None), ``resources``
    (free) and ``resources_total``: read-only mappings of the countable
    resources it reports (``{"gpu": 2}``), whole numbers; ``taints``, a
    tuple of :class:`~sora.scheduler.taints.Taint`. A resource the
    node did not report is ``math.inf``; a countable one it does not
    report, it has none of.
    Free resources are the node's last report less the claims outstanding
    on it, and never below 0 (a node that reports less free than it has
    claims is simply full).
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
    disabled_reason: str = None
    resources: collections.abc.Mapping = dataclasses.field(
        default_factory=lambda: NO_RESOURCES)
    resources_total: collections.abc.Mapping = dataclasses.field(
        default_factory=lambda: NO_RESOURCES)
    taints: tuple = ()

    def to_dict(self):
        """Return the host in its JSON form.

        Unlimited resources are omitted, ``disabled_reason`` unless an
        operator disabled the host, the countable resources unless it
        reports some, and its taints unless it has some.
        """
        data = {field.name: getattr(self, field.name)
                for field in dataclasses.fields(self)}
        data['labels'] = dict(self.labels)
        data['groups'] = list(self.groups)
        for field in ('resources', 'resources_total'):
            data[field] = dict(data[field]) or None
        data['taints'] = [taint.to_dict() for taint in self.taints] or None
        return {k: v for k, v in data.items()
                if v != math.inf and v is not None}


class HostTable(collections.abc.Sequence):
    """A snapshot of hosts, stored by column; read-only.

    It reads as a sequence of :class:`Host`; the columns (read-only NumPy
    arrays) serve vectorised code: ``memory_mb``, ``memory_total_mb``,
    ``cpus``, ``cpus_total``, ``disk_gb`` (floats in the documented units;
    ``inf`` where not reported), ``containers``, ``enabled``,
    ``taint_set`` (each host's taints, as a code into the tuple
    ``taint_sets``: see :mod:`sora.scheduler.taints`); ``ids``,
    ``labels`` and ``groups`` are sequences by row.

    Rows are in no particular order (a table from
    :func:`~sora.scheduler.host_state.parse_hosts` is sorted by id, the
    tracked hosts are in the order they joined). Ties are broken by
    ascending id: ``id_rank`` is a column that sorts like the ids, and
    :meth:`best` ranks rows by a score with that tie-break.

    Build tables with :func:`~sora.scheduler.host_state.parse_hosts`;
    :meth:`consume` returns a new table in which picks have taken their
    resources.
    """

    def __init__(self, ids, labels, groups, columns, index=None,
                 reasons=None, counted=None, totals=None, taint_sets=None):
        self.ids = ids
        self.reasons = reasons or {}  # {row: why an operator disabled it}
        self._len = len(ids)
        self.labels = labels
        self.groups = groups
        self._columns = columns
        for name in COLUMNS:
            setattr(self, name, columns[name])
        self.taint_sets = taint_sets or (sora_taints.NONE,)
        self.resources = types.MappingProxyType(counted or {})
        self.resources_total = totals if totals is not None else \
            chunked.FrozenRows.of([NO_RESOURCES] * self._len)
        self._index = index if index is not None else table_index.TableIndex(
            ids, labels, groups)

    @classmethod
    def build(cls, ids, amounts, containers, enabled, labels, groups,
              resources=None, totals=None, taints=None):
        """Return a table of the given hosts, sorted by id.

        :param amounts: ``{field: int64 array of units}`` for each name in
            :data:`FLOATS`, free amounts at most 0 below.
        :param resources: per host, its free countable resources (a
            mapping; none if None), and *totals* their totals.
        :param taints: per host, its taints (a tuple; none if None).
        """
        order = sorted(range(len(ids)), key=ids.__getitem__)
        if order == list(range(len(ids))):
            order = None

        def arranged(values):
            return values if order is None else [values[row]
                                                 for row in order]

        def take(values, dtype):
            array = np.asarray(values, dtype=dtype)
            return array if order is None else array[order]

        columns = {name: units.documented_all(take(amounts[name], np.int64),
                                              units.SCALES[name])
                   for name in FLOATS}
        columns['containers'] = take(containers, np.int64)
        columns['enabled'] = take(enabled, bool)
        columns['id_rank'] = np.arange(len(ids), dtype=np.int64)
        columns['taint_set'], taint_sets = sora_taints.codes(
            arranged(taints) if taints else [sora_taints.NONE] * len(ids))
        columns = {name: chunked.frozen(column)
                   for name, column in columns.items()}
        resources = resources or [NO_RESOURCES] * len(ids)
        totals = totals or resources
        counted = {name: chunked.frozen(take(
            [free.get(name, 0) for free in resources], np.int64))
            for name in sorted({name for amounts in totals if amounts
                                for name in amounts})}
        return cls(chunked.FrozenRows.of(arranged(ids)),
                   chunked.FrozenRows.of(arranged(labels)),
                   chunked.FrozenRows.of(arranged(groups)), columns,
                   counted=counted, totals=chunked.FrozenRows.of(
                       arranged(totals)), taint_sets=taint_sets)

    def __len__(self):
        return self._len

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
            enabled=bool(self.enabled[row]),
            disabled_reason=self.reasons.get(row),
            resources=types.MappingProxyType({
                name: int(self.resources[name][row])
                for name in self.resources_total[row]}),
            resources_total=self.resources_total[row],
            taints=self.taint_sets[self.taint_set[row]])

    def __iter__(self):
        for row in range(len(self)):
            yield self[row]

    def free(self, name):
        """Return the column of free *name* (a countable resource).

        All 0 when no host reports it.
        """
        column = self.resources.get(name)
        if column is None:
            return np.zeros(len(self), dtype=np.int64)
        return column

    def reported(self, name):
        """Whether some host reports the countable resource *name*."""
        return name in self.resources and any(
            name in totals for totals in self.resources_total)

    def row_of(self, host_id):
        """Return the row of *host_id* (:class:`KeyError` if none)."""
        rows = self._index.rows_of([host_id])
        if not rows:
            raise KeyError(host_id)
        return rows[0]

    def rows_of(self, host_ids):
        """Return the rows of those of *host_ids* that are in the table."""
        return self._index.rows_of(host_ids)

    def label_mask(self, labels):
        """Return the mask of hosts carrying every ``labels`` key=value."""
        if not labels:
            return np.ones(len(self), dtype=bool)
        return self._index.label_mask(labels)

    def label_codes(self, key):
        """Return ``(codes, values)`` of the label *key*, for vectorised use.

        *codes* holds per host the index in *values* (a tuple of the
        distinct values) of its *key* label's value, -1 where it has none.
        """
        return self._index.label_codes(key)

    def group_mask(self, group):
        """Return the mask of hosts running a container of *group*."""
        return self._index.group_counts(group) > 0

    def group_counts(self, group):
        """Return per host how many containers of *group* it runs.

        Those its node reports and those claimed on it (an int array).
        """
        return self._index.group_counts(group)

    def best(self, rows, scores, count=1):
        """Return the *count* best of *rows* by *scores*, best first.

        Higher scores are better; among equal scores the lower id wins.

        :param rows: row numbers (an int array).
        :param scores: one number per row of *rows*.
        """
        rows = np.asarray(rows, dtype=np.int64)
        scores = np.asarray(scores, dtype=float)
        if count == 1 and len(rows):
            tied = rows[scores == scores.max()]
            return [int(tied[np.argmin(self.id_rank[tied])])]
        if count < len(rows):
            threshold = np.partition(scores, len(rows) - count)[
                len(rows) - count]
            keep = scores >= threshold
            rows, scores = rows[keep], scores[keep]
        order = np.lexsort((self.id_rank[rows], -scores))[:count]
        return [int(row) for row in rows[order]]

    def consume(self, rows, request):
        """Return a copy in which each of *rows* has taken *request*.

        A row listed twice takes it twice: free memory, CPUs, disk and
        countable resources drop by what the request needs, the container
        count grows by one and the request's group joins the host's groups.
        This table is unchanged.
        """
        tally = collections.Counter(int(row) for row in rows)
        columns = dict(self._columns)
        counted = dict(self.resources)
        for name, need in request.resources.items():
            column = np.array(self.free(name))
            for row, times in tally.items():
                column[row] -= times * need
            counted[name] = chunked.frozen(column)
        for name, need in zip(units.RESOURCES, request.units):
            if need:
                scale = units.SCALES[name]
                column = np.array(columns[name])
                for row, times in tally.items():
                    column[row] = units.documented(
                        units.of(column[row], scale) - times * need, scale)
                columns[name] = chunked.frozen(column)
        column = np.array(columns['containers'])
        for row, times in tally.items():
            column[row] += times
        columns['containers'] = chunked.frozen(column)
        groups, index = self.groups, self._index
        if request.group is not None:
            groups = groups.replace({
                row: groups[row] + (request.group,) * times
                for row, times in tally.items()})
            index = table_index.Consumed(index, tally, request.group)
        return HostTable(self.ids, self.labels, groups, columns, index,
                         self.reasons, counted, self.resources_total,
                         self.taint_sets)
