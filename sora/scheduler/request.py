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

"""What one container needs: the request model and its validation.

Requests arrive as plain mappings (or JSON) or :class:`Request` objects;
:func:`parse_request` validates either into a :class:`Request`, with
resource amounts rounded up to whole units (see
:mod:`sora.scheduler.units`). Hosts are parsed in
:mod:`sora.scheduler.host_state`.
"""

import collections.abc
import dataclasses
import operator

from sora.scheduler import constraints as sora_constraints
from sora.scheduler import exceptions
from sora.scheduler import preferences as sora_preferences
from sora.scheduler import taints
from sora.scheduler import topology
from sora.scheduler import units
from sora.scheduler import validate

HARD_POLICIES = ('affinity', 'anti-affinity')
"""The group policies filters enforce."""
SOFT_POLICIES = ('soft-affinity', 'soft-anti-affinity')
"""The group policies weighers favour, never the cause of a NoValidHost."""
GROUP_POLICIES = HARD_POLICIES + SOFT_POLICIES
REQUEST_FIELDS = ('memory_mb', 'cpus', 'disk_gb', 'resources', 'labels',
                  'constraints', 'tolerations', 'same_host', 'different_host',
                  'group', 'group_policy', 'topology_key', 'spread',
                  'preferences')


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """What one container needs; every field is optional (no constraint).

    Built from keywords it is validated like a request mapping
    (:class:`~sora.scheduler.exceptions.InvalidRequest` otherwise), and
    resource amounts are rounded up to whole units (MB, 1/1000 CPU, GB).

    :param memory_mb: free memory needed, in MB.
    :param cpus: free CPUs needed (fractions allowed).
    :param disk_gb: free disk needed, in GB.
    :param labels: labels the host must carry with these exact values.
    :param same_host: ids of hosts to choose among.
    :param different_host: ids of hosts to avoid.
    :param group: the container's group, for (anti-)affinity.
    :param group_policy: ``affinity`` (join the hosts already running the
        group, anywhere for its first container), ``anti-affinity``
        (never beside another container of the group), or their soft
        forms ``soft-affinity`` (prefer the hosts running the most of the
        group) and ``soft-anti-affinity`` (prefer those running the
        fewest); required with ``group`` unless it has ``spread``.
    :param resources: countable resources needed, ``{"gpu": 1}``: names
        as hosts report them, positive whole numbers. Only hosts that
        report that much free take the container.
    :param constraints: rules on the host's labels, each ``{"key",
        "op", "values"}`` (see :mod:`sora.scheduler.constraints`).
    :param tolerations: the host taints it accepts, each ``{"key", "op",
        "value", "effect"}`` (see :mod:`sora.scheduler.taints`).
    :param topology_key: the label whose values are the domains the
        ``group_policy`` holds in (one zone, no two in a zone) instead
        of hosts; needs a ``group_policy``.
    :param spread: a :class:`~sora.scheduler.topology.Spread` (or its
        mapping ``{"key": "zone", "max_skew": 1}``): the group's count in
        the chosen domain exceeds the smallest by at most ``max_skew``
        after placing; needs a ``group``.
    :param preferences: soft rules on the host's labels, each written as
        a constraint with a ``weight`` from 1 to 100 (1 when omitted; see
        :mod:`sora.scheduler.preferences`): never a reason to refuse a
        host, they favour the hosts passing the most weight.
    :ivar units: ``(memory, cpus, disk)`` needed, in whole units.
    """

    memory_mb: float = 0.0
    cpus: float = 0.0
    disk_gb: float = 0.0
    labels: collections.abc.Mapping = dataclasses.field(default_factory=dict)
    same_host: tuple = ()
    different_host: tuple = ()
    group: str = None
    group_policy: str = None
    resources: collections.abc.Mapping = dataclasses.field(
        default_factory=dict)
    constraints: tuple = ()
    tolerations: tuple = ()
    topology_key: str = None
    spread: topology.Spread = None
    preferences: tuple = ()
    units: tuple = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        error, where = exceptions.InvalidRequest, 'request'
        needs = []
        for field in units.RESOURCES:
            value = validate.number(getattr(self, field), field, where,
                                    error)
            scale = units.SCALES[field]
            needs.append(units.need(value, scale))
            object.__setattr__(self, field, needs[-1] / scale)
        object.__setattr__(self, 'units', tuple(needs))
        object.__setattr__(self, 'resources', validate.resources(
            self.resources, 'resources', where, error, least=1,
            most=units.MAX))
        object.__setattr__(self, 'labels',
                           validate.labels(self.labels, where, error))
        object.__setattr__(self, 'constraints', sora_constraints.parse(
            self.constraints, where, error))
        object.__setattr__(self, 'tolerations', taints.parse_tolerations(
            self.tolerations, where, error))
        object.__setattr__(self, 'preferences', sora_preferences.parse(
            self.preferences, where, error))
        for field in ('same_host', 'different_host'):
            object.__setattr__(self, field, validate.names(
                getattr(self, field), field, where, error))
        for field in ('group', 'group_policy', 'topology_key'):
            if getattr(self, field) is not None:
                validate.name(getattr(self, field), field, where, error)
        if self.spread is not None:
            object.__setattr__(self, 'spread', topology.parse_spread(
                self.spread, where, error))
        policies = ', '.join(GROUP_POLICIES[:-1]) + ' or ' + \
            GROUP_POLICIES[-1]
        if self.group_policy not in GROUP_POLICIES + (None,):
            raise error(f'request: group_policy must be {policies}, got '
                        f'{validate.show(self.group_policy)}')
        if self.group is not None and self.group_policy is None and \
                self.spread is None:
            raise error(f'request: group {self.group!r} needs a '
                        f'group_policy ({policies}) or a spread')
        for field in ('group_policy', 'spread'):
            if getattr(self, field) is not None and self.group is None:
                raise error(f'request: {field} needs a group to apply to')
        if self.topology_key is not None and self.group_policy is None:
            raise error('request: topology_key needs a group_policy to '
                        'apply to')

    def to_dict(self):
        """Return the request in its JSON form (unset extras omitted)."""
        data = {field: getattr(self, field) for field in REQUEST_FIELDS}
        data['labels'] = dict(self.labels)
        data['resources'] = dict(self.resources) or None
        for field in ('constraints', 'tolerations', 'preferences'):
            data[field] = [rule.to_dict() for rule in
                           getattr(self, field)] or None
        data['spread'] = self.spread and self.spread.to_dict()
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in data.items()
                if value not in ((), None)}


