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

"""The host store interface: where the manager keeps tracked hosts.

Decisions are optimistic in every store: a decision runs on a snapshot
without holding anything, and its claims commit only if what it relied on
is still true, else it is made again on a fresh snapshot. A store shared
by several processes (etcd) makes the snapshot from its local copy and
commits with a compare of revisions.
"""

import abc
import random
import time

from sora.scheduler import base
from sora.scheduler import exceptions
from sora.scheduler import metrics

ATTEMPTS = 8
"""How many times a decision is made before losing the race is an error."""
BACKOFF = 0.001
"""Seconds: the pause after the n-th lost race is random, up to 2**n x this.
"""


def attempts():
    """Yield the attempt numbers of a write that may lose races: 0, 1, ...

    At most :data:`ATTEMPTS` of them; before each but the first, a random
    pause that grows each time, so that writers that collided (schedulers
    that decided alike) do not collide again at once.
    """
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, BACKOFF * 2 ** (attempt - 1)))
        yield attempt


class HostStore(base.Plugin, metaclass=abc.ABCMeta):
    """Hosts reported by nodes, and the claims decisions hold on them.

    A decision sees each host's last report less its outstanding claims.
    A claim is keyed by its consumer id and ends when a node report lists
    the consumer (settled), when it is released, or ``[scheduler]
    claim_timeout`` seconds after it was made (expired). Every method is
    safe to call from many threads at once.

    :param conf: the :class:`oslo_config.cfg.ConfigOpts` holding Sora's
        options (registered on it if need be); ``cfg.CONF`` when omitted.
    :param clock: a function returning seconds, for claim ages and expiry;
        ``time.monotonic`` when omitted.
    :ivar metrics: the :class:`~sora.scheduler.metrics.Scope` its claim
        events (and a shared store's calls) are counted in.
    """

    def __init__(self, conf=None, clock=None):
        super().__init__(conf)
        self.clock = time.monotonic if clock is None else clock
        self.metrics = metrics.Scope()

    shared = False
    """Whether other processes see what the store holds (it outlives one)."""

    def close(self):
        """Let go of what the store holds open (connections, threads)."""

    @abc.abstractmethod
    def hosts(self):
        """Return the hosts as a read-only :class:`HostTable`, claims off."""

    @abc.abstractmethod
    def update(self, reports):
        """Add or replace hosts by id; settle the claims of their consumers.

        :param reports: validated node reports
            (:class:`~sora.scheduler.reports.Reports`). A claim whose
            consumer any of them lists is dropped.
        """

    @abc.abstractmethod
    def remove(self, host_id):
        """Forget a host and the claims on it.

        :raises InvalidRequest: no host has that id.
        """

    def set_disabled(self, host_id, reason):
        """Keep new placements off a host for *reason*; None: let them.

        An operator's decision, kept apart from the host's reports (none
        undoes it) until changed again; claims and containers already on
        the host stay. This default says the store cannot.

        :raises InvalidRequest: no host has that id, or the store cannot.
        """
        raise exceptions.InvalidRequest(
            f'host store {type(self).__name__} cannot disable or enable '
            'hosts')

    def report_ages(self):
        """Return ``{host id: seconds since its last report}``.

        Only the hosts whose report time the store knows; the age of one
        left out is unknown. This default knows none.
        """
        return {}

    @abc.abstractmethod
    def release(self, consumer):
        """Drop the claim of *consumer*.

        :raises InvalidRequest: no claim is held for that consumer.
        """

    @abc.abstractmethod
    def claims(self):
        """Return the outstanding :class:`~claims.Claim` s, oldest first."""

    @abc.abstractmethod
    def snapshot(self, consumers=()):
        """Return ``(table, version)`` for a decision to run on.

        :param consumers: consumer ids the decision will claim for.
        :raises InvalidRequest: one of *consumers* already holds a claim.
        """

    @abc.abstractmethod
    def commit(self, version, request, placements):
        """Claim *request* for each placement, if still possible.

        Each host's placements must still fit, no report of the host may
        have arrived since the snapshot of *version*, and the request's
        group policy must still hold. All or nothing.

        :param placements: ``[(consumer, host id)]``.
        :raises Conflict: what the decision relied on changed: decide again
            on a fresh snapshot; nothing is claimed.
        :raises InvalidRequest: one of the consumers already holds a claim.
        """
