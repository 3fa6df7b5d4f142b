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

Each report commits only if its writer knew the host's last report: so it
knows which groups the report adds to its host (and rewrites their version
keys, as a claim in them does) and which members it carries over. One that
lost to another writer goes again at once, on what etcd holds.
"""

import json
import random
import time

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler.stores import base
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops


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
        records = [self._record(reports, i) for i in range(len(reports))]
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

    def _record(self, reports, i):
        # The stored form of report *i* and its size, refused if too large.
        record = codec.report_record(reports, i)
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
        known = {}  # {host id: Report read from etcd, or None: no report}
        stale = set()  # hosts whose stored members came from a stale copy
        hosts = most  # a part that failed is halved: one of its hosts beat it
        for attempt in range(base.ATTEMPTS):
            lease = store.host_lease()
            seen = store.mirror.view()[1]
            end, compare, writes, deleted, groups = start, [], [], [], set()
            size, late, members = 0, [], []
            while end < len(reports) and len(compare) < hosts:
                record, record_size = records[end]
                host_compare, host_ops, host_deleted, added, kept = \
                    self._ops(reports, record, end, lease, known, stale)
                record_size += len(json.dumps(kept))
                added = sorted(added - groups)
                if writes and (
                        len(writes) + len(host_ops) + len(added) > most or
                        size + record_size > codec.MAX_BYTES):
                    break
                # A report alone that adds more groups than the transaction
                # holds rewrites the rest of their keys just before it: a
                # manager that has seen the report has seen them all.
                room = most - len(host_ops)
                late += added[room:]
                added = added[:room]
                compare.append(host_compare)
                writes += host_ops + self._group_versions(added)
                deleted += host_deleted
                members.append(kept)
                groups.update(added)
                size += record_size
                end += 1
            for first in range(0, len(late), most):
                store.client.txn([], self._group_versions(
                    late[first:first + most]))
            keys = [store.keys('hosts', host_id)
                    for host_id in reports.ids[start:end]]
            try:
                done, now, found = store.client.txn(
                    compare, writes, [ops.read(key, values=True)
                                      for key in keys])
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
                known = {}
                continue
            if done:
                part = reports.part(start, end)
                store.mirror.own(now, lambda: store.mirror.reported(
                    part, members, deleted, lease, now))
                return end
            # Another manager wrote or removed some of these reports: go
            # again, at once, on what etcd holds now.
            for host_id, kvs in zip(reports.ids[start:], found):
                known[host_id] = codec.stored(kvs[0]) if kvs else None
            hosts = max(1, len(compare) // 2)
            time.sleep(random.uniform(0, base.BACKOFF * 2 ** attempt))
        raise exceptions.StoreUnavailable(
            f'could not store the report of host {reports.ids[start]!r}: '
            f'other reports of it kept being written '
            f'{base.ATTEMPTS} times in a row')

    def _group_versions(self, groups):
        # The operations rewriting the version keys of *groups*.
        return [ops.put(self._store.keys('versions-of-groups', group), b'')
                for group in groups]

    def _ops(self, reports, record, i, lease, read, stale):
        # The comparison and operations storing report *i*, the consumers
        # whose claims they delete (those this manager knows of, as many as
        # fit in one transaction beside the groups' keys: the mirror sweeps
        # the rest), the groups it adds to its host and its members
        # (claims.groups_kept). *read* has the reports read from etcd since
        # the mirror's; *stale*, hosts whose stored members are not to be
        # carried over (written from a copy of an etcd that went back).
        store = self._store
        host_id, consumers = reports.ids[i], reports.consumers[i]
        key = store.keys('hosts', host_id)
        hosts = store.mirror.view()[0]
        known = read[host_id] if host_id in read else \
            store.mirror.report_of(host_id)
        held = {consumer: entry.group for consumer, entry in (
            (consumer, hosts.entry(consumer))
            for consumer in consumers) if entry is not None}
        before = {} if host_id in stale else {
            **hosts.kept(host_id), **(known.members if known else {})}
        members = claims.groups_kept(consumers, before, held)
        added = (set(reports.groups[i]) | set(members.values())) - (
            set(known.groups) | set(known.members.values()) if known
            else set())
        deleted = list(held)[:max(0, store.conf.etcd.max_txn_ops - 1 -
                                  len(added))]
        writes = [ops.put(key, codec.encode_report(record, members), lease)]
        writes += [ops.delete(store.keys('claims', consumer))
                   for consumer in deleted]
        compare = ops.absent(key) if known is None else \
            ops.modified_at(key, known.revision)
        return compare, writes, deleted, added, members
