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

"""Reading the keys a mirror follows, for its listings and its watch alike.

A key that holds no Sora value (written by another program, or by a Sora
in a format this one does not read) is logged and read as gone; the
``format`` key of a newer Sora stops the reader.
"""

import contextlib
import gc

from oslo_log import log as logging

from sora.scheduler import exceptions
from sora.scheduler import reports as sora_reports
from sora.scheduler.stores.etcd import codec
from sora.scheduler import validate

LOG = logging.getLogger(__name__)

_READERS = {
    'hosts': ('node report', lambda host_id, record: (
        *codec.decode_report(host_id, record), codec.reported(record))),
    'claims': ('claim', codec.decode_claim),
    'disabled': ('reason for disabling a host',
                 lambda host_id, record: codec.decode_disabled(record))}
"""What each followed kind of key holds, and its reader."""


def list_into(copy, client, keys, followed):
    """List the *followed* range into the empty replica *copy*.

    :returns: ``(cluster id, revision)`` of the listing.
    """
    cluster, _ = client.header()
    revision, found = client.range(*followed)
    hosts, members, stamps, foreign, disabled = [], [], [], {}, {}
    times = []
    for item in sorted(found, key=lambda item: item.create_revision):
        if item.key == keys.format:
            check_format(keys, item.value)
            continue
        kind, name, held = read(keys, item)
        if kind == 'disabled':
            disabled[name] = held
        elif kind == 'hosts' and held is None:
            foreign[name] = item.mod_revision
        elif kind == 'hosts':
            hosts.append(held[0])
            members.append(held[1])
            times.append(held[2])
            stamps.append((item.lease, item.mod_revision))
        elif held is not None:
            copy.record([(name, held, item.create_revision)])
    copy.report(sora_reports.Reports.joined(hosts), members, stamps, times)
    for name, written in foreign.items():
        copy.drop_host(name, written)
    for name, reason in disabled.items():
        copy.hosts.disable(name, reason)
    return cluster, revision


def check_format(keys, value):
    """Stop at the ``format`` key *value* of a newer Sora.

    Until listed afresh by this Sora's upgrade (the watch keeps failing
    with the reason).

    :raises StoreUnavailable: saying why.
    """
    try:
        refusal = codec.refused_format(keys.prefix, value)
    except codec.FOREIGN as error:
        LOG.warning('Ignoring etcd key %(key)s: it holds no Sora store '
                    'format (%(error)s)',
                    {'key': validate.shown(keys.format), 'error': error})
        return
    if refusal is not None:
        raise exceptions.StoreUnavailable(refusal)


def read(keys, kv, deleted=False):
    """Return ``(kind, name, held)`` of a followed key.

    *kind* is None for a key that is not Sora's; *held* None for one
    deleted or holding no Sora report, claim or reason (logged), else
    ``(Reports, members, reported)``, a ``claims.Entry`` or the reason a
    host is disabled.
    """
    kind, name = keys.name(kv.key)
    if name is None or kind not in _READERS:
        return None, name, None
    if deleted:
        return kind, name, None
    what, reader = _READERS[kind]
    try:
        return kind, name, reader(name, codec.loads(kv.value))
    except codec.FOREIGN as error:
        LOG.warning('Ignoring etcd key %(key)s: it holds no Sora '
                    '%(what)s (%(error)s: %(detail)s)',
                    {'key': validate.shown(kv.key), 'what': what,
                     'error': type(error).__name__, 'detail': error})
    return kind, name, None


@contextlib.contextmanager
def collector_paused():
    """Pause the cyclic garbage collector, unless the process has."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
