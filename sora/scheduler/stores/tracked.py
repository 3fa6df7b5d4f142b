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

"""The tracked hosts and their claims: the core every store keeps.

:class:`TrackedHosts` holds the hosts' last reports (a
:class:`~sora.scheduler.live_table.LiveTable`), the outstanding claims (a
:class:`~sora.scheduler.claims.Ledger`) and the groups kept for the placed
containers reports list, and admits or refuses a decision's placements.
The memory store is one around it; the etcd store's copy of etcd is
another. It decides nothing about when claims end: its owner says which
claims a report settles, and when one expires.
"""

import collections
import threading

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import live_table
from sora.scheduler import request as sora_request


class TrackedHosts:
    """Hosts, claims and kept groups, behind one lock.

    Every method is safe to call from many threads at once.
    """

    def __init__(self):
        self.lock = threading.RLock()
        self._live = live_table.LiveTable()
        self._ledger = claims.Ledger()
        self._kept = {}  # {host id: claims.groups_kept of its last report}
        self._disabled = {}  # {host id: why an operator disabled it}
        self._reported = {}  # {host id: its owner's clock at its last report}

    # Reading

    def snapshot(self):
        """Return ``(HostTable, version)``: the hosts, claims off."""
        with self.lock:
            return self._live.snapshot(), self._live.version

    def listing(self, now):
        """Return the outstanding claims, oldest first (ages from *now*)."""
        with self.lock:
            return self._ledger.listing(now)

    def entry(self, consumer):
        """Return the :class:`claims.Entry` of *consumer*, or None."""
        with self.lock:
            return self._ledger[consumer] if consumer in self._ledger \
                else None

    def oldest(self):
        """Return the oldest :class:`claims.Entry`, or None."""
        with self.lock:
            return self._ledger.oldest()

    def of_host(self, host_id):
        """Return the consumers holding claims on *host_id*."""
        with self.lock:
            return self._ledger.of_host(host_id)

    def tracks(self, host_id):
        """Whether *host_id* is tracked."""
        with self.lock:
            return self._live.slot_of(host_id) is not None

    def disabled(self, host_id):
        """Return why an operator disabled *host_id*, or None."""
        with self.lock:
            return self._disabled.get(host_id)

    def report_ages(self, now):
        """Return ``{host id: seconds since its last report}`` where known.

        *now* is read on the clock the report times were given in.
        """
        with self.lock:
            return {host_id: max(0.0, now - at)
                    for host_id, at in self._reported.items()}

    def labels(self, host_id):
        """Return the labels *host_id* last reported, or None if untracked."""
        with self.lock:
            slot = self._live.slot_of(host_id)
            return None if slot is None else self._live.row(slot).labels

    def groups_at(self, host_id):
        """Return the groups of the containers running or claimed on a host.

        Those of its claims count even while the host is not tracked.
        """
        with self.lock:
            slot = self._live.slot_of(host_id)
            groups = set() if slot is None else set(
                self._live.row(slot).all_groups())
            groups.update(self._ledger[consumer].group
                          for consumer in self._ledger.of_host(host_id))
            groups.discard(None)
            return groups

    def kept(self, host_id):
        """Return ``{consumer: group}`` kept for *host_id*'s last report."""
        with self.lock:
            return dict(self._kept.get(host_id, {}))

    def check_consumers(self, consumers):
        """Refuse consumers that hold a claim.

        :raises InvalidRequest: naming them.
        """
        with self.lock:
            held = [consumer for consumer in consumers
                    if consumer in self._ledger]
        if held:
            raise exceptions.InvalidRequest(
                'consumer ' + ', '.join(map(repr, held)) + ' already '
                'holds a claim; a consumer id names one container')

    def admitted(self, version, request, placements):
        """Return the slots of *placements* if they can still be claimed.

        No consumer holds a claim, no chosen host changed since *version*,
        each host has room for its placements and the group policy (a
        hard one) holds (for a policy over topology domains or a spread:
        no member of the group moved since *version*); else ``None``.

        :param placements: ``[(consumer, host id)]``.
        :raises InvalidRequest: a consumer already holds a claim.
        """
        live = self._live
        with self.lock:
            self.check_consumers([consumer for consumer, _ in placements])
            slots = [live.slot_of(host_id) for _, host_id in placements]
            if None in slots or any(live.row(slot).stamp > version
                                    for slot in slots):
                return None
            if not all(live.fits(slot, request, times) for slot, times
                       in collections.Counter(slots).items()):
                return None
            if request.topology_key is not None or \
                    request.spread is not None:
                if live.moved(request.group) > version:
                    return None
            elif request.group_policy in sora_request.HARD_POLICIES and \
                    not _policy_holds(request.group_policy,
                                      live.members(request.group), slots):
                return None
            return slots

    # Changing

    def report(self, reports, settled, stored=None, reported=None):
        """Add or replace hosts by id; end the claims they settle.

        :param reports: validated node reports (``Reports``).
        :param settled: per report, ``{consumer: group}`` of the claims it
            settles (their groups are kept, see :func:`claims.groups_kept`).
        :param stored: per report, the groups kept for it where it is
            stored (``{consumer: group}``), instead of those kept here for
            the host's last report; None: those kept here.
        :param reported: per report, its owner's clock when it was made
            (None: unknown); None: unknown for all.
        """
        with self.lock:
            kept = [claims.groups_kept(
                consumers, self._kept.get(host_id, {}) if stored is None
                else stored[i], settled[i])
                for i, (host_id, consumers) in enumerate(zip(
                    reports.ids, reports.consumers))]
            live = self._live
            new = [host_id for host_id in reports.ids
                   if live.slot_of(host_id) is None]
            live.update(reports, kept)
            for host_id, groups in zip(reports.ids, kept):
                if groups:
                    self._kept[host_id] = groups
                else:
                    self._kept.pop(host_id, None)
            for i, host_id in enumerate(reports.ids):
                at = reported[i] if reported else None
                if at is None:
                    self._reported.pop(host_id, None)
                else:
                    self._reported[host_id] = at
            # A host added holds the ledger's claims on it: a shared store's
            # copy may have claims on hosts it does not track (made
            # elsewhere before the host's report, or outliving it).
            for host_id in new:
                slot = live.slot_of(host_id)
                if host_id in self._disabled:
                    live.disable(slot, self._disabled[host_id])
                for consumer in self._ledger.of_host(host_id):
                    entry = self._ledger[consumer]
                    live.claim(slot, entry)
            for groups in settled:
                for consumer in groups:
                    self.drop(consumer)

    def disable(self, host_id, reason):
        """Keep new placements off *host_id* for *reason*; None: let them.

        Kept apart from its reports (none undoes it), and while the host
        is not tracked.
        """
        with self.lock:
            if reason is None:
                self._disabled.pop(host_id, None)
            else:
                self._disabled[host_id] = reason
            slot = self._live.slot_of(host_id)
            if slot is not None:
                self._live.disable(slot, reason)

    def claim(self, entry, slot=None):
        """Record the claim *entry*, the newest (once per consumer)."""
        with self.lock:
            if entry.consumer in self._ledger:
                return
            self._ledger.add(entry)
            if slot is None:
                slot = self._live.slot_of(entry.host)
            if slot is not None:
                self._live.claim(slot, entry)

    def drop(self, consumer):
        """End the claim of *consumer*; return its entry, or None."""
        with self.lock:
            entry = self._ledger.pop(consumer)
            if entry is not None:
                slot = self._live.slot_of(entry.host)
                if slot is not None:
                    self._live.claim(slot, entry, sign=-1)
            return entry

    def remove(self, host_id):
        """Forget *host_id*, if tracked; its claims stay (see :meth:`drop`)."""
        with self.lock:
            if self._live.slot_of(host_id) is not None:
                self._live.remove(host_id)
            self._kept.pop(host_id, None)
            self._reported.pop(host_id, None)


def _policy_holds(policy, members, slots):
    # Whether placing on *slots* keeps the group *policy*, given the slots
    # already running (or claimed for) the group.
    if policy == 'anti-affinity':
        return not any(slot in members for slot in slots)
    if members:
        return all(slot in members for slot in slots)
    return len(set(slots)) == 1
