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

"""Ranks that sort like the tracked hosts' ids, for ties broken by id.

The live table keeps its rows unsorted; its ``id_rank`` column holds, per
slot, a number that sorts as the slot's id does. :class:`IdRanks` gives a
new id a rank between its neighbours' (a step from the lower one: ids
often come in ascending runs), and numbers them all afresh only when no
room is left or many come at once.
"""

import bisect

import numpy as np

_GAP = 1 << 40   # between the id ranks of neighbouring ids, at first
_STEP = 1 << 20  # from the lower neighbour: a run of ids fits in one gap
_LIMIT = 1 << 62
BULK = 32
"""Adding this many ids or more at once numbers them all afresh."""


class IdRanks:
    """The tracked ids in order, and their ranks in a column by slot."""

    def __init__(self):
        self._sorted = []

    def add(self, host_ids, slot_of, ranks):
        """Rank the new *host_ids* (in *ranks*, a column by slot).

        :param slot_of: ``{host id: slot}``, the new ones included.
        """
        if len(host_ids) >= BULK:
            self._sorted = sorted(self._sorted + list(host_ids))
            self._renumber(slot_of, ranks)
            return
        for host_id in host_ids:
            self._rank(host_id, slot_of, ranks)

    def remove(self, host_id):
        """Forget *host_id* (its slot's rank is the caller's to reuse)."""
        del self._sorted[bisect.bisect_left(self._sorted, host_id)]

    def _rank(self, host_id, slot_of, ranks):
        ids = self._sorted
        at = bisect.bisect_left(ids, host_id)
        low = ranks[slot_of[ids[at - 1]]] if at else None
        high = ranks[slot_of[ids[at]]] if at < len(ids) else None
        ids.insert(at, host_id)
        if low is None and high is None:
            rank = 0
        elif low is None:
            rank = high - _GAP
        elif high is None:
            rank = low + _GAP
        else:
            rank = low + min((high - low) // 2, _STEP)
        if rank in (low, high) or abs(rank) >= _LIMIT:
            self._renumber(slot_of, ranks)
        else:
            ranks[slot_of[host_id]] = rank

    def _renumber(self, slot_of, ranks):
        slots = np.fromiter((slot_of[host_id] for host_id in self._sorted),
                            dtype=np.int64, count=len(self._sorted))
        gap = min(_GAP, _LIMIT // max(1, len(slots)))
        ranks[slots] = np.arange(len(slots), dtype=np.int64) * gap
