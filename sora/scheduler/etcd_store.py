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

"""The ``etcd`` host store: node reports and claims shared through etcd.

Every manager configured with it sees the same hosts and claims. Under
``[etcd] prefix`` etcd holds:

``hosts/<host id>``
    a node report (JSON, amounts in whole units), with a lease when
    ``[etcd] host_ttl`` is set;
``claims/<consumer>``
    a claim: host, amounts, group and when it was made (Unix time);
``versions-of-hosts/<host id>`` and ``versions-of-groups/<group>``
    empty keys every claim on the host (in the group) rewrites, and a
    report that adds the group to its host, so that a claim commits only
    if nothing it relied on changed. Managers watch
    ``claims/`` and ``hosts/`` only: these keys cost no watch traffic. A
    host's version key has its report's lease: it goes when the report
    expires.

Each manager mirrors the hosts and claims in an in-process store, kept
current by a watch, and decides on it at in-process speed. A decision made
on the mirror as of etcd revision R commits with one transaction that
succeeds only if none of its consumers holds a claim and no chosen host's
report or version key, nor the group's, was written after R; otherwise it
is made again once the mirror has caught up. A report commits only if the
manager knew the host's last report (so it knows which groups it adds);
otherwise it is written again on what etcd holds, read by the transaction
that failed.
"""

import collections
import json
import math
import random
import threading
import time
import types

from oslo_log import log as logging

from sora.scheduler import claims
from sora.scheduler import etcd_client
from sora.scheduler import etcd_leases
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import host_store
from sora.scheduler import host_table
from sora.scheduler import units
from sora.scheduler import validate

LOG = logging.getLogger(__name__)

MAX_BYTES = 1 << 20
"""The most bytes of reports (or claims) Sora writes in one transaction:
etcd refuses a request over ``--max-request-bytes``, 1.5 MiB by default."""


Report = collections.namedtuple('Report', 'lease revision groups members')
"""What a mirror knows of a host's report key: its lease (0 for none), the
revision that wrote it, the groups it lists and its ``members``, the
groups kept for the placed containers it lists (:func:`claims.groups_kept`).
"""


class _Mirror(host_store.MemoryHostStore):
    """The in-process copy of what etcd holds; etcd decides expiry.

    It holds every claim etcd holds, those on hosts it does not track
    included (a claim can arrive before its host's report, and outlives a
    report that expired): they count as soon as their host is reported.
    """

    def __init__(self, conf, clock):
        super().__init__(conf, clock)
        self._reports = {}  # {host id: Report of its key}

    def _expire(self):
        pass  # claims expire when the shared store deletes them

    def report(self, reports, members, keys, created):
        """Add or replace hosts; return the claims they settle.

        *members* has each report's stored ``members``; *keys* maps each
        host id to ``(lease, mod revision)`` of its report's key; *created*
        each consumer to the revision that created its claim. A report
        settles the claims of the consumers it lists that were made before
        it (whatever order this copy learnt of the two in). Returns
        ``[(consumer, host id)]`` of those; they stay until the store
        forgets them.
        """
        with self._lock:
            settled, kept = [], []
            for host_id, consumers, stored in zip(
                    reports.ids, reports.consumers, members):
                revision = keys[host_id][1]
                groups = {consumer: self._ledger[consumer].group
                          for consumer in consumers
                          if consumer in self._ledger and
                          created.get(consumer, revision) < revision}
                settled += [(consumer, host_id) for consumer in groups]
                kept.append(claims.groups_kept(consumers, {
                    **self._kept.get(host_id, {}), **stored}, groups))
            self._track(reports, kept)
            for host_id, groups, stored in zip(reports.ids, reports.groups,
                                               members):
                self._reports[host_id] = Report(*keys[host_id], groups,
                                                stored)
            return settled

    def kept(self, host_id):
        """Return ``{consumer: group}`` kept for *host_id*'s last report."""
        with self._lock:
            return dict(self._kept.get(host_id, {}))

    def record(self, entry):
        """Add a claim made by any manager (once per consumer).

        One made "later" than this clock says (its maker's clock is ahead)
        counts as made now: claims expire in the order they arrive, and
        it would hold back the expiry of every claim after it.
        """
        with self._lock:
            if entry.consumer in self._ledger:
                return
            entry = entry._replace(made=min(entry.made, self.clock()))
            self._ledger.add(entry)
            slot = self._live.slot_of(entry.host)
            if slot is not None:
                self._live.claim(slot, entry.needs, entry.group)

    def forget(self, consumer):
        """Drop the claim of *consumer*, if there is one."""
        with self._lock:
            self._drop(consumer)

    def drop_host(self, host_id, written=0):
        """Forget a host, if it is tracked; its claims stay until etcd's go.

        *written*: the revision that wrote its key over with what is no
        report, kept so that the next report of the host can replace it.
        """
        with self._lock:
            if self._live.slot_of(host_id) is not None:
                self._live.remove(host_id)
            self._kept.pop(host_id, None)
            if written:
                self._reports[host_id] = Report(0, written, (), {})
            else:
                self._reports.pop(host_id, None)

    def report_of(self, host_id):
        """Return the :class:`Report` of *host_id*, or None."""
        with self._lock:
            return self._reports.get(host_id)

    def holds(self, consumer):
        """Whether *consumer* holds a claim here."""
        with self._lock:
            return consumer in self._ledger

    def entry(self, consumer):
        """Return the :class:`claims.Entry` of *consumer*, or None."""
        with self._lock:
            return self._ledger[consumer] if consumer in self._ledger \
                else None

    def of_host(self, host_id):
        """Return the consumers holding claims on *host_id*."""
        with self._lock:
            return self._ledger.of_host(host_id)

    def tracks(self, host_id):
        """Whether *host_id* is tracked."""
        with self._lock:
            return self._live.slot_of(host_id) is not None

    def admits(self, version, request, placements):
        """Whether the placements still fit this copy (claiming nothing)."""
        with self._lock:
            return self._admitted(version, request, placements) is not None


