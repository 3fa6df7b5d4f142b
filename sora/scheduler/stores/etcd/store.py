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

"""The ``etcd`` host store's transactions: claims, removals, releases."""

import math
import time

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import metrics
from sora.scheduler.stores import base
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import leases as etcd_leases
from sora.scheduler.stores.etcd import mirror as etcd_mirror
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import reports as etcd_reports
from sora.scheduler.stores.etcd import sweep
from sora.scheduler import validate


class EtcdHostStore(base.HostStore):
    """Hosts and claims in etcd, shared by every manager configured alike.

    Decisions run on this manager's :class:`~mirror.Mirror` of etcd; a
    decision made on it as of revision R commits with one transaction that
    succeeds only if none of its consumers holds a claim and no chosen
    host's report or version key, nor the group's, was written after R.

    :param conf: as for :class:`~sora.scheduler.stores.base.HostStore`;
        its ``[etcd]`` options say where etcd is.
    :param clock: seconds since the epoch (``time.time``), for claim ages.
    :raises StoreUnavailable: etcd does not answer at start.
    :raises InvalidConfig: a TLS file of ``[etcd]`` is unusable, or the
        store under ``[etcd] prefix`` is in a newer format than this Sora
        reads (:data:`~codec.FORMAT`).
    """

    shared = True

    def __init__(self, conf=None, clock=None):
        super().__init__(conf, time.time if clock is None else clock)
        opts = self.conf.etcd
        self.client = etcd_client.Client(
            opts.endpoints, opts.timeout, opts.ca_file, opts.cert_file,
            opts.key_file)
        self.client.metrics = self.metrics
        self.metrics.counters += [metrics.WATCH_EVENTS, metrics.WATCH_RESTARTS,
                                  metrics.RELISTS]
        self.keys = codec.Keys(opts.prefix)
        try:
            self._claim_format()
            self.mirror = etcd_mirror.Mirror(self.client, self.keys,
                                             self.clock, opts.max_txn_ops)
        except BaseException:
            self.client.close()
            raise
        self.leases = etcd_leases.Leases(self.client)
        self._reports = etcd_reports.ReportWriter(self)

    def _claim_format(self):
        # Write this Sora's format in a new store, or over an older one
        # (whose managers then stop: they would ignore what this one
        # writes); refuse a store written in a newer format.
        key = self.keys.format
        compare = ops.absent(key)
        while True:
            done, _, found = self.client.txn(
                [compare], [ops.put(key, codec.encode_format())],
                [ops.read(key, values=True)])
            if done:
                return
            if not found[0]:  # deleted meanwhile
                compare = ops.absent(key)
                continue
            kv = found[0][0]
            try:
                refusal = codec.refused_format(self.keys.prefix, kv.value)
            except codec.FOREIGN as error:
                raise exceptions.InvalidConfig(
                    f'etcd key {validate.shown(key)} holds no Sora store '
                    f'format ({type(error).__name__}: {error}): is [etcd] '
                    'prefix another program\'s?') from None
            if refusal is not None:
                raise exceptions.InvalidConfig(refusal)
            if kv.value == codec.encode_format():
                return
            compare = ops.modified_at(key, kv.mod_revision)

    def close(self):
        """Stop following etcd and close the connections."""
        self.mirror.close()
        self.client.close()

    def lag(self):
        """Return ``(revisions, seconds)`` this manager's copy lags etcd."""
        return self.mirror.lag()

    def host_lease(self):
        """Return the lease of reports written now (0 without host_ttl).

        Reports go between host_ttl and 1.5 x host_ttl after written.
        """
        ttl = self.conf.etcd.host_ttl
        return ttl and self.leases.lease(ttl, max(1, ttl // 2))

    # Reading

    def hosts(self):
        self.mirror.ready()
        return self.mirror.view()[0].snapshot()[0]

    def claims(self):
        self.mirror.ready()
        return self.mirror.view()[0].listing(self.clock())

    def report_ages(self):
        self.mirror.ready()
        return self.mirror.view()[0].report_ages(self.clock())

    def snapshot(self, consumers=()):
        self.mirror.ready()
        hosts, revision = self.mirror.view()
        hosts.check_consumers(consumers)
        table, version = hosts.snapshot()
        return table, (hosts, version, revision)

    # Writing

    def update(self, reports):
        self.mirror.check_open()
        self._reports.write(reports)

    def commit(self, version, request, placements):
        hosts, local_version, revision = version
        if hosts is not self.mirror.view()[0]:
            raise exceptions.Conflict('etcd was listed again since the '
                                      'decision')
        if hosts.admitted(local_version, request, placements) is None:
            raise exceptions.Conflict('the chosen hosts changed since the '
                                      'decision')
        made = self.clock()
        timeout = self.conf.scheduler.claim_timeout
        lease = timeout and self.leases.lease(math.ceil(timeout), 1)
        compare, success, failure, values = [], [], [], []
        entries = [claims.Entry(consumer, host_id, request.units,
                                request.group, made, request.resources)
                   for consumer, host_id in placements]
        size = 0  # each consumer's key goes three times, its value once
        for entry in entries:
            key = self.keys('claims', entry.consumer)
            values.append(codec.encode_claim(entry))
            compare.append(ops.absent(key))
            success.append(ops.put(key, values[-1], lease))
            failure.append(ops.read(key, values=True))
            size += 3 * len(key.encode()) + len(values[-1])
        if size > codec.MAX_BYTES:
            raise exceptions.InvalidRequest(
                f'the claims of this request take {size} bytes in etcd, '
                f'more than one etcd request holds ({codec.MAX_BYTES}): use '
                'shorter consumer ids or group name')
        # What the decision relied on: the chosen hosts' reports, and the
        # claims on them and in the group, which rewrite version keys.
        # A host's version key takes its report's lease (the one the
        # mirror knows: if the report changed, the transaction fails).
        chosen = {host_id: getattr(self.mirror.report_of(host_id), 'lease', 0)
                  for _, host_id in placements}
        versions = {self.keys('versions-of-hosts', host_id): host_lease
                    for host_id, host_lease in chosen.items()}
        if request.group is not None:
            versions[self.keys('versions-of-groups', request.group)] = 0
        relied = [self.keys('hosts', host_id) for host_id in chosen]
        relied += versions
        compare += [ops.present(self.keys('hosts', host_id))
                    for host_id in chosen]
        compare += [self.mirror.unchanged(key, revision) for key in relied]
        success += [ops.put(key, b'', host_lease)
                    for key, host_lease in versions.items()]
        failure += [ops.read(key) for key in relied]
        if len(compare) > self.conf.etcd.max_txn_ops:
            raise exceptions.InvalidRequest(
                f'{len(placements)} placements on {len(chosen)} hosts make '
                f'{len(compare)} comparisons in one etcd transaction, more '
                'than [etcd] max_txn_ops = '
                f'{self.conf.etcd.max_txn_ops} (etcd\'s --max-txn-ops): '
                'place fewer at a time, or raise both')
        try:
            done, now, found = self.client.txn(compare, success, failure)
        except etcd_client.LeaseNotFound:
            self.leases.forget()  # etcd lost it: decide again, with another
            raise exceptions.Conflict('etcd lost the claims\' lease') from None
        held = found[:len(placements)]
        if not done and all(kvs and kvs[0].value == value
                            for kvs, value in zip(held, values)):
            # This very transaction, sent again after its answer was lost.
            done, now = True, held[0][0].mod_revision
        if done:
            self._made(entries, timeout, now, revision, versions)
            return
        taken = [consumer for (consumer, _), kvs in zip(placements, held)
                 if kvs and kvs[0].create_revision !=
                 self.mirror.settled_at(consumer)]
        if taken:
            raise exceptions.InvalidRequest(
                'consumer ' + ', '.join(map(repr, taken)) + ' already '
                'holds a claim; a consumer id names one container')
        if any(held):  # settled claims still in etcd: delete, decide again
            self.client.txn([], sweep.deleted(self.keys, [
                (consumer, kvs[0].create_revision)
                for (consumer, _), kvs in zip(placements, held) if kvs]))
            raise exceptions.Conflict('settled claims of its consumers were '
                                      'still in etcd')
        # Decide again once the mirror has seen what beat this decision:
        # the newest write to what it relied on, or all that came before
        # if a chosen host was removed (its key is gone).
        relied_found = found[len(placements):]
        gone = [host_id for host_id, kvs in zip(chosen, relied_found)
                if not kvs]
        self.mirror.catch_up(now if gone else max(
            kv.mod_revision for kvs in relied_found for kv in kvs), gone)
        raise exceptions.Conflict('what the decision relied on was written '
                                  'since')

    def _made(self, entries, timeout, now, revision, versions):
        # The claims *entries* were made at revision *now*, with the version
        # keys *versions*: record them, unless etcd went back in time.
        if now <= revision:
            # etcd's history went back under this view (restarted empty, or
            # restored from a snapshot): undo the claims made on it.
            self.client.txn([], sweep.deleted(
                self.keys, [(entry.consumer, now) for entry in entries]))
            reason = f'etcd\'s revision went back from {revision} to {now}'
            self.mirror.history_lost(reason)
            raise exceptions.Conflict(reason)
        self.mirror.mine.update(dict.fromkeys(
            (entry.consumer for entry in entries), timeout))
        self.mirror.own(now, lambda copy: copy.record(
            [(entry.consumer, entry, now) for entry in entries]), versions)

    def remove(self, host_id):
        # Every claim on the host rewrites its version key: if that is not
        # newer than the mirror, the mirror knows every claim to delete.
        # So too the settled claims its reports left in etcd (a sweep
        # deletes them later), if its report is not newer: a listing would
        # count them again once the report is gone.
        # Each is deleted only if it is the claim the mirror knows (its
        # consumer may have been released and claimed again elsewhere);
        # those one transaction cannot hold go after the host, in more.
        self.mirror.check_open()
        version = self.keys('versions-of-hosts', host_id)
        report = self.keys('hosts', host_id)
        # etcd gives a nested transaction what the outer one leaves of
        # max_txn_ops: each needs one.
        most = self.conf.etcd.max_txn_ops - 1
        room = most - 3
        mirror, mine = self.mirror, set()
        for _ in base.attempts():
            with mirror.changed:
                if not mirror.hosts.tracks(host_id):
                    raise exceptions.InvalidRequest(
                        f'no host has id {host_id!r}')
                revision = mirror.revision
                held = mirror.held(host_id) + mirror.settled_by(host_id)
            mine |= _taken(mirror.mine, held)
            done, now, found = self.client.txn(
                [mirror.unchanged(version, revision),
                 mirror.unchanged(report, revision)],
                [ops.delete(report),
                 ops.delete(self.keys('disabled', host_id)),
                 ops.delete(version)] +
                sweep.deleted(self.keys, held[:room]),
                [ops.read(version), ops.read(report)])
            if done:
                mirror.own(now, lambda copy: copy.removed(
                    host_id, held[:room]))
                mirror.released(mine & {consumer for consumer, _
                                        in held[:room]})
                break
            mirror.catch_up(max((kv.mod_revision for kvs in found
                                 for kv in kvs), default=now))
        else:
            raise exceptions.StoreUnavailable(
                f'could not remove host {host_id!r}: claims on it kept '
                f'being made {base.ATTEMPTS} times in a row')
        for start in range(room, len(held), most):
            part = held[start:start + most]
            _, now, _ = self.client.txn([], sweep.deleted(self.keys, part))
            mirror.own(now, lambda copy, part=part: copy.forget_held(part))
            mirror.released(mine & {consumer for consumer, _ in part})

    def set_disabled(self, host_id, reason):
        # Disabling rewrites the host's version key, as a claim does: a
        # decision that chose the host before commits no claim on it.
        self.mirror.check_open()
        mirror, key = self.mirror, self.keys('disabled', host_id)
        if not mirror.hosts.tracks(host_id) and (
                reason is not None or mirror.hosts.disabled(host_id) is None):
            raise exceptions.InvalidRequest(f'no host has id {host_id!r}')
        if reason is None:
            _, now, _ = self.client.txn([], [ops.delete(key)])
            mirror.own(now, lambda copy: copy.hosts.disable(host_id, None))
            return
        version = self.keys('versions-of-hosts', host_id)
        done, now, _ = self.client.txn(
            [ops.present(self.keys('hosts', host_id))],
            [ops.put(key, codec.encode_disabled(reason)),
             ops.put(version, b'', getattr(mirror.report_of(host_id),
                                           'lease', 0))])
        if not done:
            raise exceptions.InvalidRequest(f'no host has id {host_id!r}')
        mirror.own(now, lambda copy: copy.hosts.disable(host_id, reason),
                   [version])

    def release(self, consumer):
        # A claim in a group rewrites the group's version key as it goes: a
        # decision that counted its container for the group's policy (an
        # affinity to its host) commits nothing on that.
        self.mirror.check_open()
        mine = _taken(self.mirror.mine, [(consumer, 0)])  # no expiry
        key = self.keys('claims', consumer)
        deadline = time.monotonic() + self.client.timeout
        held = self.mirror.claim_of(consumer)
        for _ in base.attempts():
            if held is None:  # made elsewhere a moment ago, or changed
                _, found = self.client.range(key, key + '\0',
                                             deadline=deadline)
                held = codec.stored_claim(consumer, found)
            if held is None:
                raise exceptions.InvalidRequest(
                    f'no claim is held for consumer {consumer!r}')
            entry, created = held
            group = [] if entry.group is None else [
                self.keys('versions-of-groups', entry.group)]
            done, now = self._delete_claim(key, created, group, deadline)
            if done:
                self.mirror.own(now, lambda copy: copy.forget(consumer),
                                group)
                self.mirror.released(mine)
                return
            held = None
        raise exceptions.StoreUnavailable(
            f'could not release the claim of {consumer!r}: it kept being '
            f'made again {base.ATTEMPTS} times in a row')

    def _delete_claim(self, key, created, group, deadline):
        # Delete the claim created at *created*, rewriting the *group*
        # version key; return (done, revision).
        try:
            done, now, _ = self.client.txn(
                [ops.created_at(key, created)],
                [ops.delete(key)] + [ops.put(version, b'')
                                     for version in group],
                resend=False, deadline=deadline)
        except etcd_client.Unanswered as unanswered:
            # The delete may have been made: it was if the claim is gone,
            # as read in the time left.
            try:
                now, found = self.client.range(key, key + '\0',
                                               deadline=deadline)
            except exceptions.StoreUnavailable:
                raise unanswered from None
            if found:
                raise
            done = True
        return done, now


def _taken(mine, held):
    # The consumers of *held* ([(consumer, created)]) taken from *mine*.
    return {consumer for consumer, _ in held
            if mine.pop(consumer, None) is not None}
