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

"""The etcd store's keys and records: one writer and one reader of each.

Every key is ``<prefix>/<kind>/<name>``: the kind one word, the name with
``%`` written ``%25`` and ``/`` ``%2F``, so that no key of a deployment is
a key of another whose prefix is nested in it. Values are JSON with amounts
in whole units; what Sora did not write (or wrote in a shape it does not
know) reads as :data:`FOREIGN`, parsed with bounds so that no value can
stop a reader.
"""

import collections
import json
import math
import types

from sora.scheduler import claims
from sora.scheduler import host_table
from sora.scheduler import reports as sora_reports
from sora.scheduler import taints as sora_taints
from sora.scheduler import units
from sora.scheduler import validate

MAX_BYTES = 1 << 20
"""The most bytes of reports (or claims) Sora writes in one transaction:
etcd refuses a request over ``--max-request-bytes``, 1.5 MiB by default."""

FORMAT = 2
"""The format of the records this Sora writes, and the newest it reads.

Each record says its own (``format``; records written before it was said
are format 1), and the store's ``<prefix>/format`` key the newest any of
its managers writes: a manager refuses a store whose format is newer.
Format 2 added countable resources to reports and claims, and taints to
reports."""

FOREIGN = (ValueError, TypeError, KeyError, AttributeError, RecursionError)
"""What reading a value that holds no Sora report or claim raises
(RecursionError: JSON nested deeper than the parser goes)."""

Report = collections.namedtuple('Report', 'lease revision groups members')
"""What is known of a host's report key: its lease (0 for none), the
revision that wrote it, the groups it lists and its ``members``, the groups
kept for the placed containers it lists (:func:`claims.groups_kept`)."""


class Keys:
    """The keys of one deployment, under *prefix*."""

    def __init__(self, prefix):
        self.prefix = prefix.rstrip('/') + '/'

    def __call__(self, kind, name):
        """Return the key of *name* (a host id, consumer, group) of *kind*."""
        return (f'{self.prefix}{kind}/'
                f'{name.replace("%", "%25").replace("/", "%2F")}')

    @property
    def format(self):
        """The key holding the store's format (see :data:`FORMAT`)."""
        return self.prefix + 'format'

    def name(self, key):
        """Return ``(kind, name)`` of *key*; name None if it is not Sora's.

        Sora's names are text and hold no ``/``: a key with one after its
        kind belongs to a deployment whose prefix is nested in this one.
        """
        kind, _, name = key[len(self.prefix):].partition('/')
        if not name or '/' in name or not validate.is_text(name):
            return kind, None
        return kind, name.replace('%2F', '/').replace('%25', '%')


def report_record(reports, i, reported):
    """Return the stored form of report *i* of *reports*, as a mapping.

    *reported* is when it was written, on its writer's clock (seconds
    since the epoch). Its ``members`` are added by :func:`encode_report`;
    its countable resources and taints only when it reports some.
    """
    # ``reported`` is optional in format 2: readers that predate it read
    # the fields they know by name (decode_report) and ignore the rest, and
    # the sweep rewrites a record with every field it holds.
    record = {'format': FORMAT, 'reported': reported,
              'amounts': {name: column[i] for name, column in
                          reports.amounts.items()},
              'containers': reports.containers[i],
              'enabled': reports.enabled[i],
              'labels': dict(reports.labels[i]),
              'groups': list(reports.groups[i]),
              'consumers': list(reports.consumers[i])}
    if reports.resources_total[i]:
        record['resources'] = dict(reports.resources[i])
        record['resources_total'] = dict(reports.resources_total[i])
    if reports.taints[i]:
        record['taints'] = [taint.to_dict() for taint in reports.taints[i]]
    return record


def encode_report(record, members):
    """Return the value of a report *record* with its *members*."""
    return json.dumps(dict(record, members=members)).encode()


def encode_claim(entry):
    """Return the value of the claim *entry* (made at Unix time).

    Its countable resources only when it holds some.
    """
    record = {'format': FORMAT, 'host': entry.host,
              'needs': list(entry.needs), 'group': entry.group,
              'made': entry.made}
    if entry.resources:
        record['resources'] = dict(entry.resources)
    return json.dumps(record).encode()


def encode_disabled(reason):
    """Return the value of a host's ``disabled/`` key: the operator's."""
    return json.dumps({'format': FORMAT, 'reason': reason}).encode()


def decode_disabled(record):
    """Return the reason of a stored ``disabled/`` mapping.

    :raises FOREIGN: it holds no Sora reason.
    """
    _checked_format(record)
    return _text(record['reason'])


def encode_format():
    """Return the value of the store's format key, this Sora's format."""
    return json.dumps({'format': FORMAT}).encode()


def refused_format(prefix, value):
    """Return why a store with format key *value* is refused, or None.

    :raises FOREIGN: the value holds no Sora store format.
    """
    found = loads(value)['format']
    if type(found) is not int or found < 1:
        raise ValueError(f'format {found!r} is not a whole number >= 1')
    if found <= FORMAT:
        return None
    return (f'the etcd store under [etcd] prefix {prefix.rstrip("/")!r} is '
            f'in format {found}, written by a newer Sora; this one reads '
            f'format {FORMAT} at most: upgrade every scheduler that uses '
            'this prefix')


