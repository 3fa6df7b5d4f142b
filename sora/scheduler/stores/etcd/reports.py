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

"""Node reports written to etcd, in as few transactions as they fit.

Each report commits only if its writer knew the host's last report and
the claims it settles are still those in etcd: so it knows which groups the
report adds to its host and whose members move with the claims it settles
(and rewrites their version keys, as a claim in them does) and which
members it carries over and adds. A report that changes its host's labels
moves every container there, and every claim on it, to other topology
domains: it rewrites all their groups' keys, and commits only if no claim
on the host is newer than the writer's copy. One that lost to
another writer goes again at once, on what etcd holds.
"""

import json

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler.stores import base
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import sweep


class ReportWriter:
    """Writes node reports for one store.

    :param store: the :class:`~store.EtcdHostStore` (its conf, client,
        keys, leases and mirror).
    """

    def __init__(self, store):
        self._store = store

    def write(self, reports):
        """Store *reports* (``Reports``), settling the claims they list.

        :raises InvalidHostData: a report too large for any etcd request.
        :raises StoreUnavailable: etcd did not answer (saying how many of
            the reports were stored), or other writers kept winning.
        """
        now = self._store.clock()
        records = [self._record(reports, i, now)
                   for i in range(len(reports))]
        start = 0
        try:
            while start < len(reports):
                start = self._part(reports, records, start)
        except exceptions.StoreUnavailable as error:
            if not start:
                raise
            raise exceptions.StoreUnavailable(
                f'{error}; the reports of the first {start} of '
                f'{len(reports)} hosts were stored: report the rest again'
            ) from None

    def _record(self, reports, i, now):
        # The stored form of report *i*, written at *now*, and its size,
        # refused if too large.
        record = codec.report_record(reports, i, now)
        # Its key goes three times: put, compared, read if that fails.
        size = len(json.dumps(record).encode()) + 3 * len(
            self._store.keys('hosts', reports.ids[i]).encode())
        if size > codec.MAX_BYTES:
            raise exceptions.InvalidHostData(
                f'host {i} (id {reports.ids[i]!r:.60}): its report takes '
                f'{size} bytes in etcd, more than one etcd request holds '
                f'({codec.MAX_BYTES}): report a shorter id, or fewer or '
                'shorter labels, groups or consumers')
        return record, size

    def _part(self, reports, records, start):
        # Store the reports from *start* on that one transaction holds;
        # return where the next part starts.
        store = self._store
        most = store.conf.etcd.max_txn_ops
        # What etcd held when a transaction lost: {host id: Report, or None:
        # no report}, {consumer: (claims.Entry, created revision), or None}.
        known, claimed = {}, {}
        stale = set()  # hosts whose stored members came from a stale copy
        hosts = most  # a part that failed is halved: one of its hosts beat it
        for _ in base.attempts():
            lease = store.host_lease()
            seen = store.mirror.view()[1]
            end, compare, read, writes, deleted, groups = \
                start, [], [], [], [], set()
            size, late, members = 0, [], []
            taken = set()  # consumers a report of this part settles
            listed = set()  # consumers the reports of this part list
            while end < len(reports) and end - start < hosts:
                # Reports listing one consumer go in transactions of their
                # own, in order: the first settles its claim, and a listing
                # of etcd, which cannot tell the order of one transaction's
                # reports, knows which by their revisions.
                if writes and not listed.isdisjoint(reports.consumers[end]):
                    break
                listed.update(reports.consumers[end])
                record, record_size = records[end]
                host_compare, host_read, host_ops, host_deleted, added, \
                    kept = self._ops(reports, record, end, lease, known,
                                     claimed, stale, taken)
                record_size += len(json.dumps(kept))
                added = sorted(added - groups)
                if writes and (
                        len(writes) + len(host_ops) + len(added) > most or
                        len(compare) + len(host_compare) > most or
                        size + record_size > codec.MAX_BYTES):
                    break
                # A report alone that adds more groups than the transaction
                # holds rewrites the rest of their keys just before it: a
                # manager that has seen the report has seen them all.
                room = most - len(host_ops)
                late += added[room:]
                added = added[:room]
                compare += host_compare
                read += host_read
                writes += host_ops + self._group_versions(added)
                deleted += host_deleted
                members.append(kept)
                groups.update(added)
                size += record_size
                end += 1
            for first in range(0, len(late), most):
                store.client.txn([], self._group_versions(
                    late[first:first + most]))
            try:
                done, now, found = store.client.txn(
                    compare, writes, [ops.read(store.keys(kind, name),
                                               values=True)
                                      for kind, name in read])
            except etcd_client.LeaseNotFound:
                store.leases.forget()  # etcd lost it: at once, another
                continue
            if done and now <= seen:
                # etcd's history went back under the mirror: the members
                # and settlements were those of the old etcd. Write again
                # once it is listed afresh.
                store.mirror.history_lost(
                    f'etcd\'s revision went back from {seen} to {now}')
                store.mirror.wait_listed()
                stale.update(reports.ids[start:end])
                known, claimed = {}, {}
                continue
            if done:
                part = reports.part(start, end)
                times = [record['reported']
                         for record, _ in records[start:end]]
                store.mirror.own(now, lambda copy: copy.reported(
                    part, members, deleted, lease, now, times), [
                        store.keys('hosts', host_id)
                        for host_id in part.ids])
                return end
            # Another manager wrote or removed some of these reports, or
            # settled, released or removed some of these claims: go again,
            # at once, on what etcd holds now.
            for (kind, name), kvs in zip(read, found):
                if kind == 'hosts':
                    known[name] = codec.stored(kvs[0]) if kvs else None
                elif kind == 'claims':
                    claimed[name] = codec.stored_claim(name, kvs)
                elif kvs:  # a host's version key: a claim this copy lacks
                    store.mirror.catch_up(kvs[0].mod_revision)
            hosts = max(1, (end - start) // 2)
        raise exceptions.StoreUnavailable(
            f'could not store the report of host {reports.ids[start]!r}: '
            f'other reports of it kept being written '
            f'{base.ATTEMPTS} times in a row')

    def _group_versions(self, groups):
        # The operations rewriting the version keys of *groups*.
        return [ops.put(self._store.keys('versions-of-groups', group), b'')
                for group in groups]

    def _ops(self, reports, record, i, lease, known, claimed, stale,
             taken):
        # The comparisons, keys to read if they fail and operations storing
        # report *i*; the claims they delete ([(consumer, created)]: those
        # it settles, and settled ones its host's reports left); the groups it
        # adds to its host and its members (claims.groups_kept). It settles
        # the claims it knows of (as many as one transaction compares:
        # the mirror sweeps the rest) if they are still those in etcd.
        # *known* and *claimed* have what etcd held when a transaction lost
        # (reports and claims); *stale*, hosts whose stored members are not
        # to be carried over (written from a copy of an etcd that went
        # back); *taken*, the consumers an earlier report of the part
        # settles (this one settles the rest, and adds them).
        store, most = self._store, self._store.conf.etcd.max_txn_ops
        host_id, consumers = reports.ids[i], reports.consumers[i]
        key = store.keys('hosts', host_id)
        hosts, seen = store.mirror.view()
        report = known[host_id] if host_id in known else \
            store.mirror.report_of(host_id)
        held = {}  # {consumer: (claims.Entry, created revision)}
        for consumer in consumers:
            if consumer in taken:  # settled by a report before this one
                continue
            found = claimed[consumer] if consumer in claimed else \
                store.mirror.claim_of(consumer)
            if found is not None and len(held) < (most - 1) // 2:
                held[consumer] = found
        taken.update(held)
        if host_id in stale:
            before = {}
        elif host_id in known:  # read from etcd: this copy's is stale
            before = dict(report.members) if report else {}
        else:
            before = {**hosts.kept(host_id),
                      **(report.members if report else {})}
        members = claims.groups_kept(consumers, before, {
            consumer: entry.group for consumer, (entry, _) in held.items()})
        added = (set(reports.groups[i]) | set(members.values())) - (
            set(report.groups) | set(report.members.values()) if report
            else set())
        # A settled claim's container counts for its group here now, no
        # longer on the claim's host: a decision that relied on that
        # host's membership commits nothing on it.
        added.update(entry.group for entry, _ in held.values()
                     if entry.group is not None)
        moved = report is not None and (
            host_id in known or hosts.labels(host_id) != reports.labels[i])
        if moved:
            added |= hosts.groups_at(host_id) | set(report.groups) | set(
                report.members.values())
        deleted = list(held)[:max(0, most - 1 - len(added))]
        # The settled claims the host's reports left in etcd whose
        # consumers this one lists no more: a listing would count them
        # again once no report lists them.
        gone = store.mirror.settled_by(host_id, consumers)[
            :max(0, most - 1 - len(added) - len(deleted))]
        writes = [ops.put(key, codec.encode_report(record, members), lease)]
        writes += [ops.delete(store.keys('claims', consumer))
                   for consumer in deleted]
        writes += sweep.deleted(store.keys, gone)
        compare = [ops.absent(key) if report is None else
                   ops.modified_at(key, report.revision)]
        compare += [ops.created_at(store.keys('claims', consumer), created)
                    for consumer, (_, created) in held.items()]
        read = [('hosts', host_id)] + [('claims', consumer)
                                       for consumer in held]
        if moved:
            version = store.keys('versions-of-hosts', host_id)
            compare.append(store.mirror.unchanged(version, seen))
            read.append(('versions-of-hosts', host_id))
        return compare, read, writes, [
            (consumer, held[consumer][1]) for consumer in deleted] + gone, \
            added, members
