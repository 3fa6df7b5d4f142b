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

"""The in-process host store, ``memory`` (the default)."""

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import metrics
from sora.scheduler.stores import base
from sora.scheduler.stores import tracked


class MemoryHostStore(base.HostStore):
    """Everything in this process: one lock, rows updated in place.

    A report, a claim, a release, adding or removing a host costs about the
    same at 100,000 hosts as at 10; snapshots copy only the columns that
    changed since the previous one (see
    :class:`~sora.scheduler.live_table.LiveTable`). A claim expires by the
    store's clock, at the first call after its time.
    """

    def __init__(self, conf=None, clock=None):
        super().__init__(conf, clock)
        self._tracked = tracked.TrackedHosts()

    def hosts(self):
        with self._tracked.lock:
            self._expire()
            return self._tracked.snapshot()[0]

    def update(self, reports):
        hosts = self._tracked
        with hosts.lock:
            self._expire()
            # The first report listing a consumer settles its claim (and
            # keeps its group); another listing it too finds none.
            settled, taken = [], set()
            for consumers in reports.consumers:
                settled.append({
                    consumer: entry.group for consumer, entry in (
                        (consumer, hosts.entry(consumer))
                        for consumer in consumers if consumer not in taken)
                    if entry is not None})
                taken.update(settled[-1])
            hosts.report(reports, settled,
                         reported=[self.clock()] * len(reports))
        self.metrics.count(metrics.REPORTS_APPLIED, amount=len(reports))
        self.metrics.count(metrics.CLAIM_EVENTS_TOTAL, 'settled',
                           amount=sum(map(len, settled)))

    def remove(self, host_id):
        hosts = self._tracked
        with hosts.lock:
            self._expire()
            if not hosts.tracks(host_id):
                raise exceptions.InvalidRequest(f'no host has id {host_id!r}')
            held = hosts.of_host(host_id)
            for consumer in held:
                hosts.drop(consumer)
            hosts.remove(host_id)
            hosts.disable(host_id, None)
        self.metrics.count(metrics.CLAIM_EVENTS_TOTAL, 'released',
                           amount=len(held))

    def set_disabled(self, host_id, reason):
        hosts = self._tracked
        with hosts.lock:
            if not hosts.tracks(host_id) and (
                    reason is not None or hosts.disabled(host_id) is None):
                raise exceptions.InvalidRequest(f'no host has id {host_id!r}')
            hosts.disable(host_id, reason)

    def release(self, consumer):
        with self._tracked.lock:
            self._expire()
            if self._tracked.drop(consumer) is None:
                raise exceptions.InvalidRequest(
                    f'no claim is held for consumer {consumer!r}')
        self.metrics.count(metrics.CLAIM_EVENTS_TOTAL, 'released')

    def claims(self):
        with self._tracked.lock:
            self._expire()
            return self._tracked.listing(self.clock())

    def report_ages(self):
        with self._tracked.lock:
            return self._tracked.report_ages(self.clock())

    def snapshot(self, consumers=()):
        with self._tracked.lock:
            self._expire()
            self._tracked.check_consumers(consumers)
            return self._tracked.snapshot()

    def commit(self, version, request, placements):
        hosts = self._tracked
        with hosts.lock:
            self._expire()
            slots = hosts.admitted(version, request, placements)
            if slots is None:
                raise exceptions.Conflict(
                    'the chosen hosts changed since the decision')
            now = self.clock()
            for (consumer, host_id), slot in zip(placements, slots):
                hosts.claim(claims.Entry(consumer, host_id, request.units,
                                         request.group, now,
                                         request.resources), slot)

    def _expire(self):
        entry = self._tracked.oldest()
        if entry is None:
            return  # before reading the option: most calls stop here
        timeout = self.conf.scheduler.claim_timeout
        if not timeout:
            return
        deadline = self.clock() - timeout
        while entry is not None and entry.made <= deadline:
            self._tracked.drop(entry.consumer)
            claims.log_expired(entry, timeout)
            self.metrics.count(metrics.CLAIM_EVENTS_TOTAL, 'expired')
            entry = self._tracked.oldest()
