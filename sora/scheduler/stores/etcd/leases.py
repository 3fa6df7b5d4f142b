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

"""etcd leases shared by the keys written within one period.

A key that must go some time after it was written (a node report after
``[etcd] host_ttl``, a claim after ``[scheduler] claim_timeout``) is put
with a lease, so that etcd deletes it on its own clock. Granting a lease
per key would double the calls; :class:`Leases` grants one per period and
length instead, lasting the length plus the period, so that every key put
with it lasts at least the length and at most the length plus the period.
"""

import threading
import time


class Leases:
    """The leases one store puts keys with, by length.

    :param client: the :class:`~sora.scheduler.stores.etcd.client.Client`.
    """

    def __init__(self, client):
        self._client = client
        self._lock = threading.Lock()
        self._given = {}  # (ttl, period) -> (lease id, until when to give)

    def lease(self, ttl, period):
        """Return a lease for keys put now.

        It deletes them *ttl* to *ttl* + *period* seconds from now (whole
        seconds, at least 1).
        """
        now = time.monotonic()
        with self._lock:
            lease, until = self._given.get((ttl, period), (0, 0.0))
        if now < until:
            return lease
        lease = self._client.grant(ttl + period)
        with self._lock:
            self._given[ttl, period] = (lease, now + period)
        return lease

    def forget(self):
        """Grant anew: etcd refused a lease given.

        It expired, was revoked, or etcd lost it (restarted empty).
        """
        with self._lock:
            self._given.clear()
