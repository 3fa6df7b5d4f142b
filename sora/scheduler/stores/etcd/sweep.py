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

"""Settled claims still in etcd, and the sweep that deletes them.

A report settles the claims made before it in every manager's copy at
once; the report's writer deletes those it knew of in the same
transaction. The others stay in etcd, counted nowhere, until a manager's
watch thread deletes them: each only if it is still the claim settled,
and one with a group the report's ``members`` lack only together with a
rewrite of the report that adds it, so that the container keeps counting
for its group in every manager, even one that lists etcd later.
"""

import threading

from oslo_log import log as logging

from sora.scheduler import exceptions
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops

LOG = logging.getLogger(__name__)


class Settled:
    """The settled claims one copy knows are still in etcd.

    :param client: the :class:`~client.Client`.
    :param keys: the deployment's :class:`~codec.Keys`.
    :param most: the most operations of one transaction.
    """

    def __init__(self, client, keys, most):
        self._client, self._keys, self._most = client, keys, most
        self._lock = threading.Lock()
        self._created = {}    # {consumer: create revision of its claim}
        self._hosts = {}      # {consumer: host id whose report settled it}
        self._unrecorded = {}  # {consumer: (host id, group)}

    def __bool__(self):
        return bool(self._created)

    def add(self, consumer, created, host_id, group=None):
        """Note the claim of *consumer* created at *created* as settled.

        :param group: its group, if the settling report of *host_id* does
            not keep it among its members.
        """
        with self._lock:
            self._created[consumer] = created
            self._hosts[consumer] = host_id
            if group is not None:
                self._unrecorded[consumer] = (host_id, group)

    def unrecorded(self, host_id):
        """Return ``{consumer: group}`` of *host_id*'s unrecorded claims.

        Settled claims whose group the host's report does not keep yet.
        """
        with self._lock:
            return {consumer: group for consumer, (host, group)
                    in self._unrecorded.items() if host == host_id}

    def of_host(self, host_id, listed=()):
        """Return ``[(consumer, created)]`` a report of *host_id* settled.

        The settled claims still in etcd of the consumers a report of
        *host_id* listed, but those of *listed*: a listing would count
        them again once no report lists their consumers, so a write that
        removes the host or replaces its report deletes them.
        """
        with self._lock:
            return [(consumer, created)
                    for consumer, created in self._created.items()
                    if self._hosts.get(consumer) == host_id and
                    consumer not in listed]

    def created(self, consumer):
        """Return the create revision of *consumer*'s claim, or None."""
        with self._lock:
            return self._created.get(consumer)

    def forget(self, consumer):
        """Forget *consumer*: its claim is gone from etcd."""
        with self._lock:
            self._created.pop(consumer, None)
            self._hosts.pop(consumer, None)
            self._unrecorded.pop(consumer, None)

    def sweep(self):
        """Delete the settled claims still in etcd.

        Those a failure leaves go at the next sweep.
        """
        with self._lock:
            plain = [(consumer, created) for consumer, created
                     in self._created.items()
                     if consumer not in self._unrecorded]
            grouped = [(consumer, self._created[consumer], *where)
                       for consumer, where in self._unrecorded.items()]
        most = self._most - 1  # each nested transaction takes one
        try:
            for start in range(0, len(plain), most):
                self._client.txn([], deleted(self._keys,
                                             plain[start:start + most]))
            plain += [(consumer, created) for consumer, created, *where
                      in grouped if self._recorded(consumer, created, *where)]
        except exceptions.StoreUnavailable as error:
            LOG.debug('Settled claims stay in etcd until the next sweep: %s',
                      error)
            return
        with self._lock:
            for consumer, created in plain:
                if self._created.get(consumer) == created:
                    del self._created[consumer]  # else settled again since
                    del self._hosts[consumer]
                    self._unrecorded.pop(consumer, None)

    def _recorded(self, consumer, created, host_id, group):
        # Delete the settled claim of *consumer* (*group*) together with a
        # rewrite of its host's report that keeps its group among the
        # report's members, if the report still lists it; whether done.
        keys, client = self._keys, self._client
        key, claim = keys('hosts', host_id), keys('claims', consumer)
        _, found = client.range(key, key + '\0')
        try:
            record = codec.loads(found[0].value)
            listed = consumer in codec.decode_report(
                host_id, record)[0].consumers[0]
        except (IndexError, *codec.FOREIGN):
            listed = False
        if not listed:  # the host or the container is gone: nothing to keep
            return client.txn([], deleted(keys, [(consumer, created)]))[0]
        members = {**record.pop('members', {}), consumer: group}
        done, _, _ = client.txn(
            [ops.modified_at(key, found[0].mod_revision),
             ops.created_at(claim, created)],
            [ops.put(key, codec.encode_report(record, members),
                     found[0].lease),
             ops.delete(claim)])
        return done


def deleted(keys, held):
    """Return operations deleting claims ``[(consumer, created)]``.

    Each only if it is still the one created then (nested transactions:
    each takes one of the transaction's operations).
    """
    return [ops.delete_created_at(keys('claims', consumer), created)
            for consumer, created in held]
