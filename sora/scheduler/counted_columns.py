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


"""The live table's columns of free countable resources, one per name."""

import numpy as np

from sora.scheduler import chunked


class CountedColumns:
    """One int64 column of free amounts per countable resource name.

    A name gets its column when a host first reports or claims it (0 in
    every other slot); the columns grow with the live table's. Each
    :meth:`frozen` copies only the columns changed since the previous one.

    :param capacity: the slots of each column.
    """

    def __init__(self, capacity):
        self._columns = {}
        self._changed = set()
        self._capacity = capacity

    def set(self, slot, name, free):
        """Make *free* the amount of *name* free at *slot*."""
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = np.zeros(self._capacity,
                                                    dtype=np.int64)
            self._changed.add(name)
        if column[slot] != free:
            column[slot] = free
            self._changed.add(name)

    def move(self, slot, last):
        """Give *slot* the amounts of the slot *last*, and clear *last*."""
        for column in self._columns.values():
            column[slot] = column[last]
            column[last] = 0
        self._changed.update(self._columns)

    def grow(self, capacity):
        """Make room for *capacity* slots."""
        self._capacity = capacity
        for name, old in self._columns.items():
            column = self._columns[name] = np.zeros(capacity, dtype=np.int64)
            column[:len(old)] = old

    def frozen(self, size, previous=None):
        """Return ``{name: read-only column of the first *size* slots}``.

        The columns unchanged since the previous call come from *previous*
        (what it returned; None: copy every column).
        """
        if previous is None:
            self._changed.update(self._columns)
        frozen = {name: chunked.frozen(column[:size])
                  if name in self._changed else previous[name]
                  for name, column in self._columns.items()}
        self._changed.clear()
        return frozen
