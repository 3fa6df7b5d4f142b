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

"""How far a manager's copy of etcd lags the revisions it knows of."""

import collections
import threading
import time

MOST = 1024
"""How many revisions are remembered with when they became known."""


class Revisions:
    """The revisions of etcd a client has been told of, and when.

    Every answer of etcd carries the revision etcd is at;
    :meth:`lag` compares the newest with the revision a copy has applied.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._known = collections.deque()  # [(revision, first known at)]
        self.newest = 0

    def seen(self, revision):
        """Note that etcd is at *revision* (or further) now."""
        if revision <= self.newest:
            return
        with self._lock:
            if revision <= self.newest:
                return
            self.newest = revision
            if len(self._known) == MOST:
                self._known.pop()  # the oldest ones tell the lag
            self._known.append((revision, time.monotonic()))

    def listed(self, revision):
        """Start again from a listing at *revision* (history may go back)."""
        with self._lock:
            self._known.clear()
            self.newest = revision

    def lag(self, applied):
        """Return ``(revisions, seconds)`` a copy at *applied* lags.

        Seconds since the first revision after *applied* became known.
        """
        with self._lock:
            while self._known and self._known[0][0] <= applied:
                self._known.popleft()
            if not self._known:
                return 0, 0.0
            return (self.newest - applied,
                    time.monotonic() - self._known[0][1])
