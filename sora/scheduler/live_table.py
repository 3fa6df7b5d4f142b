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

"""The tracked hosts, changed in place, read through cheap snapshots.

:class:`LiveTable` holds one row (slot) per tracked host: what its node
last reported and what claims hold on it, and the columns plugins read,
derived from both. A report, a claim, adding or removing a host changes
a few slots, whatever the number of hosts: rows are not kept sorted (a
removed host's slot takes the last row; ``id_rank`` keeps the id order
for ties), and each group's members are kept up to date for the commits'
policy checks.

Decisions read a :meth:`LiveTable.snapshot`: a read-only
:class:`~sora.scheduler.host_table.HostTable` made by copying the columns
that changed since the previous snapshot (one memcpy each) and sharing the
unchanged chunks of ids, labels and groups. Its label, group and id
lookups are its own (:mod:`sora.scheduler.live_index`): once taken, a
snapshot reads nothing of the live table.

Not thread-safe: its store calls it under the lock it was given.
"""

import collections

import numpy as np

from sora.scheduler import chunked
from sora.scheduler import counted_columns
from sora.scheduler import host_table
from sora.scheduler import id_ranks
from sora.scheduler import live_index
from sora.scheduler import live_row
from sora.scheduler import table_index
from sora.scheduler import taints
from sora.scheduler import units


