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

"""Where the manager keeps the hosts it tracks and the claims on them.

:class:`HostStore` is the interface; :class:`MemoryHostStore`, in process,
is the default. Several scheduler processes sharing hosts and claims (etcd)
are a second implementation of the same interface: ``place`` then runs
the decision on a snapshot and commits the claim with a compare-and-swap,
deciding again when another scheduler got there first.
"""

import abc
import threading

from sora.scheduler import exceptions
from sora.scheduler import host_state


class HostStore(metaclass=abc.ABCMeta):
    """Hosts reported by nodes, less what decisions have claimed on them.

    The hosts a decision sees are the reported ones with every outstanding
    claim taken off. A node report replaces what the node reported and
    keeps the claims: release a claim once the node's reports account for
    the container (or it is gone).
    """

    @abc.abstractmethod
    def hosts(self):
        """Return the current :class:`~host_state.HostTable` (a snapshot)."""

    @abc.abstractmethod
    def update(self, hosts):
        """Add or replace hosts (a validated :class:`HostTable`) by id."""

    @abc.abstractmethod
    def remove(self, host_id):
        """Forget a host and its claims.

        :raises InvalidRequest: no host has that id.
        """

    @abc.abstractmethod
    def place(self, request, decide):
        """Run ``decide(hosts) -> [host id]`` and claim *request* on each.

        The decision and its claim are atomic: no other claim lands in
        between. ``decide`` has checked that its choice fits the table it
        was given, so a host never takes more than it has free.

        :raises SchedulerError: when ``decide`` does (nothing is claimed).
        """

    @abc.abstractmethod
    def release(self, host_id, request):
        """Give back one claim of *request* on *host_id*.

        :raises InvalidRequest: unknown host, or no such claim on it.
        """


class MemoryHostStore(HostStore):
    """The in-process store: one lock, copy-on-write host tables."""

    def __init__(self):
        self._lock = threading.Lock()
        self._reported = host_state.parse_hosts([])
        self._claimed = host_state.Usage(0)
        self._hosts = self._reported

    def hosts(self):
        return self._hosts

    def update(self, hosts):
        with self._lock:
            reported = self._reported.merge(hosts)
            self._claimed = self._claimed.realign(self._reported, reported)
            self._set(reported)

    def remove(self, host_id):
        with self._lock:
            self._rows([host_id])
            reported = self._reported.without([host_id])
            self._claimed = self._claimed.realign(self._reported, reported)
            self._set(reported)

    def place(self, request, decide):
        with self._lock:
            chosen = decide(self._hosts)
            rows = self._rows(chosen)
            self._claimed.add(rows, request)
            self._hosts = self._hosts.consume(rows, request)
            return chosen

    def release(self, host_id, request):
        with self._lock:
            rows = self._rows([host_id])
            if not self._claimed.holds(rows[0], request):
                raise exceptions.InvalidRequest(
                    f'host {host_id!r} holds no claim of {request.to_dict()}')
            self._claimed.add(rows, request, sign=-1)
            self._hosts = self._hosts.consume(rows, request, sign=-1)

    def _rows(self, host_ids):
        rows = self._reported.rows_of(host_ids)
        if len(rows) != len(host_ids):
            unknown = sorted(set(host_ids) - set(self._reported.ids))
            raise exceptions.InvalidRequest(
                f'no host has id {", ".join(map(repr, unknown))}')
        return rows

    def _set(self, reported):
        self._reported = reported
        self._hosts = reported.less(self._claimed)
