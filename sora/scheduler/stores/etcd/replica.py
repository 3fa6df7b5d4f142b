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

"""One listing of etcd and what followed: a manager's copy of it.

A :class:`Replica` holds the hosts and claims a
:class:`~sora.scheduler.stores.etcd.mirror.Mirror` lists and then follows,
and applies each change to them: a report settles the claims of the
consumers it lists made before it, by revisions, in every manager's copy
alike. The mirror swaps in a new replica when it lists etcd again, and
calls one only under its lock.
"""

from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores import tracked

WRITTEN = 4096
"""How many keys this manager wrote before those the watch has passed are
forgotten."""


class Replica:
    """The hosts and claims of one listing of etcd, and what followed.

    :param settled: the :class:`~sora.scheduler.stores.etcd.sweep.Settled`
        claims of this listing.
    :param clock: seconds since the epoch, for claim ages.
    :param on_settled: called with each consumer whose claim a report
        settles.
    """

    def __init__(self, settled, clock, on_settled=lambda consumer: None):
        self.hosts = tracked.TrackedHosts()
        self.created = {}   # {consumer: revision that created its claim}
        self.reports = {}   # {host id: codec.Report of its key}
        self.settled = settled
        self.written = {}   # {key: revision this manager last wrote it at}
        self._clock = clock
        self._on_settled = on_settled

    def claim_of(self, consumer):
        """Return ``(claims.Entry, created revision)`` of a claim, or None.

        The outstanding claim of *consumer*.
        """
        entry = self.hosts.entry(consumer)
        return None if entry is None else (
            entry, self.created.get(consumer, 0))

    def held(self, host_id):
        """Return ``[(consumer, created revision)]`` of claims on a host."""
        return [(consumer, self.created.get(consumer, 0))
                for consumer in self.hosts.of_host(host_id)]

    def wrote(self, keys, revision, seen):
        """Note that this manager wrote *keys* at *revision*.

        *seen* is the revision the watch has brought the copy to.
        """
        if len(self.written) > WRITTEN:
            self.written = {key: at for key, at in self.written.items()
                            if at > seen}
        for key in keys:
            self.written[key] = max(revision, self.written.get(key, 0))

    def unchanged(self, key, revision):
        """Return a comparison: *key* holds what a view at *revision* knows.

        It was not written since *revision*, or was last written by this
        manager (whose writes the copy holds at once) and not since.
        """
        written = self.written.get(key, 0)
        if written > revision:
            return ops.modified_at(key, written)
        return ops.unchanged_since(key, revision)

    def record(self, made):
        """Add claims ``[(consumer, claims.Entry, created revision)]``."""
        for consumer, entry, created in made:
            self.hosts.claim(entry._replace(made=min(entry.made,
                                                     self._clock())))
            self.created[consumer] = created

    def reported(self, reports, members, deleted, lease, revision, times):
        """Apply this manager's reports and the deletes of their claims.

        Written with *lease* at *revision*, with their *members*, at
        *times* (see :meth:`report`); the claims ``[(consumer, created)]``
        *deleted*.
        """
        for consumer, created in deleted:
            if self.created.get(consumer) == created:
                self._on_settled(consumer)
        self.forget_held(deleted)
        self.report(reports, members, [(lease, revision)] * len(reports),
                    times)

    def removed(self, host_id, held):
        """Apply the removal of a host and of the claims *held* on it.

        And of the operator's reason for disabling it, if any.
        """
        self.hosts.remove(host_id)
        self.hosts.disable(host_id, None)
        self.reports.pop(host_id, None)
        self.forget_held(held)

    def forget_held(self, held):
        """Forget the claims ``[(consumer, created)]`` still those.

        Outstanding or settled.
        """
        for consumer, created in held:
            if self.created.get(consumer) == created:
                self.forget(consumer)
            elif self.settled.created(consumer) == created:
                self.settled.forget(consumer)

    def forget(self, consumer):
        """Forget the claim of *consumer*, if any."""
        self.hosts.drop(consumer)
        self.created.pop(consumer, None)
        self.settled.forget(consumer)

    def report(self, reports, members, keys, times=None):
        """Add or replace hosts whose report keys have *keys*.

        ``[(lease, mod revision)]``. A report settles the claims of the
        consumers it lists made before it (the first written of these
        reports to list a consumer does: reports listing one consumer are
        written by revisions apart, and a listing's are in no order); those
        with a group its
        *members* lack are deleted only with a rewrite of the report that
        adds it (see :mod:`~sora.scheduler.stores.etcd.sweep`).
        *times*: per report, when it was written on its writer's clock
        (None: unknown); None: unknown for all.
        """
        settled, taken = [{} for _ in keys], set()
        for i in sorted(range(len(keys)), key=lambda i: keys[i][1]):
            revision = keys[i][1]
            for consumer in reports.consumers[i]:
                entry = self.hosts.entry(consumer)
                if entry is not None and consumer not in taken and \
                        self.created[consumer] < revision:
                    settled[i][consumer] = entry.group
            taken.update(settled[i])
        self.hosts.report(reports, settled, [
            {**stored, **self.settled.unrecorded(host_id)}
            for host_id, stored in zip(reports.ids, members)], times)
        for i, host_id in enumerate(reports.ids):
            self.reports[host_id] = codec.Report(
                *keys[i], reports.groups[i], members[i])
            for consumer, group in settled[i].items():
                self.settled.add(
                    consumer, self.created.pop(consumer), host_id,
                    None if consumer in members[i] else group)
                self._on_settled(consumer)

    def drop_host(self, host_id, written):
        """Forget a host whose report key is gone or holds no report.

        *written*: 0 if gone, else the revision it was written at, which
        the host's next report must replace.
        """
        self.hosts.remove(host_id)
        if written:
            self.reports[host_id] = codec.Report(0, written, (), {})
        else:
            self.reports.pop(host_id, None)