def parse_request(data):
    """Validate a request and return it as a :class:`Request`.

    :param data: a mapping of the optional fields of :class:`Request`,
        ``None`` (no constraint) or a :class:`Request` (validated again,
        as a mapping would be).
    :raises InvalidRequest: naming the field and what is accepted.
    """
    if data is None:
        return Request()
    if isinstance(data, Request):
        data = {field: getattr(data, field) for field in REQUEST_FIELDS}
    validate.check_fields(data, REQUEST_FIELDS, 'request',
                          exceptions.InvalidRequest)
    return Request(**{field: value for field, value in data.items()
                      if value is not None})


def parse_id(value, what='host id'):
    """Return *value*, a host or consumer id (*what*), checked.

    :raises InvalidRequest: it is not a non-empty string of text.
    """
    if not isinstance(value, str) or not value:
        raise exceptions.InvalidRequest(
            f'a {what} is a non-empty string, got {value!r:.60}')
    return validate.text(value, f'the {what}', 'request',
                         exceptions.InvalidRequest)


def parse_consumers(consumers, count):
    """Return *consumers* as a list of *count* distinct consumer ids.

    None stays None (the manager makes them).

    :raises InvalidRequest: saying which id is bad or repeated.
    """
    if consumers is None:
        return None
    if isinstance(consumers, (str, bytes, collections.abc.Mapping)) or \
            not isinstance(consumers, collections.abc.Iterable):
        raise exceptions.InvalidRequest(
            f'consumers must be a list of {count} consumer ids, got '
            f'{consumers!r:.60}')
    consumers = [parse_id(consumer, 'consumer id') for consumer in consumers]
    if len(consumers) != count:
        raise exceptions.InvalidRequest(
            f'consumers lists {len(consumers)} ids for {count} '
            'placements; give one per placement')
    if len(set(consumers)) != count:
        repeated = next(consumer for consumer in consumers
                        if consumers.count(consumer) > 1)
        raise exceptions.InvalidRequest(
            f'consumer {repeated!r} is listed twice; a consumer id names '
            'one container')
    return consumers


def parse_count(value, most, name='count'):
    """Return *value*, a count (*name*) from 1 to *most*.

    :raises InvalidRequest: it is not a whole number in that range.
    """
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or not 1 <= number <= most:
        raise exceptions.InvalidRequest(
            f'{name} must be a whole number from 1 to {most}, '
            f'got {value!r:.60}')
    return number


MAX_REASON = 255
"""The longest reason an operator may give for disabling a host."""


def parse_reason(value):
    """Return *value*, why an operator disables a host, checked.

    :raises InvalidRequest: it is not text of 1 to :data:`MAX_REASON`
        characters.
    """
    if not isinstance(value, str) or not value.strip() or \
            len(value) > MAX_REASON:
        raise exceptions.InvalidRequest(
            f'a reason for disabling a host is text of 1 to {MAX_REASON} '
            f'characters, got {value!r:.60}')
    return validate.text(value, 'the reason', 'request',
                         exceptions.InvalidRequest)