class LiveTable:
    """The tracked hosts: rows changed in place, read through snapshots."""

    def __init__(self):
        self.version = 0
        self._rows = []
        self._slot_of = {}
        self._ranks = id_ranks.IdRanks()
        self._columns = {}
        self._counted = counted_columns.CountedColumns(0)
        self._taint_sets = taints.TaintSets()
        self._grow(64)
        self._ids, self._labels, self._groups, self._totals = (
            chunked.Chunks() for _ in range(4))
        self._members = {}   # group -> {slot: containers of it}
        self._moved = {}     # group -> version its members last moved at
        self._reasons = {}   # {slot: why an operator disabled its host}
        self._base = None    # the lookups snapshots start from
        self._changed = set()  # slots whose id, labels or groups changed
        self._dirty = set(host_table.COLUMNS)
        self._snapshot = None

    def __len__(self):
        return len(self._rows)

    # Reading

    def slot_of(self, host_id):
        """Return the slot of *host_id*, or ``None``."""
        return self._slot_of.get(host_id)

    def row(self, slot):
        """Return what the store knows of the host in *slot*."""
        return self._rows[slot]

    def fits(self, slot, request, times):
        """Whether *slot* is enabled and has *times* x *request* free."""
        row = self._rows[slot]
        return row.usable() and all(
            free >= times * need
            for free, need in zip(row.free(), request.units)) and all(
            row.free_of(name) >= times * need
            for name, need in request.resources.items())

    def members(self, group):
        """Return the slots running (or claimed for) a container of group."""
        return self._members.get(group, {}).keys()

    def moved(self, group):
        """Return the version at which *group*'s members last changed.

        Joined or left a host, or their host's labels changed (which may
        move them between topology domains); 0 once it has none (members
        leaving never break a topology rule).
        """
        return self._moved.get(group, 0)

    def snapshot(self):
        """Return the hosts as a read-only :class:`HostTable`.

        The same table while nothing changes; a new one costs one copy of
        each column that changed since the previous one.
        """
        if self._snapshot is not None and \
                self._snapshot[0] == self.version:
            return self._snapshot[1]
        size = len(self._rows)
        previous = self._snapshot[1] if self._snapshot else None
        if previous is None or len(previous) != size:
            self._dirty.update(host_table.COLUMNS)
            previous = None
        columns = {name: chunked.frozen(self._columns[name][:size])
                   if name in self._dirty else getattr(previous, name)
                   for name in host_table.COLUMNS}
        counted = self._counted.frozen(
            size, None if previous is None else previous.resources)
        self._dirty.clear()
        ids, labels, groups = (self._ids.freeze(), self._labels.freeze(),
                               self._groups.freeze())
        if self._base is None or \
                len(self._changed) >= live_index.rebase_after(size):
            self._base = index = table_index.TableIndex(ids, labels, groups)
            self._changed = set()
        else:
            index = live_index.SnapshotIndex(
                self._base, frozenset(self._changed), ids, labels, groups)
        table = host_table.HostTable(ids, labels, groups, columns, index,
                                     dict(self._reasons), counted,
                                     self._totals.freeze(),
                                     self._taint_sets.frozen())
        self._snapshot = (self.version, table)
        return table

    # Changing

    def update(self, reports, kept=None):
        """Add or replace the hosts of *reports* (a ``Reports``) by id.

        :param kept: per report, ``{consumer: group}`` of the placed
            containers it lists (:func:`claims.groups_kept`): their groups
            count on the host beside those it reports (see
            :func:`live_row.with_members`).
        """
        self.version += 1
        groups = reports.groups if not kept else [
            live_row.with_members(reported, members)
            for reported, members in zip(reports.groups, kept)]
        new = []
        for i, host_id in enumerate(reports.ids):
            slot = self._slot_of.get(host_id)
            if slot is None:
                new.append(i)
            else:
                self._report(slot, reports, i, groups[i])
        if new:
            self._add(reports, new, groups)

    def remove(self, host_id):
        """Forget the host *host_id*, and the claims held on it."""
        self.version += 1
        slot = self._slot_of.pop(host_id)
        row = self._rows[slot]
        for group in row.all_groups():
            self._leave(group, slot)
        self._taint_sets.give_back(int(self._columns['taint_set'][slot]))
        self._ranks.remove(host_id)
        last = len(self._rows) - 1
        if slot != last:
            moved = self._rows[slot] = self._rows[last]
            self._slot_of[moved.id] = slot
            moved.stamp = self.version
            for group, count in collections.Counter(
                    moved.all_groups()).items():
                members = self._members[group]
                del members[last]
                members[slot] = count
            for column in self._columns.values():
                column[slot] = column[last]
            self._reasons.pop(slot, None)
            if moved.disabled is not None:
                self._reasons[slot] = moved.disabled
            self._ids[slot] = moved.id
            self._labels[slot] = moved.labels
            self._groups[slot] = self._groups[last]
            self._totals[slot] = moved.resources_total
            self._note(slot)
        self._rows.pop()
        self._reasons.pop(last, None)
        for rows in (self._ids, self._labels, self._groups, self._totals):
            rows.pop()
        self._counted.move(slot, last)
        self._note(last)
        self._dirty.update(host_table.COLUMNS)

    def disable(self, slot, reason):
        """Keep new placements off *slot* for *reason*; None: let them."""
        self.version += 1
        row = self._rows[slot]
        row.disabled, row.stamp = reason, self.version
        if reason is None:
            self._reasons.pop(slot, None)
        else:
            self._reasons[slot] = reason
        self._set('enabled', slot, row.usable())

    def claim(self, slot, entry, sign=1):
        """Add (``sign=-1``: take back) the claim *entry* to *slot*.

        :param entry: a :class:`~sora.scheduler.claims.Entry`: its needs,
            countable resources and group count.
        """
        self.version += 1
        row = self._rows[slot]
        for i, need in enumerate(entry.needs):
            row.claimed[i] += sign * need
        row.claimed[3] += sign
        if entry.resources:
            if row.claimed_resources is None:
                row.claimed_resources = collections.Counter()
            for name, need in entry.resources.items():
                row.claimed_resources[name] += sign * need
                if not row.claimed_resources[name]:
                    del row.claimed_resources[name]
                self._refresh_counted(slot, name)
        group = entry.group
        if group is not None:
            if row.claimed_groups is None:
                row.claimed_groups = collections.Counter()
            row.claimed_groups[group] += sign
            if not row.claimed_groups[group]:
                del row.claimed_groups[group]
            if sign > 0:
                self._join(group, slot)
            else:
                self._leave(group, slot)
            self._groups[slot] = row.all_groups()
            self._note(slot)
        self._refresh(slot)

    # Inside

    def _note(self, slot):
        # A change of a slot's id, labels or groups, for the snapshots'
        # lookups.
        self._changed.add(slot)

    def _join(self, group, slot):
        members = self._members.setdefault(group, {})
        members[slot] = members.get(slot, 0) + 1
        self._moved[group] = self.version

    def _leave(self, group, slot):
        self._moved[group] = self.version
        members = self._members[group]
        members[slot] -= 1
        if not members[slot]:
            del members[slot]
            if not members:  # a group that left every host moves no more
                del self._members[group]
                del self._moved[group]

    def _refresh(self, slot):
        # The columns plugins read, from the row's report and claims.
        row = self._rows[slot]
        for name, free in zip(units.RESOURCES, row.free()):
            self._set(name, slot, units.documented(free, units.SCALES[name]))
        self._set('containers', slot, row.containers + row.claimed[3])
        for name in row.counted():
            self._refresh_counted(slot, name)

    def _refresh_counted(self, slot, name):
        # The column of free *name* (a countable resource) at *slot*.
        self._counted.set(slot, name, self._rows[slot].free_of(name))

    def _set(self, name, slot, value):
        # A column changed since the last snapshot is copied into the next.
        column = self._columns[name]
        if column[slot] != value:
            column[slot] = value
            self._dirty.add(name)

    def _report(self, slot, reports, i, groups):
        # Replace what the host in *slot* reported; its claims stay.
        row = self._rows[slot]
        row.amounts = amounts = tuple(reports.amounts[name][i]
                                      for name in host_table.FLOATS)
        row.containers = reports.containers[i]
        row.enabled = reports.enabled[i]
        row.stamp = self.version
        self._set('enabled', slot, row.usable())
        self._set('memory_total_mb', slot, units.documented(amounts[1], 1))
        self._set('cpus_total', slot, units.documented(amounts[3], 1000))
        labels = reports.labels[i]
        if labels != row.labels:
            row.labels = self._labels[slot] = labels
            self._note(slot)
            self._moved.update(dict.fromkeys(row.all_groups(), self.version))
        gone = row.resources_total.keys() - reports.resources_total[i].keys()
        row.resources = reports.resources[i]
        if reports.resources_total[i] != row.resources_total:
            row.resources_total = self._totals[slot] = \
                reports.resources_total[i]
        for name in gone:
            self._refresh_counted(slot, name)
        if reports.taints[i] is not row.taints:
            code = self._taint_sets.take(reports.taints[i])
            self._taint_sets.give_back(int(self._columns['taint_set'][slot]))
            row.taints = reports.taints[i]
            self._set('taint_set', slot, code)
        if groups != row.groups:
            for group in row.groups:
                self._leave(group, slot)
            for group in groups:
                self._join(group, slot)
            row.groups = groups
            self._groups[slot] = row.all_groups()
            self._note(slot)
        self._refresh(slot)

    def _add(self, reports, new, groups):
        first = len(self._rows)
        if first + len(new) > len(self._columns['enabled']):
            self._grow(max(2 * len(self._columns['enabled']),
                           first + len(new)))
        for offset, i in enumerate(new):
            slot = first + offset
            row = live_row.Row(reports.ids[i])
            row.stamp = self.version
            row.labels = reports.labels[i]
            self._rows.append(row)
            self._slot_of[row.id] = slot
            self._ids.append(row.id)
            self._labels.append(row.labels)
            self._groups.append(())
            self._totals.append(row.resources_total)
            self._set('taint_set', slot, 0)  # the slot may be a removed one's
            self._note(slot)
        self._ranks.add([reports.ids[i] for i in new], self._slot_of,
                        self._columns['id_rank'])
        self._dirty.add('id_rank')
        for offset, i in enumerate(new):
            self._report(first + offset, reports, i, groups[i])

    def _grow(self, capacity):
        kinds = dict.fromkeys(host_table.FLOATS, float)
        kinds.update(containers=np.int64, enabled=bool, id_rank=np.int64,
                     taint_set=np.int64)
        for name, kind in kinds.items():
            column = np.zeros(capacity, dtype=kind)
            old = self._columns.get(name)
            if old is not None:
                column[:len(old)] = old
            self._columns[name] = column
        self._counted.grow(capacity)
