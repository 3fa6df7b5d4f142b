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

:class:`Mirror` lists ``claims/`` and ``hosts/`` under the prefix into a
:class:`~sora.scheduler.stores.tracked.TrackedHosts`, then follows them
with one watch from a thread of its own. A report settles the claims made
before it, by revisions, in every copy alike; the watch thread deletes
from etcd the settled claims the report's writer had not seen (a sweep).
Reads never write. etcd's history going back (restarted empty, restored,
compacted past the watch) makes it list again.
"""

import contextlib
import gc
import threading

from oslo_log import log as logging

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import reports as sora_reports
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import sweep
from sora.scheduler.stores.etcd import watch as etcd_watch
from sora.scheduler.stores import tracked
from sora.scheduler import validate

LOG = logging.getLogger(__name__)

WRITTEN = 4096
"""How many keys this manager wrote before those the watch has passed are
forgotten."""


class _Copy:
    """One listing of etcd and what followed: the state a mirror swaps."""

    def __init__(self, settled):
        self.hosts = tracked.TrackedHosts()
        self.created = {}   # {consumer: revision that created its claim}
        self.reports = {}   # {host id: codec.Report of its key}
        self.settled = settled
        self.written = {}   # {key: revision this manager last wrote it at}


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
        self.error = None
        self._watch = None
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
            entry = self._copy.hosts.entry(consumer)
            return None if entry is None else (
                entry, self._copy.created.get(consumer, 0))

    def settled_at(self, consumer):
        """Return the create revision of a settled claim still in etcd.

        That of *consumer*, or None.
        """
        return self._copy.settled.created(consumer)

    def held(self, host_id):
        """Return ``[(consumer, created revision)]`` of claims on a host."""
        with self.changed:
            return [(consumer, self._copy.created.get(consumer, 0))
                    for consumer in self._copy.hosts.of_host(host_id)]

    # Applying this manager's own writes

    def own(self, revision, change):
        """Apply this manager's write, made at *revision*, at once.

        Unless the watch has already applied it, and maybe what followed
        it (another manager's release or newer report).
        """
        with self.changed:
            if self.revision < revision:
                change()

    def wrote(self, keys, revision):
        """Note that this manager wrote *keys* at *revision*."""
        with self.changed:
            written = self._copy.written
            if len(written) > WRITTEN:
                self._copy.written = written = {
                    key: at for key, at in written.items()
                    if at > self.revision}
            for key in keys:
                written[key] = max(revision, written.get(key, 0))

    def unchanged(self, key, revision):
        """Return a comparison: *key* holds what a view at *revision* knows.

        It was not written since *revision*, or was last written by this
        manager (whose writes its copy holds at once) and not since.
        """
        with self.changed:
            written = self._copy.written.get(key, 0)
        if written > revision:
            return ops.modified_at(key, written)
        return ops.unchanged_since(key, revision)

    def record(self, made, copy=None):
        """Add claims ``[(consumer, claims.Entry, created revision)]``."""
        copy = copy or self._copy
        for consumer, entry, created in made:
            copy.hosts.claim(entry._replace(made=min(entry.made,
                                                     self.clock())))
            copy.created[consumer] = created

    def reported(self, reports, members, deleted, lease, revision):
        """Apply this manager's reports and the deletes of their claims.

        Written with *lease* at *revision*, with their *members*.
        """
        for consumer in deleted:
            self.forget(consumer)
        self._report(reports, members, [(lease, revision)] * len(reports))

    def removed(self, host_id, held):
        """Apply the removal of a host and of the claims *held* on it."""
        self._copy.hosts.remove(host_id)
        self._copy.reports.pop(host_id, None)
        self.forget_held(held)

    def forget_held(self, held):
        """Forget the claims ``[(consumer, created)]`` still those."""
        for consumer, created in held:
            if self._copy.created.get(consumer) == created:
                self.forget(consumer)

    def forget(self, consumer):
        """Forget the claim of *consumer*, if any."""
        self._copy.hosts.drop(consumer)
        self._copy.created.pop(consumer, None)
        self._copy.settled.forget(consumer)

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
        with _collector_paused():
            self._read_all()

    def _read_all(self):
        # Build the new copy first; swap it in under the lock at once, so
        # that decisions and writes wait for no listing.
        cluster, _ = self.client.header()
        revision, found = self.client.range(*self.followed)
        copy = _Copy(sweep.Settled(self.client, self.keys, self.most))
        hosts, members, keys, foreign = [], [], [], {}
        for item in sorted(found, key=lambda item: item.create_revision):
            kind, name, held = self._read(item)
            if kind == 'hosts' and held is None:
                foreign[name] = item.mod_revision
            elif kind == 'hosts':
                hosts.append(held[0])
                members.append(held[1])
                keys.append((item.lease, item.mod_revision))
            elif held is not None:
                self.record([(name, held, item.create_revision)], copy)
        self._report(sora_reports.Reports.joined(hosts), members, keys, copy)
        for name, written in foreign.items():
            self._drop_host(name, written, copy)
        with self.changed:
            self._copy, self._cluster, self.revision = copy, cluster, revision
            self.changed.notify_all()

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
                    with self.changed:
                        if self.error is not None:
                            LOG.info('etcd at %s answers again',
                                     ', '.join(self.client.endpoints))
                        self.error, relist, delay = None, False, 0.1
                        self.changed.notify_all()
                self._copy.settled.sweep()
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
        with self.changed:
            for event in events:
                kv = event.kv
                kind, name, held = self._read(kv, event.deleted)
                if kind == 'hosts' and held is None:
                    self._drop_host(name, 0 if event.deleted else
                                    kv.mod_revision)
                elif kind == 'hosts':
                    self._report(held[0], [held[1]],
                                 [(kv.lease, kv.mod_revision)])
                elif kind == 'claims' and held is None:
                    self._ended(name, event.deleted)
                elif kind == 'claims':
                    self.record([(name, held, kv.create_revision)])
            self.revision = events[-1].kv.mod_revision
            self.changed.notify_all()

    def _read(self, kv, deleted=False):
        # (kind, name, held) of a followed key: kind None for a key that is
        # not Sora's; held None for one deleted or holding no Sora report or
        # claim (logged), else (Reports, members) or a claims.Entry.
        kind, name = self.keys.name(kv.key)
        if name is None or kind not in ('hosts', 'claims'):
            return None, name, None
        if deleted:
            return kind, name, None
        try:
            value = codec.loads(kv.value)
            return kind, name, (codec.decode_report(name, value)
                                if kind == 'hosts'
                                else codec.decode_claim(name, value))
        except codec.FOREIGN as error:
            LOG.warning('Ignoring etcd key %(key)s: it holds no Sora '
                        '%(what)s (%(error)s: %(detail)s)',
                        {'key': validate.shown(kv.key),
                         'what': 'node report' if kind == 'hosts' else 'claim',
                         'error': type(error).__name__, 'detail': error})
        return kind, name, None

    def _report(self, reports, members, keys, copy=None):
        # Add or replace hosts whose report keys have *keys* [(lease, mod
        # revision)]. A report settles the claims of the consumers it lists
        # made before it; those with a group its members lack are deleted
        # only with a rewrite of the report that adds it (see sweep).
        copy = copy or self._copy
        settled = []
        for consumers, (_, revision) in zip(reports.consumers, keys):
            settled.append({})
            for consumer in consumers:
                entry = copy.hosts.entry(consumer)
                if entry is not None and \
                        copy.created[consumer] < revision:
                    settled[-1][consumer] = entry.group
        copy.hosts.report(reports, settled, [
            {**stored, **copy.settled.unrecorded(host_id)}
            for host_id, stored in zip(reports.ids, members)])
        for i, host_id in enumerate(reports.ids):
            copy.reports[host_id] = codec.Report(
                *keys[i], reports.groups[i], members[i])
            for consumer, group in settled[i].items():
                copy.settled.add(
                    consumer, copy.created.pop(consumer), host_id,
                    None if consumer in members[i] else group)

    def _drop_host(self, host_id, written, copy=None):
        # A host whose report key is gone (*written* 0) or holds no report
        # (written at that revision, which its next report must replace).
        copy = copy or self._copy
        copy.hosts.remove(host_id)
        if written:
            copy.reports[host_id] = codec.Report(0, written, (), {})
        else:
            copy.reports.pop(host_id, None)

    def _ended(self, consumer, deleted):
        # The claim of *consumer* is gone from etcd: log it if it was made
        # here, not settled, and old enough to have expired.
        timeout = self.mine.pop(consumer, None)
        entry = self._copy.hosts.entry(consumer)
        if deleted and timeout and entry is not None and \
                self.clock() - entry.made >= timeout:
            claims.log_expired(entry, timeout)
        self.forget(consumer)


@contextlib.contextmanager
def _collector_paused():
    # Pause the cyclic garbage collector, unless the process has.
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
