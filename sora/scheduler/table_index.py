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

"""The id, label and group lookups of a host table, built on first use.

:class:`TableIndex` answers them from a table's own rows;
:class:`Consumed` corrects them for the picks of a decision
(:meth:`~sora.scheduler.host_table.HostTable.consume`). The live table's
snapshots have theirs in :mod:`sora.scheduler.live_index`.
"""

import collections
import functools

import numpy as np

from sora.scheduler import chunked

CACHED_KEYS = 64
"""How many label keys (and groups) one table keeps a lookup array for."""


class TableIndex:
    """Id, label and group lookups built from a table's rows on first use.

    :param ids: the table's ids, labels and groups, by row (as are
        *labels* and *groups*).
    """

    def __init__(self, ids, labels, groups):
        self._ids, self._labels, self._groups = ids, labels, groups
        self._rows = None
        self._members = None  # {group: rows running it, once per container}
        self.codes = functools.lru_cache(CACHED_KEYS)(self._codes)
        self.group_counts = functools.lru_cache(CACHED_KEYS)(
            self._group_counts)

    def row_map(self):
        """Return ``{host id: row}``."""
        if self._rows is None:
            self._rows = {host_id: row for row, host_id in
                          enumerate(self._ids)}
        return self._rows

    def rows_of(self, host_ids):
        rows = self.row_map()
        return [rows[host_id] for host_id in host_ids if host_id in rows]

    def label_codes(self, key):
        codes, by_value = self.codes(key)
        return codes, tuple(by_value)

    def label_mask(self, labels):
        mask = np.ones(len(self._ids), dtype=bool)
        for key, value in labels.items():
            codes, by_value = self.codes(key)
            mask &= codes == by_value.get(value, -2)
        return mask

    def _codes(self, key):
        # An int code per host (-1: key absent) and the code of each value.
        by_value = {}
        codes = np.fromiter(
            (by_value.setdefault(labels[key], len(by_value))
             if key in labels else -1 for labels in self._labels),
            dtype=np.int64, count=len(self._labels))
        return chunked.frozen(codes), by_value

    def _group_counts(self, group):
        # One pass over every host's groups serves every group's lookup.
        if self._members is None:
            members = collections.defaultdict(list)
            for row, groups in enumerate(self._groups):
                for name in groups:
                    members[name].append(row)
            self._members = dict(members)
        return chunked.frozen(np.bincount(
            np.asarray(self._members.get(group, ()), dtype=np.int64),
            minlength=len(self._groups)))


class Consumed:
    """The lookups of a table whose rows took placements of a group."""

    def __init__(self, index, tally, group):
        self._index, self._tally, self._group = index, tally, group

    def rows_of(self, host_ids):
        return self._index.rows_of(host_ids)

    def label_mask(self, labels):
        return self._index.label_mask(labels)

    def label_codes(self, key):
        return self._index.label_codes(key)

    def group_counts(self, group):
        counts = self._index.group_counts(group)
        if group == self._group:
            counts = np.array(counts)
            counts[list(self._tally)] += list(self._tally.values())
        return counts
