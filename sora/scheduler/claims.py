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

"""Claims: capacity a decision holds on its host until reports count it.

Each placement on tracked hosts is one claim, keyed by its consumer id
(the container's uuid). A claim ends when a node report lists its
consumer (settled: the report already counts the container), when it is
released, or when it expires ``[scheduler] claim_timeout`` seconds after
it was made. :class:`Ledger` keeps the outstanding ones, oldest first.
"""

import collections
import collections.abc
import dataclasses

from oslo_log import log as logging

from sora.scheduler import host_table
from sora.scheduler import units
from sora.scheduler import validate

LOG = logging.getLogger(__name__)
NO_RESOURCES = host_table.NO_RESOURCES


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """One outstanding claim, as ``SchedulerManager.claims()`` lists it.

    :ivar consumer: the consumer id it is held for.
    :ivar host: the id of the host it holds resources on.
    :ivar memory_mb: memory held, in MB.
    :ivar cpus: CPUs held.
    :ivar disk_gb: disk held, in GB.
    :ivar group: the group of the container, or ``None``; it counts for
        (anti-)affinity while the claim is outstanding.
    :ivar age: seconds since the claim was made.
    :ivar resources: the countable resources held (a read-only mapping of
        name to whole number).
    """

    consumer: str
    host: str
    memory_mb: float
    cpus: float
    disk_gb: float
    group: str
    age: float
    resources: collections.abc.Mapping = dataclasses.field(
        default_factory=lambda: NO_RESOURCES)

    def to_dict(self):
        """Return the claim as a JSON-ready mapping.

        ``resources`` only when it holds some.
        """
        data = {field.name: getattr(self, field.name)
                for field in dataclasses.fields(self)}
        data['resources'] = dict(self.resources)
        if not data['resources']:
            del data['resources']
        return data


Entry = collections.namedtuple(
    'Entry', 'consumer host needs group made resources',
    defaults=(NO_RESOURCES,))
"""A claim in the ledger: *needs* are whole units in the order of
:data:`units.RESOURCES`; *made* is the store's clock when it was made;
*resources* the countable ones (a read-only mapping)."""


def groups_kept(consumers, before, settled):
    """Return ``{consumer: group}`` of the placed containers a report lists.

    A container Sora placed in a group counts for the group's policy for as
    long as its host's reports list it, whatever they say of groups.

    :param consumers: the consumers the report lists.
    :param before: ``{consumer: group}`` kept for the host's last report.
    :param settled: ``{consumer: group}`` of the claims the report settles.
    """
    kept = {}
    for consumer in consumers:
        group = settled.get(consumer) or before.get(consumer)
        if group is not None:
            kept[consumer] = group
    return kept


def log_expired(entry, timeout):
    """Log at WARNING that the claim *entry* expired after *timeout* s."""
    LOG.warning('Claim of consumer %(consumer)s on host %(host)s expired: '
                'no node report listed it within [scheduler] claim_timeout '
                '= %(timeout)g s', {'consumer': validate.shown(entry.consumer),
                                    'host': validate.shown(entry.host),
                                    'timeout': timeout})


class Ledger:
    """The outstanding claims, by consumer, in the order they were made.

    Not thread-safe: its store serialises access.
    """

    def __init__(self):
        self._entries = collections.OrderedDict()
        self._by_host = collections.defaultdict(set)

    def __len__(self):
        return len(self._entries)

    def __contains__(self, consumer):
        return consumer in self._entries

    def __getitem__(self, consumer):
        return self._entries[consumer]

    def __iter__(self):
        return iter(self._entries.values())

    def add(self, entry):
        """Record *entry*, which must be the newest claim."""
        self._entries[entry.consumer] = entry
        self._by_host[entry.host].add(entry.consumer)

    def pop(self, consumer):
        """Remove and return the claim of *consumer*, or ``None``."""
        entry = self._entries.pop(consumer, None)
        if entry is not None:
            consumers = self._by_host[entry.host]
            consumers.discard(consumer)
            if not consumers:
                del self._by_host[entry.host]
        return entry

    def oldest(self):
        """Return the oldest outstanding claim, or ``None``."""
        return next(iter(self._entries.values()), None)

    def of_host(self, host_id):
        """Return the consumers holding claims on *host_id*."""
        return list(self._by_host.get(host_id, ()))

    def listing(self, now):
        """Return every outstanding claim as a :class:`Claim`, oldest first.

        :param now: the clock's time, for the claims' ages.
        """
        return [Claim(entry.consumer, entry.host,
                      *(units.documented(need, units.SCALES[name])
                        for name, need in zip(units.RESOURCES,
                                              entry.needs)),
                      entry.group, max(0.0, now - entry.made),
                      entry.resources)
                for entry in self._entries.values()]