class EtcdHostStore(host_store.HostStore):
    """Hosts and claims in etcd, shared by every manager configured alike.

    :param conf: as for :class:`~sora.scheduler.host_store.HostStore`; its
        ``[etcd]`` options say where etcd is.
    :param clock: seconds since the epoch (``time.time``): claim ages are
        compared between machines.
    :raises StoreUnavailable: etcd does not answer at start.
    """

    shared = True

    def __init__(self, conf=None, clock=None):
        super().__init__(conf, time.time if clock is None else clock)
        opts = self.conf.etcd
        self._client = etcd_client.Client(
            opts.endpoints, opts.timeout, opts.ca_file, opts.cert_file,
            opts.key_file)
        self._prefix = opts.prefix.rstrip('/') + '/'
        # What the mirror follows: claims/ and hosts/, not versions-of-*/.
        self._followed = (self._key('claims', ''),
                          etcd_client.prefix_end(self._key('hosts', '')))
        self._changed = threading.Condition()
        self._leases = etcd_leases.Leases(self._client)
        self._mine = {}  # {consumer: claim_timeout} of claims made here
        self._error = None
        self._watch = None
        self._closed = threading.Event()
        self._list()
        self._thread = threading.Thread(
            target=self._follow, name='sora-etcd-watch', daemon=True)
        self._thread.start()

    def close(self):
        """Stop following etcd and close the connections."""
        self._closed.set()
        watch = self._watch
        if watch is not None:
            watch.close()
        self._thread.join(timeout=self._client.timeout + 1)
        self._client.close()

    # Keys

    def _key(self, kind, name):
        # A name holds no "/": a key with one after its kind belongs to a
        # deployment whose prefix is nested in this one.
        return (f'{self._prefix}{kind}/'
                f'{name.replace("%", "%25").replace("/", "%2F")}')

    def _name(self, key):
        # (kind, name) of a followed key; name None if it is not Sora's
        # (Sora's names are text and hold no "/").
        kind, _, name = key[len(self._prefix):].partition('/')
        if not name or '/' in name or not validate.is_text(name):
            return kind, None
        return kind, name.replace('%2F', '/').replace('%25', '%')

    # Reading

    def hosts(self):
        self._ready()
        return self._mirror.hosts()

    def claims(self):
        self._ready()
        return self._mirror.claims()

    def snapshot(self, consumers=()):
        self._ready()
        with self._changed:
            mirror, revision = self._mirror, self._revision
        table, version = mirror.snapshot(consumers)
        return table, (mirror, version, revision)

    def _ready(self):
        # Fail as the watch does while etcd is away.
        self._check_open()
        error = self._error
        if error is not None:
            raise error

    def _history_lost(self, reason):
        # Fail until the watch thread has listed etcd again.
        self._error = exceptions.StoreUnavailable(
            f'{reason} (restarted empty, or restored from a snapshot); '
            'listing it again')
        LOG.warning('%s', self._error)
        watch = self._watch
        if watch is not None:
            watch.close()

    def _check_open(self):
        # Every call but close() fails once the store is closed.
        if self._closed.is_set():
            raise exceptions.StoreUnavailable('the etcd host store is closed')

    def _sweep(self):
        # Delete the claims reports settled that are still in etcd (their
        # writer had not seen them), each only if it is still the one
        # settled; those a failure leaves go at the next sweep. They no
        # longer count anywhere: every manager settles them by revisions.
        with self._changed:
            settled = [(consumer, created) for consumer, created
                       in self._settled.items()
                       if consumer not in self._unrecorded]
            unrecorded = [(consumer, self._settled[consumer], *where)
                          for consumer, where in self._unrecorded.items()]
        most = self.conf.etcd.max_txn_ops - 1  # each nested txn takes one
        try:
            for start in range(0, len(settled), most):
                self._client.txn([], self._claims_deleted(
                    settled[start:start + most]))
            settled += [(consumer, created) for consumer, created, *where
                        in unrecorded if self._recorded(consumer, created,
                                                        *where)]
        except exceptions.StoreUnavailable as error:
            LOG.debug('Settled claims stay in etcd until the next sweep: %s',
                      error)
            return
        with self._changed:
            for consumer, created in settled:
                if self._settled.get(consumer) == created:
                    del self._settled[consumer]  # else settled again since

    def _recorded(self, consumer, created, host_id, group):
        # Delete the settled claim of *consumer* (*group*) together with a
        # rewrite of its host's report that keeps its group among the
        # report's members, if the report still lists it; whether done.
        key, claim = self._key('hosts', host_id), self._key('claims', consumer)
        _, found = self._client.range(key, key + '\0')
        try:
            record = json.loads(found[0].value, parse_int=_bounded_int)
            listed = consumer in _report(host_id, record)[0].consumers[0]
        except (IndexError, *_FOREIGN):
            listed = False
        if not listed:  # the host or the container is gone: nothing to keep
            ops = self._claims_deleted([(consumer, created)])
            return self._client.txn([], ops)[0]
        record['members'] = {**record.get('members', {}), consumer: group}
        done, _, _ = self._client.txn(
            [etcd_client.modified_at(key, found[0].mod_revision),
             etcd_client.created_at(claim, created)],
            [etcd_client.put(key, json.dumps(record).encode(),
                             found[0].lease),
             etcd_client.delete(claim)])
        return done

    # Writing

    def commit(self, version, request, placements):
        mirror, local_version, revision = version
        if mirror is not self._mirror or not mirror.admits(
                local_version, request, placements):
            return False
        made = self.clock()
        timeout = self.conf.scheduler.claim_timeout
        lease = timeout and self._leases.lease(math.ceil(timeout), 1)
        compare, success, failure, values = [], [], [], []
        size = 0  # each consumer's key goes three times, its value once
        for consumer, host_id in placements:
            key = self._key('claims', consumer)
            values.append(json.dumps({
                'host': host_id, 'needs': list(request.units),
                'group': request.group, 'made': made}).encode())
            compare.append(etcd_client.absent(key))
            success.append(etcd_client.put(key, values[-1], lease))
            failure.append(etcd_client.read(key, values=True))
            size += 3 * len(key.encode()) + len(values[-1])
        if size > MAX_BYTES:
            raise exceptions.InvalidRequest(
                f'the claims of this request take {size} bytes in etcd, '
                f'more than one etcd request holds ({MAX_BYTES}): use '
                'shorter consumer ids or group name')
        # What the decision relied on: the chosen hosts' reports, and the
        # claims on them and in the group, which rewrite version keys.
        # A host's version key takes its report's lease (the one the
        # mirror knows: if the report changed, the transaction fails).
        hosts = {host_id: getattr(mirror.report_of(host_id), 'lease', 0)
                 for _, host_id in placements}
        versions = {self._key('versions-of-hosts', host_id): lease
                    for host_id, lease in hosts.items()}
        if request.group is not None:
            versions[self._key('versions-of-groups', request.group)] = 0
        relied = [self._key('hosts', host_id) for host_id in hosts]
        relied += versions
        compare += [etcd_client.present(self._key('hosts', host_id))
                    for host_id in hosts]
        compare += [etcd_client.unchanged_since(key, revision)
                    for key in relied]
        success += [etcd_client.put(key, b'', lease)
                    for key, lease in versions.items()]
        failure += [etcd_client.read(key) for key in relied]
        if len(compare) > self.conf.etcd.max_txn_ops:
            raise exceptions.InvalidRequest(
                f'{len(placements)} placements on {len(hosts)} hosts make '
                f'{len(compare)} comparisons in one etcd transaction, more '
                'than [etcd] max_txn_ops = '
                f'{self.conf.etcd.max_txn_ops} (etcd\'s --max-txn-ops): '
                'place fewer at a time, or raise both')
        try:
            done, now, found = self._client.txn(compare, success, failure)
        except etcd_client.LeaseNotFound:
            self._leases.forget()  # etcd lost it: decide again, with another
            return False
        held = found[:len(placements)]
        if not done and all(kvs and kvs[0].value == value
                            for kvs, value in zip(held, values)):
            # This very transaction, sent again after its answer was lost.
            done, now = True, held[0][0].mod_revision
        if done and now <= revision:
            # etcd's history went back under this view (restarted empty, or
            # restored from a snapshot): undo the claims made on it.
            self._client.txn([], self._claims_deleted(
                [(consumer, now) for consumer, _ in placements]))
            self._history_lost(f'etcd\'s revision went back from {revision} '
                               f'to {now}')
            return False
        if done:
            self._mine.update(dict.fromkeys(
                (consumer for consumer, _ in placements), timeout))
            self._own(now, lambda: self._record(
                [(consumer, claims.Entry(consumer, host_id, request.units,
                                         request.group, made), now)
                 for consumer, host_id in placements]))
            return True
        taken = [consumer for (consumer, _), kvs in zip(placements, held)
                 if kvs and kvs[0].create_revision != self._settled.get(
                     consumer)]
        if taken:
            raise exceptions.InvalidRequest(
                'consumer ' + ', '.join(map(repr, taken)) + ' already '
                'holds a claim; a consumer id names one container')
        if any(held):  # settled claims still in etcd: gone, decide again
            self._sweep()
            return False
        # Decide again once the mirror has seen what beat this decision:
        # the newest write to what it relied on, or all that came before
        # if a chosen host was removed (its key is gone).
        relied_found = found[len(placements):]
        gone = [host_id for host_id, kvs in zip(hosts, relied_found) if
                not kvs]
        self._catch_up(now if gone else max(
            kv.mod_revision for kvs in relied_found for kv in kvs), gone)
        return False

    def update(self, reports):
        # Each part commits only if this manager knew the last report of
        # each of its hosts: so it knows which groups a report adds to its
        # host, and rewrites their version keys, as a claim in them does.
        self._check_open()
        records = [self._stored_report(reports, i)
                   for i in range(len(reports))]
        start = 0
        try:
            while start < len(reports):
                start = self._update_part(reports, records, start)
        except exceptions.StoreUnavailable as error:
            if not start:
                raise
            raise exceptions.StoreUnavailable(
                f'{error}; the reports of the first {start} of '
                f'{len(reports)} hosts were stored: report the rest again'
            ) from None

    def _stored_report(self, reports, i):
        # The stored form of report *i* as a mapping (its members are added
        # when it is written) and its size, refused if it cannot be stored.
        record = {
            'amounts': {name: column[i] for name, column in
                        reports.amounts.items()},
            'containers': reports.containers[i],
            'enabled': reports.enabled[i],
            'labels': dict(reports.labels[i]),
            'groups': list(reports.groups[i]),
            'consumers': list(reports.consumers[i])}
        # Its key goes three times: put, compared, read if that fails.
        size = len(json.dumps(record).encode()) + 3 * len(
            self._key('hosts', reports.ids[i]).encode())
        if size > MAX_BYTES:
            raise exceptions.InvalidHostData(
                f'host {i} (id {reports.ids[i]!r:.60}): its report takes '
                f'{size} bytes in etcd, more than one etcd request holds '
                f'({MAX_BYTES}): report a shorter id, or fewer or shorter '
                'labels, groups or consumers')
        return record, size

    def _update_part(self, reports, records, start):
        # Store the reports from *start* on that one transaction holds;
        # return where the next part starts.
        most = self.conf.etcd.max_txn_ops
        known = {}  # {host id: Report read from etcd, or None: no report}
        hosts = most  # a part that failed is halved: one of its hosts beat it
        for attempt in range(host_store.ATTEMPTS):
            lease = self._host_lease()
            end, compare, ops, deleted, groups = start, [], [], [], set()
            size, late, members = 0, [], []
            while end < len(reports) and len(compare) < hosts:
                record, record_size = records[end]
                host_compare, host_ops, host_deleted, added, kept = \
                    self._report_ops(reports, record, end, lease, known)
                record_size += len(json.dumps(kept))
                added = sorted(added - groups)
                if ops and (len(ops) + len(host_ops) + len(added) > most or
                            size + record_size > MAX_BYTES):
                    break
                # A report alone that adds more groups than the transaction
                # holds rewrites the rest of their keys just before it: a
                # manager that has seen the report has seen them all.
                room = most - len(host_ops)
                late += added[room:]
                added = added[:room]
                compare.append(host_compare)
                ops += host_ops + self._group_versions(added)
                deleted += host_deleted
                members.append(kept)
                groups.update(added)
                size += record_size
                end += 1
            for first in range(0, len(late), most):
                self._client.txn([], self._group_versions(
                    late[first:first + most]))
            keys = [self._key('hosts', host_id)
                    for host_id in reports.ids[start:end]]
            try:
                done, now, found = self._client.txn(
                    compare, ops, [etcd_client.read(key, values=True)
                                   for key in keys])
            except etcd_client.LeaseNotFound:
                self._leases.forget()  # etcd lost it: at once, another
                continue
            if done:
                part = reports.part(start, end)
                self._own(now, lambda: self._reported(
                    part, members, deleted, lease, now))
                return end
            # Another manager wrote or removed some of these reports: go
            # again, at once, on what etcd holds now.
            for host_id, kvs in zip(reports.ids[start:], found):
                known[host_id] = _stored(kvs[0]) if kvs else None
            hosts = max(1, len(compare) // 2)
            time.sleep(random.uniform(0, host_store.BACKOFF * 2 ** attempt))
        raise exceptions.StoreUnavailable(
            f'could not store the report of host {reports.ids[start]!r}: '
            f'other reports of it kept being written '
            f'{host_store.ATTEMPTS} times in a row')

    def _group_versions(self, groups):
        # The operations rewriting the version keys of *groups*.
        return [etcd_client.put(self._key('versions-of-groups', group), b'')
                for group in groups]

    def _report_ops(self, reports, record, i, lease, read):
        # The comparison and operations storing report *i*, the consumers
        # whose claims they delete (those this manager knows of, as many as
        # fit in one transaction beside the groups' keys: the store deletes
        # the rest later), the groups it adds to its host and its members
        # (claims.groups_kept). *read* has the reports read from etcd since
        # the mirror's.
        host_id, consumers = reports.ids[i], reports.consumers[i]
        key = self._key('hosts', host_id)
        known = read[host_id] if host_id in read else \
            self._mirror.report_of(host_id)
        held = {consumer: entry.group for consumer, entry in (
            (consumer, self._mirror.entry(consumer))
            for consumer in consumers) if entry is not None}
        members = claims.groups_kept(consumers, {
            **self._mirror.kept(host_id),
            **(known.members if known else {})}, held)
        added = (set(reports.groups[i]) | set(members.values())) - (
            set(known.groups) | set(known.members.values()) if known
            else set())
        deleted = list(held)[
            :max(0, self.conf.etcd.max_txn_ops - 1 - len(added))]
        record = json.dumps(dict(record, members=members)).encode()
        ops = [etcd_client.put(key, record, lease)]
        ops += [etcd_client.delete(self._key('claims', consumer))
                for consumer in deleted]
        if known is None:
            return etcd_client.absent(key), ops, deleted, added, members
        return (etcd_client.modified_at(key, known.revision), ops, deleted,
                added, members)

    def remove(self, host_id):
        # Every claim on the host rewrites its version key: if that is not
        # newer than the mirror, the mirror knows every claim to delete.
        # Each is deleted only if it is the claim the mirror knows (its
        # consumer may have been released and claimed again elsewhere);
        # those one transaction cannot hold go after the host, in more.
        self._check_open()
        version = self._key('versions-of-hosts', host_id)
        # etcd gives a nested transaction what the outer one leaves of
        # max_txn_ops: each needs one.
        most = self.conf.etcd.max_txn_ops - 1
        room = most - 2
        for _ in range(host_store.ATTEMPTS):
            with self._changed:
                if not self._mirror.tracks(host_id):
                    raise exceptions.InvalidRequest(
                        f'no host has id {host_id!r}')
                revision = self._revision
                held = [(consumer, self._created.get(consumer, 0))
                        for consumer in self._mirror.of_host(host_id)]
            ops = [etcd_client.delete(self._key('hosts', host_id)),
                   etcd_client.delete(version)]
            done, now, found = self._client.txn(
                [etcd_client.unchanged_since(version, revision)],
                ops + self._claims_deleted(held[:room]),
                [etcd_client.read(version)])
            if done:
                self._own(now, lambda: self._removed(host_id, held[:room]))
                break
            self._catch_up(found[0][0].mod_revision if found[0] else now)
        else:
            raise exceptions.StoreUnavailable(
                f'could not remove host {host_id!r}: claims on it kept '
                f'being made {host_store.ATTEMPTS} times in a row')
        for start in range(room, len(held), most):
            part = held[start:start + most]
            _, now, _ = self._client.txn([], self._claims_deleted(part))
            self._own(now, lambda: self._forget_held(part))

    def _claims_deleted(self, held):
        # Operations deleting each claim [(consumer, created revision)].
        return [etcd_client.delete_created_at(self._key('claims', consumer),
                                              created)
                for consumer, created in held]

    def release(self, consumer):
        self._check_open()
        self._mine.pop(consumer, None)  # a release is no expiry
        key = self._key('claims', consumer)
        deadline = time.monotonic() + self._client.timeout
        try:
            done, now, _ = self._client.txn(
                [etcd_client.present(key)], [etcd_client.delete(key)],
                resend=False, deadline=deadline)
        except etcd_client.Unanswered as unanswered:
            # The delete may have been made: it was if the claim is gone,
            # as read in the time left.
            try:
                now, found = self._client.range(key, key + '\0',
                                                deadline=deadline)
            except exceptions.StoreUnavailable:
                raise unanswered from None
            if found:
                raise
            done = True
        if not done:
            raise exceptions.InvalidRequest(
                f'no claim is held for consumer {consumer!r}')
        self._own(now, lambda: self._forget(consumer))

    def _host_lease(self):
        # Reports go between host_ttl and 1.5 x host_ttl after written.
        ttl = self.conf.etcd.host_ttl
        return ttl and self._leases.lease(ttl, max(1, ttl // 2))

    # Following etcd

    def _list(self):
        cluster, _ = self._client.header()
        revision, found = self._client.range(*self._followed)
        mirror = _Mirror(self.conf, self.clock)
        hosts, members, created, keys, foreign = [], [], {}, {}, {}
        for item in sorted(found, key=lambda item: item.create_revision):
            kind, name, held = self._read(item)
            if kind == 'hosts' and held is None:
                foreign[name] = item.mod_revision
            elif held is None:
                continue
            elif kind == 'hosts':
                hosts.append(held[0])
                members.append(held[1])
                keys[name] = (item.lease, item.mod_revision)
            elif kind == 'claims':
                mirror.record(held)
                created[name] = item.create_revision
        settled = mirror.report(host_state.Reports.joined(hosts), members,
                                keys, created)
        for name, written in foreign.items():
            mirror.drop_host(name, written)
        with self._changed:
            self._mirror, self._created = mirror, created
            self._cluster, self._settled = cluster, {}
            self._unrecorded = {}
            self._settle(settled)
            self._revision = revision
            self._changed.notify_all()

    def _follow(self):
        # List etcd again after an outage or when its history no longer
        # continues the mirror's (compacted, restarted, restored), and watch
        # from the listing: a watch from the old revision would show nothing
        # of a new etcd's until its revision passed the old one.
        delay, relist = 0.1, False
        while not self._closed.is_set():
            try:
                if relist or self._error is not None:
                    self._list()
                    if self._error is not None:
                        LOG.info('etcd at %s answers again',
                                 ', '.join(self._client.endpoints))
                    self._error, relist, delay = None, False, 0.1
                self._sweep()
                # A stream quiet for timeout seconds is opened again: an
                # etcd that stopped answering is noticed within twice that.
                self._watch = self._client.watch(
                    self._followed[0], self._revision + 1, self._followed[1],
                    idle=self._client.timeout, cluster=self._cluster)
                for events in self._watch:
                    self._apply(events)
                    if self._settled:
                        self._sweep()
            except etcd_client.HistoryLost as lost:
                LOG.warning('Listing etcd again: %s', lost)
                relist = True
            except Exception as error:  # the watch must outlive any fault
                if self._closed.is_set():
                    return
                if not isinstance(error, exceptions.StoreUnavailable):
                    LOG.exception('The etcd watch failed')
                    error = exceptions.StoreUnavailable(
                        f'etcd at {", ".join(self._client.endpoints)}: the '
                        f'watch failed: {type(error).__name__}: {error}')
                if self._error is None:
                    LOG.error('Lost etcd: %s; retrying', error)
                self._error = error
                self._closed.wait(delay)
                delay = min(delay * 2, 5.0)

    def _apply(self, events):
        # The events of one or more whole revisions, in order. A key
        # written over with what is no Sora value is gone, as for _list.
        with self._changed:
            listed, revision = [], events[0].kv.mod_revision
            for event in events:
                if event.kv.mod_revision != revision:
                    self._settle(listed)
                    listed, revision = [], event.kv.mod_revision
                kind, name, held = self._read(event.kv, event.deleted)
                if kind == 'hosts' and held is None:
                    self._mirror.drop_host(name, 0 if event.deleted else
                                           event.kv.mod_revision)
                elif kind == 'hosts':
                    listed += self._mirror.report(held[0], [held[1]], {name: (
                        event.kv.lease, event.kv.mod_revision)},
                        self._created)
                elif kind == 'claims' and held is None:
                    self._ended(name, event.deleted)
                elif kind == 'claims':
                    self._record([(name, held, event.kv.create_revision)])
            self._settle(listed)
            self._revision = revision
            self._changed.notify_all()

    def _read(self, kv, deleted=False):
        # (kind, name, its Reports or claims.Entry) of a followed key: kind
        # None for a key that is not Sora's; held None for one deleted or
        # holding no Sora report or claim (logged).
        kind, name = self._name(kv.key)
        if name is None or kind not in ('hosts', 'claims'):
            return None, name, None
        if deleted:
            return kind, name, None
        try:
            value = json.loads(kv.value, parse_int=_bounded_int)
            return kind, name, (_report(name, value) if kind == 'hosts'
                                else _entry(name, value))
        except _FOREIGN as error:
            LOG.warning('Ignoring etcd key %(key)s: it holds no Sora '
                        '%(what)s (%(error)s: %(detail)s)',
                        {'key': validate.shown(kv.key),
                         'what': 'node report' if kind == 'hosts' else 'claim',
                         'error': type(error).__name__, 'detail': error})
        return kind, name, None

    def _own(self, revision, change):
        # Apply this manager's write, made at *revision*, to the mirror at
        # once, unless the watch has already applied it, and maybe what
        # followed it (another manager's release or newer report).
        with self._changed:
            if self._revision < revision:
                change()

    def _record(self, made):
        # [(consumer, claims.Entry, the revision that created it)]
        for consumer, entry, created in made:
            self._mirror.record(entry)
            self._created[consumer] = created

    def _ended(self, consumer, deleted):
        # The claim of *consumer* is gone from etcd: log it if it was made
        # here, not settled, and old enough to have expired.
        timeout = self._mine.pop(consumer, None)
        entry = self._mirror.entry(consumer)
        if deleted and timeout and entry is not None and \
                consumer not in self._settled and \
                self.clock() - entry.made >= timeout:
            claims.log_expired(entry, timeout)
        self._forget(consumer)

    def _forget(self, consumer):
        self._mirror.forget(consumer)
        self._created.pop(consumer, None)
        self._settled.pop(consumer, None)
        self._unrecorded.pop(consumer, None)

    def _reported(self, reports, members, deleted, lease, revision):
        # This manager's reports, written with *lease* at *revision* with
        # *members*, and the claims they deleted.
        listed = self._mirror.report(
            reports, members, dict.fromkeys(reports.ids, (lease, revision)),
            self._created)
        for consumer in deleted:
            self._forget(consumer)
        self._settle(listed)

    def _removed(self, host_id, held):
        # The host is gone, and the claims of _forget_held.
        self._mirror.drop_host(host_id)
        self._forget_held(held)

    def _forget_held(self, held):
        # The claims [(consumer, created revision)] that were still those.
        for consumer, created in held:
            if self._created.get(consumer) == created:
                self._forget(consumer)

    def _settle(self, settled):
        # Reports settled these claims [(consumer, host id)]: they end
        # here, unless deleted in the same revision already, and the next
        # sweep deletes them from etcd (with a group the report's members
        # lack, only together with a rewrite of the report that adds it).
        for consumer, host_id in settled:
            created = self._created.get(consumer)
            if created is None:
                continue
            group = getattr(self._mirror.entry(consumer), 'group', None)
            self._forget(consumer)
            self._settled[consumer] = created
            report = self._mirror.report_of(host_id)
            if group is not None and (report is None or
                                      consumer not in report.members):
                self._unrecorded[consumer] = (host_id, group)

    def _catch_up(self, revision, gone=()):
        # Wait until the mirror has seen *revision*, or no longer tracks
        # the hosts *gone* (their deletes may be older than revision, the
        # newest in all etcd), so that the decision made again sees what
        # beat the last one.
        def seen():
            return self._revision >= revision or gone and not any(
                map(self._mirror.tracks, gone))

        with self._changed:
            self._changed.wait_for(seen, timeout=self._client.timeout)


_FOREIGN = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
"""What reading a value that holds no Sora report or claim raises
(RecursionError: JSON nested deeper than the parser goes)."""


def _bounded_int(text):
    # JSON integers Sora may have written: no longer than units.UNLIMITED.
    if len(text) > 20:
        raise ValueError(f'{text:.40}... is not a number Sora writes')
    return int(text)


def _stored(kv):
    # The Report of a hosts/ key read from etcd (no groups if foreign).
    try:
        reports, members = _report(kv.key, json.loads(
            kv.value, parse_int=_bounded_int))
        groups = reports.groups[0]
    except _FOREIGN:
        groups, members = (), {}
    return Report(kv.lease, kv.mod_revision, groups, members)


def _entry(consumer, claim):
    # A stored claim -> claims.Entry; TypeError if it holds no Sora claim.
    needs, group, made = claim['needs'], claim['group'], claim['made']
    if not isinstance(needs, list) or len(needs) != len(units.RESOURCES) \
            or not (group is None or isinstance(group, str)) \
            or type(made) not in (int, float) or not math.isfinite(made):
        raise TypeError('its needs, group or time are not a claim\'s')
    return claims.Entry(consumer, _text(claim['host']),
                        tuple(_whole(need, units.MAX + 1) for need in needs),
                        group, made)


def _report(host_id, record):
    # A stored record -> (Reports of one host, its members); TypeError if
    # it holds none. Records written before members were kept have none.
    labels, members = record['labels'], record.get('members', {})
    if type(record['enabled']) is not bool or not isinstance(labels, dict) \
            or not isinstance(members, dict):
        raise TypeError('its enabled, labels or members are not a report\'s')
    labels = {_text(key): _text(value) for key, value in labels.items()}
    members = {_text(key): _text(value) for key, value in members.items()}
    return host_state.Reports(
        [host_id], {name: [_whole(record['amounts'][name])]
                    for name in host_table.FLOATS},
        [_whole(record['containers'], host_state.MAX_CONTAINERS)],
        [record['enabled']],
        [types.MappingProxyType(labels)],
        [_texts(record['groups'])], [_texts(record['consumers'])]), members


def _whole(value, most=units.UNLIMITED):
    # A stored amount or count: a whole number from 0 to *most*.
    if type(value) is not int or not 0 <= value <= most:
        raise TypeError(f'{value!r:.40} is not a whole number from 0 to '
                        f'{most}')
    return value


def _text(value):
    # A stored string.
    if not isinstance(value, str):
        raise TypeError(f'{value!r:.40} is not a string')
    return value


def _texts(values):
    # A stored list of strings, as a tuple.
    if not isinstance(values, list):
        raise TypeError(f'{values!r:.40} is not a list of strings')
    return tuple(map(_text, values))