def _checked_format(record):
    # Refuse (as FOREIGN) a record of a newer format than this Sora reads.
    found = record.get('format', 1)
    if type(found) is not int or not 1 <= found <= FORMAT:
        raise ValueError(f'format {found!r}; this Sora reads 1 to {FORMAT}')


def loads(value):
    """Return the JSON *value*, its integers bounded (:data:`FOREIGN`)."""
    return json.loads(value, parse_int=_bounded_int)


def decode_report(host_id, record):
    """Return ``(Reports of one host, its members)`` of a stored mapping.

    Records written before members were kept have none.

    :raises FOREIGN: it holds no Sora report.
    """
    _checked_format(record)
    labels, members = record['labels'], record.get('members', {})
    if type(record['enabled']) is not bool or not isinstance(labels, dict) \
            or not isinstance(members, dict):
        raise TypeError('its enabled, labels or members are not a report\'s')
    labels = {_text(key): _text(value) for key, value in labels.items()}
    members = {_text(key): _text(value) for key, value in members.items()}
    counted = sora_reports.counted(_counted(record, 'resources'),
                                   _counted(record, 'resources_total'))
    if counted is None:
        raise ValueError('its resources are more than their totals')
    taints = record.get('taints')
    taints = sora_taints.NONE if taints is None else sora_taints.plain(
        taints)
    if taints is None:
        raise ValueError('its taints are not a report\'s')
    return sora_reports.Reports(
        [host_id], {name: [_whole(record['amounts'][name])]
                    for name in host_table.FLOATS},
        [_whole(record['containers'], sora_reports.MAX_CONTAINERS)],
        [record['enabled']],
        [types.MappingProxyType(labels)],
        [_texts(record['groups'])], [_texts(record['consumers'])],
        [counted[0]], [counted[1]], [taints]), members


def reported(record):
    """Return when a stored report mapping was written, or None (unknown).

    On its writer's clock. Records written before Sora kept it have none;
    a value that is not a finite number >= 0 reads as unknown too, rather
    than losing the report.
    """
    at = record.get('reported')
    if type(at) in (int, float) and math.isfinite(at) and at >= 0:
        return at
    return None


def decode_claim(consumer, claim):
    """Return the :class:`claims.Entry` of a stored mapping.

    :raises FOREIGN: it holds no Sora claim.
    """
    _checked_format(claim)
    needs, group, made = claim['needs'], claim['group'], claim['made']
    if not isinstance(needs, list) or len(needs) != len(units.RESOURCES) \
            or not (group is None or isinstance(group, str)) \
            or type(made) not in (int, float) or not math.isfinite(made):
        raise TypeError('its needs, group or time are not a claim\'s')
    return claims.Entry(consumer, _text(claim['host']),
                        tuple(_whole(need, units.MAX + 1) for need in needs),
                        group, made, types.MappingProxyType(
                            _counted(claim, 'resources') or {}))


def stored(kv):
    """Return the :class:`Report` of a ``hosts/`` key read from etcd.

    One that holds no Sora report has no groups or members.
    """
    try:
        reports, members = decode_report(kv.key, loads(kv.value))
        groups = reports.groups[0]
    except FOREIGN:
        groups, members = (), {}
    return Report(kv.lease, kv.mod_revision, groups, members)


def stored_claim(consumer, kvs):
    """Return ``(claims.Entry, created revision)`` of a ``claims/`` key.

    That of *consumer* read from etcd (*kvs*: ``[KeyValue]``, empty if the
    key does not exist); None if there is none, or it holds no Sora claim.
    """
    try:
        return decode_claim(consumer, loads(kvs[0].value)), \
            kvs[0].create_revision
    except (IndexError, *FOREIGN):
        return None


def _bounded_int(text):
    # JSON integers Sora may have written: no longer than units.UNLIMITED.
    if len(text) > 20:
        raise ValueError(f'{text:.40}... is not a number Sora writes')
    return int(text)


def _whole(value, most=units.UNLIMITED):
    # A stored amount or count: a whole number from 0 to *most*.
    if type(value) is not int or not 0 <= value <= most:
        raise TypeError(f'{value!r:.40} is not a whole number from 0 to '
                        f'{most}')
    return value


def _counted(record, field):
    # A stored mapping of countable resources (records of format 1 have
    # none: None), checked.
    amounts = record.get(field)
    if amounts is None:
        return None
    if not isinstance(amounts, dict) or not all(
            validate.is_resource_name(name) for name in amounts):
        raise TypeError(f'its {field} are not countable resources')
    return {name: _whole(amount, units.MAX + 1)
            for name, amount in amounts.items()}


def _text(value):
    # A stored string.
    if not isinstance(value, str):
        raise TypeError(f'{value!r:.40} is not a string')
    return value


def _texts(values):
    # A stored list of strings, as a tuple.
    if not isinstance(values, list):
        raise TypeError(f'{values!r:.40} is not a list of strings')
    return tuple(map(_text, values))
