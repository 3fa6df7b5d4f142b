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

:class:`HostStore` is the interface, a plugin in the
``sora.scheduler.host_stores`` namespace chosen by ``[scheduler]
host_store``; :class:`MemoryHostStore` (``memory``, the default) keeps
everything in this process. Decisions are optimistic in every store: a
decision runs on a snapshot without holding anything, and its claims
commit only if what it relied on is still true, else it is made again on
a fresh snapshot. A store shared by several processes (etcd) makes the
snapshot from its local cache and commits with a compare of revisions.
"""

import abc
import collections
import contextlib
import importlib.metadata
import random
import threading
import time

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import driver
from stevedore import exception as stevedore_exception

from sora import conf as sora_conf
from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import live_table
from sora.scheduler import plugins

LOG = logging.getLogger(__name__)

NAMESPACE = 'sora.scheduler.host_stores'
ATTEMPTS = 8
"""How many times a decision is made before losing the race is an error."""
BACKOFF = 0.001
"""Seconds: the pause after the n-th lost race is random, up to 2**n x this.
"""


class HostStore(metaclass=abc.ABCMeta):
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
    :ivar turn: the lock a manager holds around each whole decision it
        makes on the tracked hosts (parsing the request included), so that
        the decisions of one process take turns. Under CPython's global
        interpreter lock, NumPy-heavy decisions running at once slow each
        other down: a thread that releases the interpreter lock around an
        array operation then waits for another thread's Python code to
        give it back. Four threads placed at a third of one thread's rate
        on 1,000 to 10,000 hosts that way, and at 0.6 times while only
        deciding and committing took turns. The turn is not the store's
        lock: reports, claims and releases never wait for a decision, and
        decisions of other processes sharing the store are kept apart by
        the commit alone.
    """

    take_turns = True
    """Whether this process's decisions on the store take turns (see
    :attr:`turn`); the commit alone keeps them correct either way."""

    def __init__(self, conf=None, clock=None):
        self.conf = cfg.CONF if conf is None else conf
        sora_conf.register_opts(self.conf)
        self.clock = time.monotonic if clock is None else clock
        self.turn = threading.RLock() if self.take_turns else \
            contextlib.nullcontext()

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
            (:class:`~sora.scheduler.host_state.Reports`). A claim whose
            consumer any of them lists is dropped.
        """

    @abc.abstractmethod
    def remove(self, host_id):
        """Forget a host and the claims on it.

        :raises InvalidRequest: no host has that id.
        """

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
        :returns: whether the claims were made (``False``: decide again).
        :raises InvalidRequest: one of the consumers already holds a claim.
        """

    def place(self, request, consumers, decide):
        """Decide with ``decide(table) -> [host id]`` and claim each choice.

        One claim of *request* per chosen host, under the consumer id at
        the same position. The decision runs on a snapshot and is made
        again on a fresh one when its claims cannot commit, at most
        :data:`ATTEMPTS` times. The manager calls it holding :attr:`turn`.

        :raises SchedulerError: when ``decide`` does (nothing is claimed).
        :raises InvalidRequest: a consumer already holds a claim.
        :raises NoValidHost: other decisions kept taking the chosen hosts.
        """
        for attempt in range(ATTEMPTS):
            table, version = self.snapshot(consumers)
            chosen = decide(table)
            if self.commit(version, request,
                           list(zip(consumers, chosen))):
                return chosen
            LOG.debug('Decision for %(consumers)s lost its hosts '
                      '%(chosen)s to another one (attempt %(attempt)d)',
                      {'consumers': consumers, 'chosen': chosen,
                       'attempt': attempt + 1})
            # Schedulers that decided alike would collide again at
            # once: a random, growing pause sets them apart.
            time.sleep(random.uniform(0, BACKOFF * 2 ** attempt))
        raise exceptions.NoValidHost(
            len(table), [], count=len(consumers),
            reason=f'other decisions took the chosen hosts {ATTEMPTS} '
                   'times in a row')


