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

"""The lookups of the tracked hosts, kept up to date as their rows change.

:class:`Labels` knows, per label key, which slots of a
:class:`~sora.scheduler.live_table.LiveTable` carry it and with which
value. :class:`SnapshotIndex` answers a snapshot's id, label and group
lookups from the live table's, correcting the slots changed since the
snapshot was taken.
"""

import collections

import numpy as np

from sora.scheduler import host_table


class _LabelKey:
    """Which slots carry one label key, and with which value (as a code)."""

    __slots__ = ('codes', 'counts', 'slots', 'spare')

    def __init__(self):
        self.codes = {}      # value -> code
        self.counts = {}     # code -> hosts with that value
        self.slots = {}      # slot -> code
        self.spare = []      # codes of values no host carries any more

    def code(self, value):
        code = self.codes.get(value)
        if code is None:
            code = self.spare.pop() if self.spare else len(self.codes)
            self.codes[value] = code
            self.counts[code] = 0
        self.counts[code] += 1
        return code

    def drop(self, value):
        code = self.codes[value]
        self.counts[code] -= 1
        if not self.counts[code]:
            del self.codes[value], self.counts[code]
            self.spare.append(code)


class Labels:
    """Label lookups of the live rows, kept up to date per key.

    A key's dense array of codes (one per slot) is made when a request
    first asks for the key, then kept current; at most
    :data:`host_table.CACHED_KEYS` of them are kept (least recently used
    dropped), and a key no host carries is forgotten.
    """

    def __init__(self):
        self._keys = {}
        self._dense = collections.OrderedDict()
        self._capacity = 0

    def add(self, slot, labels):
        for key, value in labels.items():
            entry = self._keys.get(key)
            if entry is None:
                entry = self._keys[key] = _LabelKey()
            entry.slots[slot] = code = entry.code(value)
            dense = self._dense.get(key)
            if dense is not None:
                dense[slot] = code

    def remove(self, slot, labels):
        for key, value in labels.items():
            entry = self._keys[key]
            del entry.slots[slot]
            entry.drop(value)
            if not entry.slots:
                del self._keys[key]
                self._dense.pop(key, None)
            elif key in self._dense:
                self._dense[key][slot] = -1

    def move(self, source, target, labels):
        for key in labels:
            entry = self._keys[key]
            entry.slots[target] = code = entry.slots.pop(source)
            dense = self._dense.get(key)
            if dense is not None:
                dense[target], dense[source] = code, -1

    def grow(self, capacity):
        for key, dense in self._dense.items():
            grown = np.full(capacity, -1, dtype=np.int32)
            grown[:len(dense)] = dense
            self._dense[key] = grown
        self._capacity = capacity

    def mask(self, labels, size):
        mask = np.ones(size, dtype=bool)
        for key, value in labels.items():
            entry = self._keys.get(key)
            if entry is None or value not in entry.codes:
                return np.zeros(size, dtype=bool)
            mask &= self._dense_of(key, entry)[:size] == entry.codes[value]
        return mask

    def _dense_of(self, key, entry):
        dense = self._dense.get(key)
        if dense is None:
            dense = np.full(self._capacity, -1, dtype=np.int32)
            dense[np.fromiter(entry.slots.keys(), dtype=np.int64,
                              count=len(entry.slots))] = np.fromiter(
                entry.slots.values(), dtype=np.int32, count=len(entry.slots))
            self._dense[key] = dense
            while len(self._dense) > host_table.CACHED_KEYS:
                self._dense.popitem(last=False)
        else:
            self._dense.move_to_end(key)
        return dense


class SnapshotIndex:
    """Id, label and group lookups of one snapshot of a live table.

    They read the live lookups under the store's lock and correct the
    slots the journal says changed since the snapshot; a snapshot older
    than the journal falls back to lookups built from its own rows.
    """

    def __init__(self, live, version, ids, labels, groups):
        self.live, self.version, self.size = live, version, len(ids)
        self.ids, self.labels, self.groups = ids, labels, groups
        self._own = None

    def _fallback(self):
        if self._own is None:
            self._own = host_table.TableIndex(self)
        return self._own

    def rows_of(self, host_ids):
        live = self.live
        with live.lock:
            changed = live.changed_since(self.version)
            slots = [live.slot_of(host_id) for host_id in host_ids]
        if changed is None:
            return self._fallback().rows_of(host_ids)
        ids, rows = self.ids, []
        for host_id, slot in zip(host_ids, slots):
            if slot is not None and slot < self.size and \
                    slot not in changed:
                rows.append(slot)
                continue
            for slot in changed:
                if slot < self.size and ids[slot] == host_id:
                    rows.append(slot)
                    break
        return rows

    def label_mask(self, labels):
        live = self.live
        with live.lock:
            changed = live.changed_since(self.version)
            if changed is not None:
                mask = live.label_mask(labels, self.size)
        if changed is None:
            return self._fallback().label_mask(labels)
        for slot in changed:
            if slot < self.size:
                carried = self.labels[slot]
                mask[slot] = all(carried.get(key) == value
                                 for key, value in labels.items())
        return mask

    def group_mask(self, group):
        live = self.live
        mask = np.zeros(self.size, dtype=bool)
        with live.lock:
            changed = live.changed_since(self.version)
            if changed is not None:
                slots = np.fromiter(live.members(group), dtype=np.int64)
        if changed is None:
            return self._fallback().group_mask(group)
        mask[slots[slots < self.size]] = True
        for slot in changed:
            if slot < self.size:
                mask[slot] = group in self.groups[slot]
        return mask
