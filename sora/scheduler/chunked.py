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

"""Rows stored in chunks, shared between snapshots of the tracked hosts.

A :class:`Chunks` list is what the live table changes; :meth:`Chunks.freeze`
makes a :class:`FrozenRows` sharing its chunks, and the next write to a
shared chunk copies that chunk only. Columns are frozen whole
(:func:`frozen`).
"""

import collections.abc
import itertools

import numpy as np


def frozen(array):
    """Return a read-only copy of *array* that cannot be made writeable."""
    array = np.asarray(array)
    return np.frombuffer(array.tobytes(), dtype=array.dtype)


class FrozenRows(collections.abc.Sequence):
    """An immutable sequence stored in chunks, shared between snapshots.

    Tables hold their ids, labels and groups this way: a new snapshot of
    the tracked hosts shares every chunk that did not change, so taking
    one costs one reference per chunk, not one per host. It compares equal
    to a tuple with the same items.
    """

    SHIFT = 9
    SIZE = 1 << SHIFT

    __slots__ = ('_chunks', '_len')

    def __init__(self, chunks, length):
        self._chunks = chunks
        self._len = length

    @classmethod
    def of(cls, items):
        """Return the rows of the sequence *items*."""
        items = list(items)
        return cls(tuple(items[start:start + cls.SIZE]
                         for start in range(0, len(items), cls.SIZE)),
                   len(items))

    def __len__(self):
        return self._len

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError('row out of range')
        return self._chunks[index >> self.SHIFT][index & (self.SIZE - 1)]

    def __iter__(self):
        return itertools.chain.from_iterable(self._chunks)

    def __eq__(self, other):
        if isinstance(other, (FrozenRows, tuple)):
            return len(self) == len(other) and all(
                a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f'FrozenRows({tuple(self)!r})'

    def replace(self, changes):
        """Return a copy with ``{row: item}`` *changes* made."""
        chunks = list(self._chunks)
        for row, item in changes.items():
            chunk = list(chunks[row >> self.SHIFT])
            chunk[row & (self.SIZE - 1)] = item
            chunks[row >> self.SHIFT] = chunk
        return FrozenRows(tuple(chunks), self._len)


class Chunks:
    """A list stored in chunks, copied on write once a snapshot shares one.

    :meth:`freeze` returns a :class:`FrozenRows` sharing the
    chunks; the next write to a shared chunk copies that chunk only.
    """

    SIZE = FrozenRows.SIZE
    SHIFT = FrozenRows.SHIFT

    def __init__(self):
        self._chunks, self._shared, self._len = [], [], 0

    def __len__(self):
        return self._len

    def __getitem__(self, index):
        return self._chunks[index >> self.SHIFT][index & (self.SIZE - 1)]

    def _own(self, chunk):
        if self._shared[chunk]:
            self._chunks[chunk] = list(self._chunks[chunk])
            self._shared[chunk] = False
        return self._chunks[chunk]

    def __setitem__(self, index, item):
        self._own(index >> self.SHIFT)[index & (self.SIZE - 1)] = item

    def append(self, item):
        if self._len % self.SIZE == 0:
            self._chunks.append([item])
            self._shared.append(False)
        else:
            self._own(len(self._chunks) - 1).append(item)
        self._len += 1

    def extend(self, items):
        for item in items:
            self.append(item)

    def pop(self):
        item = self._own(len(self._chunks) - 1).pop()
        if not self._chunks[-1]:
            self._chunks.pop()
            self._shared.pop()
        self._len -= 1
        return item

    def freeze(self):
        self._shared = [True] * len(self._chunks)
        return FrozenRows(tuple(self._chunks), self._len)
