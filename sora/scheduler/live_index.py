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

"""The id, label and group lookups of the live table's snapshots.

A snapshot answers them from a *base*: the lookups of an earlier
snapshot's own rows (a :class:`~sora.scheduler.table_index.TableIndex`,
built on first use and shared by the snapshots taken after it) corrected
for the slots whose id, labels or groups changed since, which the snapshot
is handed when it is taken. Once taken it needs nothing from the live
table: no lock, nothing the store's writers change. The live table takes a
new base once correcting for the changed slots would cost more than
building lookups afresh (:func:`rebase_after`).
"""

import math

import numpy as np

REBASE = 64
"""The fewest changed slots that make the live table take a new base."""


def rebase_after(size):
    """Return how many changed slots of *size* call for a new base.

    Correcting costs each lookup a step per changed slot; a new base costs
    its first lookup of each kind a step per slot: a few times the square
    root of the table's size balances them.
    """
    return max(REBASE, 4 * math.isqrt(size))


class SnapshotIndex:
    """Id, label and group lookups of one snapshot of a live table.

    :param base: the :class:`~sora.scheduler.table_index.TableIndex` of an
        earlier snapshot.
    :param changed: the slots whose id, labels or groups changed since.
    :param ids: the snapshot's ids, labels and groups, by slot (as are
        *labels* and *groups*).
    """

    def __init__(self, base, changed, ids, labels, groups):
        self.base, self.changed = base, changed
        self.ids, self.labels, self.groups = ids, labels, groups
        self.size = len(ids)
        self._moved = None  # {host id: slot} of the changed slots

    def rows_of(self, host_ids):
        if self._moved is None:
            self._moved = {self.ids[slot]: slot for slot in self.changed
                           if slot < self.size}
        moved, changed, size = self._moved, self.changed, self.size
        before = self.base.row_map()
        rows = []
        for host_id in host_ids:
            slot = moved.get(host_id)
            if slot is None:
                slot = before.get(host_id)
                if slot is None or slot in changed or slot >= size:
                    continue
            rows.append(slot)
        return rows

    def label_mask(self, labels):
        mask = self._sized(self.base.label_mask(labels))
        for slot in self.changed:
            if slot < self.size:
                carried = self.labels[slot]
                mask[slot] = all(carried.get(key) == value
                                 for key, value in labels.items())
        return mask

    def label_codes(self, key):
        base_codes, values = self.base.label_codes(key)
        codes = np.full(self.size, -1, dtype=np.int64)
        common = min(self.size, len(base_codes))
        codes[:common] = base_codes[:common]
        values = list(values)
        position = {value: code for code, value in enumerate(values)}
        for slot in self.changed:
            if slot < self.size:
                value = self.labels[slot].get(key)
                if value is None:
                    codes[slot] = -1
                    continue
                if value not in position:
                    position[value] = len(values)
                    values.append(value)
                codes[slot] = position[value]
        return codes, tuple(values)

    def group_counts(self, group):
        counts = self._sized(self.base.group_counts(group))
        for slot in self.changed:
            if slot < self.size:
                counts[slot] = self.groups[slot].count(group)
        return counts

    def _sized(self, column):
        # The base's *column*, cut or padded to this snapshot's size (the
        # slots past the base's are all among the changed).
        sized = np.zeros(self.size, dtype=column.dtype)
        common = min(self.size, len(column))
        sized[:common] = column[:common]
        return sized
