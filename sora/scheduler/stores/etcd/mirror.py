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

"""A manager's copy of what etcd holds, kept current by a watch.

:class:`Mirror` lists ``claims/``, ``disabled/`` (hosts an operator
disabled) and ``hosts/`` under the prefix, and the ``format`` key, into a
:class:`~sora.scheduler.stores.etcd.replica.Replica`, then follows them
with one watch from a thread of its own, and applies this manager's own
writes at once. A report settles the claims made before it, by revisions,
in every copy alike; the watch thread deletes from etcd the settled claims
the report's writer had not seen (a sweep).
Reads never write. etcd's history going back (restarted empty, restored,
compacted past the watch) makes it list again.
"""

import threading

from oslo_log import log as logging

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import metrics
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import records
from sora.scheduler.stores.etcd import replica
from sora.scheduler.stores.etcd import sweep
from sora.scheduler.stores.etcd import watch as etcd_watch

LOG = logging.getLogger(__name__)


class Mirror:
    """The hosts and claims under a prefix, as of :attr:`revision`.

    :param client: the :class:`~client.Client`.
    :param keys: the deployment's :class:`~codec.Keys`.
    :param clock: seconds since the epoch, for claim ages.
    :param most: the most operations of one transaction (``max_txn_ops``).
    :raises StoreUnavailable: etcd does not answer the first listing.
    """

    def __init__(self, client, keys, clock, most):
        self.client, self.keys, self.clock, self.most = client, keys, clock, \
            most
        self.followed = (keys('claims', ''),
                         ops.prefix_end(keys('hosts', '')))
        self.changed = threading.Condition()
        self.mine = {}  # {consumer: claim_timeout} of claims made here
        self.metrics = client.metrics
        self.error = None
        self._watch = None
        self._listing = None  # own writes made while a listing runs
        self._closed = threading.Event()
        self._list()
        self._thread = threading.Thread(
            target=self._follow, name='sora-etcd-watch', daemon=True)
        self._thread.start()

    def close(self):
        """Stop following etcd."""
        self._closed.set()
        watch = self._watch
        if watch is not None:
            watch.close()
        self._thread.join(timeout=self.client.timeout + 1)

    def check_open(self):
        """Fail once closed.

        :raises StoreUnavailable: saying so.
        """
        if self._closed.is_set():
            raise exceptions.StoreUnavailable('the etcd host store is closed')

    def ready(self):
        """Fail as the watch does while etcd is away, or once closed.

        :raises StoreUnavailable: saying why.
        """
        self.check_open()
        if self.error is not None:
            raise self.error

    @property
    def hosts(self):
        """The :class:`~sora.scheduler.stores.tracked.TrackedHosts` now."""
        return self._copy.hosts

    def view(self):
        """Return ``(TrackedHosts, revision)`` a decision may run on."""
        with self.changed:
            return self._copy.hosts, self.revision

    def report_of(self, host_id):
        """Return the :class:`codec.Report` of *host_id*, or None."""
        with self.changed:
            return self._copy.reports.get(host_id)

    def claim_of(self, consumer):
        """Return ``(claims.Entry, created revision)`` of a claim, or None.

        The outstanding claim of *consumer* in this copy.
        """
        with self.changed:
            return self._copy.claim_of(consumer)

    def settled_at(self, consumer):
        """Return the create revision of a settled claim still in etcd.

        That of *consumer*, or None.
        """
        return self._copy.settled.created(consumer)

    def held(self, host_id):
        """Return ``[(consumer, created revision)]`` of claims on a host."""
        with self.changed:
            return self._copy.held(host_id)

    def settled_by(self, host_id, listed=()):
        """Return ``[(consumer, created revision)]`` a host's reports settled.

        See :meth:`~sweep.Settled.of_host`.
        """
        with self.changed:
            return self._copy.settled.of_host(host_id, listed)

    def unchanged(self, key, revision):
        """Return a comparison: *key* holds what a view at *revision* knows.

        See :meth:`~replica.Replica.unchanged`.
        """
        with self.changed:
            return self._copy.unchanged(key, revision)

    # Applying this manager's own writes

    def own(self, revision, change, keys=()):
        """Apply this manager's write of *keys*, made at *revision*, at once.

        ``change(replica)`` applies it, unless the watch has already applied
        it, and maybe what followed it (another manager's release or newer
        report). A listing under way may have read etcd before the write:
        *change* is applied again to its copy, so it must hold no variable
        its caller changes later.
        """
        with self.changed:
            _replay(self._copy, self.revision, revision, change, keys)
            if self._listing is not None:
                self._listing.append((revision, change, keys))

    def catch_up(self, revision, gone=()):
        """Wait until this copy has seen *revision*, or lost *gone* hosts.

        Their deletes may be older than *revision*, the newest in all etcd:
        so that a decision made again sees what beat the last one.
        """
        def seen():
            return self.revision >= revision or gone and not any(
                map(self._copy.hosts.tracks, gone))

        with self.changed:
            self.changed.wait_for(seen, timeout=self.client.timeout)

    def wait_listed(self):
        """Wait until the watch thread has listed etcd again.

        After an error or :meth:`history_lost`; at most the timeout.
        """
        with self.changed:
            self.changed.wait_for(lambda: self.error is None,
                                  timeout=self.client.timeout)

    def lag(self):
        """Return ``(revisions, seconds)`` this copy lags etcd.

        See :meth:`~lag.Revisions.lag`.
        """
        return self.client.revisions.lag(self.revision)

    def released(self, consumers):
        """Count the claims of *consumers* made here as released.

        Consumers taken from :attr:`mine` by the caller before it deleted
        their claims (so that the watch counts none of them).
        """
        self.metrics.count(metrics.CLAIM_EVENTS_TOTAL, 'released',
                           amount=len(consumers))

    def history_lost(self, reason):
        """Fail until the watch thread has listed etcd again."""
        self.error = exceptions.StoreUnavailable(
            f'{reason} (restarted empty, or restored from a snapshot); '
            'listing it again')
        LOG.warning('%s', self.error)
        watch = self._watch
        if watch is not None:
            watch.close()

    # Following etcd

    def _list(self):
        # Reading 100,000 reports allocates millions of objects: CPython's
        # collector, run every few thousand of them over all the objects
        # it tracks, would take half the time, and frees nothing here.
        with records.collector_paused():
            self._read_all()

    def _read_all(self):
        # Build the new copy first; swap it in under the lock at once, so
        # that decisions and writes wait for no listing. This manager's
        # writes made meanwhile go into it as they went into the old one:
        # else a decision right after one would not see it.
        with self.changed:
            self._listing = []
        try:
            copy, cluster, revision = self._read_copy()
        except BaseException:
            with self.changed:
                self._listing = None
            raise
        with self.changed:
            made, self._listing = self._listing, None
            for written, change, keys in sorted(made, key=lambda own: own[0]):
                _replay(copy, revision, written, change, keys)
            self._copy, self._cluster, self.revision = copy, cluster, revision
            self.client.revisions.listed(revision)
            self.changed.notify_all()

    def _read_copy(self):
        # Return (Replica, cluster id, revision) of all that is followed.
        copy = replica.Replica(
            sweep.Settled(self.client, self.keys, self.most), self.clock,
            self._settled)
        cluster, revision = records.list_into(copy, self.client, self.keys,
                                              self.followed)
        return copy, cluster, revision

    def _follow(self):
        # List etcd again after an outage or when its history no longer
        # continues this copy's (compacted, restarted, restored), and watch
        # from the listing: a watch from the old revision would show nothing
        # of a new etcd's until its revision passed the old one.
        delay, relist = 0.1, False
        while not self._closed.is_set():
            try:
                if relist or self.error is not None:
                    self._list()
                    self.metrics.count(metrics.RELISTS)
                    with self.changed:
                        if self.error is not None:
                            LOG.info('etcd at %s answers again',
                                     ', '.join(self.client.endpoints))
                        self.error, relist, delay = None, False, 0.1
                        self.changed.notify_all()
                self._copy.settled.sweep()
                if self._watch is not None:
                    self.metrics.count(metrics.WATCH_RESTARTS)
                # A stream quiet for timeout seconds is opened again: an
                # etcd that stopped answering is noticed within twice that.
                self._watch = etcd_watch.Watch(
                    self.client, self.followed[0], self.revision + 1,
                    self.followed[1], self.client.timeout, self._cluster)
                for events in self._watch:
                    self._apply(events)
                    if self._copy.settled:
                        self._copy.settled.sweep()
            except etcd_watch.HistoryLost as lost:
                LOG.warning('Listing etcd again: %s', lost)
                relist = True
            except Exception as error:  # the watch must outlive any fault
                if self._closed.is_set():
                    return
                if not isinstance(error, exceptions.StoreUnavailable):
                    LOG.exception('The etcd watch failed')
                    error = exceptions.StoreUnavailable(
                        f'etcd at {", ".join(self.client.endpoints)}: the '
                        f'watch failed: {type(error).__name__}: {error}')
                if self.error is None:
                    LOG.error('Lost etcd: %s; retrying', error)
                self.error = error
                self._closed.wait(delay)
                delay = min(delay * 2, 5.0)

    def _apply(self, events):
        # The events of one or more whole revisions, in order. A key
        # written over with what is no Sora value is gone, as for _list.
        reports = 0
        with self.changed:
            copy = self._copy
            for event in events:
                kv = event.kv
                if kv.key == self.keys.format:
                    if not event.deleted:
                        records.check_format(self.keys, kv.value)
                    continue
                kind, name, held = records.read(self.keys, kv, event.deleted)
                if kind == 'hosts' and held is None:
                    copy.drop_host(name, 0 if event.deleted else
                                   kv.mod_revision)
                elif kind == 'hosts':
                    copy.report(held[0], [held[1]],
                                [(kv.lease, kv.mod_revision)], [held[2]])
                    reports += 1
                elif kind == 'disabled':
                    copy.hosts.disable(name, held)
                elif kind == 'claims' and held is None:
                    self._ended(name, event.deleted)
                elif kind == 'claims':
                    copy.record([(name, held, kv.create_revision)])
            self.revision = events[-1].kv.mod_revision
            self.changed.notify_all()
        self.metrics.count(metrics.WATCH_EVENTS, amount=len(events))
        self.metrics.count(metrics.REPORTS_APPLIED, amount=reports)

    def _settled(self, consumer):
        # A report settled the claim of *consumer*: count it if made here.
        if self.mine.pop(consumer, None) is not None:
            self.metrics.count(metrics.CLAIM_EVENTS_TOTAL, 'settled')

    def _ended(self, consumer, deleted):
        # The claim of *consumer* is gone from etcd: if it was made here and
        # not settled, it expired (log it) if old enough, else another
        # scheduler released it (or removed its host).
        timeout = self.mine.pop(consumer, None)
        entry = self._copy.hosts.entry(consumer)
        if timeout is not None and entry is not None:
            expired = deleted and timeout and \
                self.clock() - entry.made >= timeout
            if expired:
                claims.log_expired(entry, timeout)
            self.metrics.count(metrics.CLAIM_EVENTS_TOTAL,
                               'expired' if expired else 'released')
        self._copy.forget(consumer)


def _replay(copy, seen, revision, change, keys):
    # Apply a write of this manager's, made at *revision*, to *copy* (which
    # has seen *seen*), unless the copy holds it already.
    if seen < revision:
        change(copy)
    copy.wrote(keys, revision, seen)