class MemoryHostStore(HostStore):
    """The in-process store (``memory``): one lock, rows updated in place.

    A report, a claim, a release, adding or removing a host costs about the
    same at 100,000 hosts as at 10; snapshots copy only the columns that
    changed since the previous one. See
    :class:`~sora.scheduler.live_table.LiveTable`.
    """

    def __init__(self, conf=None, clock=None):
        super().__init__(conf, clock)
        self._lock = threading.RLock()
        self._live = live_table.LiveTable(self._lock)
        self._ledger = claims.Ledger()
        self._kept = {}  # {host id: claims.groups_kept of its last report}

    def hosts(self):
        with self._lock:
            self._expire()
            return self._live.snapshot()

    def update(self, reports):
        with self._lock:
            self._expire()
            settled = [{consumer: self._ledger[consumer].group
                        for consumer in consumers if consumer in self._ledger}
                       for consumers in reports.consumers]
            self._track(reports, [
                claims.groups_kept(consumers, self._kept.get(host_id, {}),
                                   groups)
                for host_id, consumers, groups in zip(
                    reports.ids, reports.consumers, settled)])
            for groups in settled:
                for consumer in groups:
                    self._drop(consumer)

    def remove(self, host_id):
        with self._lock:
            self._expire()
            if self._live.slot_of(host_id) is None:
                raise exceptions.InvalidRequest(f'no host has id {host_id!r}')
            for consumer in self._ledger.of_host(host_id):
                self._drop(consumer)
            self._live.remove(host_id)
            self._kept.pop(host_id, None)

    def release(self, consumer):
        with self._lock:
            self._expire()
            if not self._drop(consumer):
                raise exceptions.InvalidRequest(
                    f'no claim is held for consumer {consumer!r}')

    def claims(self):
        with self._lock:
            self._expire()
            return self._ledger.listing(self.clock())

    def snapshot(self, consumers=()):
        with self._lock:
            self._expire()
            self._check_consumers(consumers)
            return self._live.snapshot(), self._live.version

    def commit(self, version, request, placements):
        live = self._live
        with self._lock:
            self._expire()
            slots = self._admitted(version, request, placements)
            if slots is None:
                return False
            now = self.clock()
            for (consumer, host_id), slot in zip(placements, slots):
                self._ledger.add(claims.Entry(consumer, host_id,
                                              request.units, request.group,
                                              now))
                live.claim(slot, request.units, request.group)
            return True

    def _admitted(self, version, request, placements):
        # The slots of the placements if they can still be claimed: no
        # consumer holds a claim, no chosen host changed since *version*,
        # each host has room for its placements and the group policy holds.
        live = self._live
        self._check_consumers([consumer for consumer, _ in placements])
        slots = [live.slot_of(host_id) for _, host_id in placements]
        if None in slots or any(live.row(slot).stamp > version
                                for slot in slots):
            return None
        if not all(live.fits(slot, request.units, times) for slot, times
                   in collections.Counter(slots).items()):
            return None
        if request.group_policy is not None and not _policy_holds(
                request.group_policy, live.members(request.group), slots):
            return None
        return slots

    def _check_consumers(self, consumers):
        held = [consumer for consumer in consumers
                if consumer in self._ledger]
        if held:
            raise exceptions.InvalidRequest(
                'consumer ' + ', '.join(map(repr, held)) + ' already '
                'holds a claim; a consumer id names one container')

    def _track(self, reports, kept):
        # Add or replace the hosts, with the groups *kept* for each; a host
        # added holds the ledger's claims on it. Only a shared store's copy
        # has claims on hosts it does not track: one made elsewhere that
        # arrived before its host's report, or one that outlives its host's
        # report (expired or removed).
        live = self._live
        new = [host_id for host_id in reports.ids
               if live.slot_of(host_id) is None]
        live.update(reports, kept)
        for host_id, groups in zip(reports.ids, kept):
            if groups:
                self._kept[host_id] = groups
            else:
                self._kept.pop(host_id, None)
        for host_id in new:
            slot = live.slot_of(host_id)
            for consumer in self._ledger.of_host(host_id):
                entry = self._ledger[consumer]
                live.claim(slot, entry.needs, entry.group)

    def _drop(self, consumer):
        # End the claim of *consumer*; whether there was one.
        entry = self._ledger.pop(consumer)
        if entry is None:
            return False
        slot = self._live.slot_of(entry.host)
        if slot is not None:
            self._live.claim(slot, entry.needs, entry.group, sign=-1)
        return True

    def _expire(self):
        entry = self._ledger.oldest()
        if entry is None:
            return
        timeout = self.conf.scheduler.claim_timeout
        if not timeout:
            return
        deadline = self.clock() - timeout
        while entry is not None and entry.made <= deadline:
            self._drop(entry.consumer)
            claims.log_expired(entry, timeout)
            entry = self._ledger.oldest()


def _policy_holds(policy, members, slots):
    # Whether placing on *slots* keeps the group *policy*, given the slots
    # already running (or claimed for) the group.
    if policy == 'anti-affinity':
        return not any(slot in members for slot in slots)
    if members:
        return all(slot in members for slot in slots)
    return len(set(slots)) == 1


def load(conf):
    """Build the store ``[scheduler] host_store`` names, from its entry point.

    :raises DriverNotFound: no store of that name is installed.
    :raises DriverLoadError: it fails to import or to build, or several
        distributions register its name.
    """
    name = conf.scheduler.host_store
    where = sora_conf.setting(conf, 'scheduler', 'host_store')

    def failed(manager, entry_point, error):
        raise plugins.load_error(f'{where}: ', conf, NAMESPACE, name,
                                 entry_point.value, error) from error

    try:
        manager = driver.DriverManager(
            NAMESPACE, name, invoke_on_load=True, invoke_kwds={'conf': conf},
            on_load_failure_callback=failed)
    except stevedore_exception.NoMatches:
        installed = {entry_point.name for entry_point in
                     importlib.metadata.entry_points(group=NAMESPACE)}
        error = exceptions.DriverNotFound(NAMESPACE, name, installed)
        error.args = (f'{where}: {error}',)
        raise error from None
    except stevedore_exception.MultipleMatches as error:
        raise exceptions.DriverLoadError(
            f'{where}: host store name {name!r} is registered more than '
            f'once: {error}') from None
    return checked(manager.driver, f'{where}: {NAMESPACE} plugin {name!r}')


def checked(store, what):
    """Return *store* if it is a :class:`HostStore` that was set up as one.

    :param what: how messages name it.
    :raises DriverLoadError: it is not a store, or its ``__init__`` did not
        call :meth:`HostStore.__init__` (which makes its ``turn``).
    """
    if not isinstance(store, HostStore):
        raise exceptions.DriverLoadError(
            f'{what} is not a sora.scheduler.host_store.HostStore')
    if not hasattr(store, 'turn'):
        raise exceptions.DriverLoadError(
            f'{what} did not call HostStore.__init__ (super().__init__(conf, '
            'clock)), which sets up its conf, clock and turn')
    return store
