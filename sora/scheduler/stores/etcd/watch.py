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

"""An etcd watch: the changes to a range of keys, from etcd's stream."""

import collections
import json
import socket
import threading

import requests

from sora.scheduler import exceptions
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import ops

Event = collections.namedtuple('Event', 'deleted kv')
"""One change seen by a watch: a put (``deleted`` false) or a delete."""


class HistoryLost(exceptions.StoreUnavailable):
    """etcd no longer holds the history a watch was to continue: list again.

    It compacted past the watch's start; or its revision went back, or its
    cluster id changed (restarted empty, restored from a snapshot,
    replaced).
    """


class Watch:
    """The changes to a range of keys from a revision, from etcd's stream.

    Iterate it for lists of :class:`Event`; ``revision`` is the last
    revision seen. A stream quiet for *idle* seconds is reopened from
    there. Iteration ends after :meth:`close`.

    :param client: the :class:`~client.Client`.
    :param key: the first key of the range.
    :param start_revision: the first revision to show.
    :param end: the key after the range; every key that starts with *key*
        when omitted.
    :param idle: seconds of quiet after which the stream is reopened.
    :param cluster: the id of the etcd cluster whose history the watch
        continues (as :meth:`~client.Client.header` gives it); any if 0.

    :raises HistoryLost: etcd no longer has what follows the revision
        the watch continues (checked each time a stream opens): list the
        prefix again and watch from the listing's revision.
    :raises StoreUnavailable: the stream broke or could not be opened.
    """

    def __init__(self, client, key, start_revision, end=None, idle=30.0,
                 cluster=0):
        self._client = client
        self._cluster = cluster
        self._range = {'key': ops.encode(key),
                       'range_end': ops.encode(end or ops.prefix_end(key))}
        self._idle = idle
        self.revision = start_revision - 1
        self._socket = None
        self._closed = threading.Event()

    def close(self):
        """Stop the watch; a thread iterating it returns."""
        self._closed.set()
        stream = self._socket
        if stream is not None:
            try:  # wakes the thread blocked reading it
                stream.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __iter__(self):
        while not self._closed.is_set():
            response = self._client.stream({'create_request': dict(
                self._range, start_revision=str(self.revision + 1))},
                self._idle)
            self._socket = getattr(response.raw.connection, 'sock', None)
            if self._closed.is_set():
                response.close()
                return
            try:
                for line in response.iter_lines():
                    if line.strip():
                        yield from self._events(json.loads(line))
            except (requests.RequestException, AttributeError,
                    ValueError) as error:
                if self._closed.is_set():
                    return  # closed from another thread mid-read
                if not any(isinstance(cause, etcd_client.TIMEOUTS)
                           for cause in etcd_client.causes(error)):
                    raise exceptions.StoreUnavailable(
                        f'etcd at {", ".join(self._client.endpoints)} broke '
                        f'the watch: {etcd_client.reason(error)}') from None
                # else quiet for idle seconds: open it again from revision
            finally:
                response.close()

    def _events(self, chunk):
        result = chunk.get('result', {})
        header = result.get('header', {})
        if result.get('created'):
            self._check(header)
        self._client.revisions.seen(int(header.get('revision', 0)))
        if result.get('canceled'):
            compacted = int(result.get('compact_revision', 0))
            if compacted:
                raise HistoryLost(
                    f'etcd compacted past revision {self.revision + 1} '
                    f'(now {compacted})')
            raise exceptions.StoreUnavailable(
                'etcd cancelled the watch: '
                f'{result.get("cancel_reason", "no reason given")}')
        events = [Event(event.get('type') == 'DELETE',
                        ops.key_value(event['kv']))
                  for event in result.get('events', ())]
        if events:
            self.revision = events[-1].kv.mod_revision
            yield events

    def _check(self, header):
        # A stream opens on the etcd whose history the watch continues.
        cluster, now = int(header.get('cluster_id', 0)), int(
            header.get('revision', 0))
        if self._cluster and cluster != self._cluster:
            raise HistoryLost(
                f'etcd at {", ".join(self._client.endpoints)} is another '
                f'cluster (id {cluster:x}, was {self._cluster:x})')
        if now < self.revision:
            raise HistoryLost(
                f'etcd\'s revision went back from {self.revision} to {now} '
                '(restarted empty, or restored from a snapshot)')
