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

"""Taints on hosts, and the tolerations of requests.

A node reports ``taints`` (``[{"key": "dedicated", "value": "gpu",
"effect": "no_schedule"}]``): a ``no_schedule`` taint keeps off every
request that does not tolerate it; a ``prefer_no_schedule`` one keeps off
those while another host fits. A request's ``tolerations`` (``[{"key":
"dedicated", "op": "equal", "value": "gpu"}]``) name the taints it
accepts. Hosts share few distinct taint sets: a table holds each host's as
a code (column ``taint_set``) into the tuple ``taint_sets``, so a request
looks at each distinct set once, never host by host.
"""

import collections
import collections.abc
import dataclasses
import functools

import numpy as np

from sora.scheduler import validate

NO_SCHEDULE = 'no_schedule'
PREFER_NO_SCHEDULE = 'prefer_no_schedule'
EFFECTS = (NO_SCHEDULE, PREFER_NO_SCHEDULE)
OPS = ('equal', 'exists')
MAX_TAINTS = 32
"""The most taints one report, or tolerations one request, may list."""
NONE = ()
"""The taints of a host that reports none (code 0 of every table)."""


class Taint(collections.namedtuple('Taint', 'key value effect')):
    """One taint of a host: *key*, *value* (``''`` for none), *effect*."""

    __slots__ = ()

    def __str__(self):
        value = f'={self.value}' if self.value else ''
        return f'{self.key}{value}:{self.effect}'

    def to_dict(self):
        """Return the taint in its JSON form (no value: omitted)."""
        data = self._asdict()
        if not self.value:
            del data['value']
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class Toleration:
    """A taint a request accepts.

    ``op`` ``equal``: a taint of *key* with *value*; ``exists``: of *key*,
    any value. No *effect* tolerates both effects.
    """

    key: str
    op: str = 'equal'
    value: str = ''
    effect: str = None

    def tolerates(self, taint):
        """Whether this toleration accepts *taint*."""
        return taint.key == self.key and (
            self.op == 'exists' or taint.value == self.value) and (
            self.effect is None or taint.effect == self.effect)

    def __str__(self):
        value = '' if self.op == 'exists' else f'={self.value}'
        return f'{self.key}{value}:{self.effect or "*"}'

    def to_dict(self):
        """Return the toleration in its JSON form (defaults omitted)."""
        data = {'key': self.key, 'op': self.op}
        if self.value:
            data['value'] = self.value
        if self.effect is not None:
            data['effect'] = self.effect
        return data


def parse_taints(value, where, error):
    """Return a report's *value* as a sorted tuple of :class:`Taint`.

    Equal sets are one shared tuple.

    :raises error: naming the taint, the field and what is accepted.
    """
    items = _listed(value, 'taints', '{"key": "dedicated", "value": "gpu", '
                    '"effect": "no_schedule"}', where, error)
    taints = set()
    for n, item in enumerate(items):
        at = f'{where}: taint {n}'
        if isinstance(item, Taint):
            item = item.to_dict()
        validate.check_fields(item, Taint._fields, at, error)
        key = validate.name(item.get('key'), 'key', at, error)
        effect = item.get('effect')
        if effect not in EFFECTS:
            raise error(f'{at}: effect must be one of {", ".join(EFFECTS)}, '
                        f'got {validate.show(effect)}')
        taints.add(Taint(key, _value(item, at, error), effect))
    return shared(tuple(sorted(taints)))


@functools.lru_cache(maxsize=1024)
def shared(taints):
    """Return the one tuple of the sorted *taints* every host shares."""
    return taints


def plain(value):
    """Return a report's taints as :func:`parse_taints` does; None if bad.

    For the fast paths, which leave naming what is wrong to the checked
    one.
    """
    try:
        return parse_taints(value, '', _Refused)
    except _Refused:
        return None


class _Refused(Exception):
    pass


def parse_tolerations(value, where, error):
    """Return a request's *value* as a tuple of :class:`Toleration`.

    :raises error: naming the toleration, the field and what is accepted.
    """
    items = _listed(value, 'tolerations', '{"key": "dedicated", "op": '
                    '"equal", "value": "gpu"}', where, error)
    tolerations = []
    for n, item in enumerate(items):
        at = f'{where}: toleration {n}'
        if isinstance(item, Toleration):
            item = item.to_dict()
        validate.check_fields(item, ('key', 'op', 'value', 'effect'), at,
                              error)
        key = validate.name(item.get('key'), 'key', at, error)
        op = item.get('op', 'equal')
        if op not in OPS:
            raise error(f'{at}: op must be one of {", ".join(OPS)}, got '
                        f'{validate.show(op)}')
        if op == 'exists' and item.get('value') is not None:
            raise error(f'{at}: exists takes no value (it tolerates any), '
                        f'got {validate.show(item["value"])}')
        effect = item.get('effect')
        if effect not in EFFECTS + (None,):
            raise error(f'{at}: effect must be one of {", ".join(EFFECTS)} '
                        f'(or none, for both), got {validate.show(effect)}')
        tolerations.append(Toleration(key, op, _value(item, at, error),
                                      effect))
    return tuple(tolerations)


def untolerated(taints, tolerations, effect):
    """Return the taints of *effect* among *taints* no toleration accepts."""
    return [taint for taint in taints if taint.effect == effect and not any(
        toleration.tolerates(taint) for toleration in tolerations)]


def refused(hosts, tolerations, effect=NO_SCHEDULE):
    """Return the mask of *hosts* with a taint of *effect* not tolerated.

    None when no host has one.
    """
    sets = hosts.taint_sets
    if len(sets) == 1:
        return None
    found = np.fromiter((bool(untolerated(taints or NONE, tolerations,
                                          effect)) for taints in sets),
                        dtype=bool, count=len(sets))
    return found[hosts.taint_set] if found.any() else None


def codes(host_taints):
    """Return ``(codes, sets)`` of each host's taints (see TaintSets)."""
    sets = TaintSets()
    return (np.fromiter(map(sets.take, host_taints), dtype=np.int64,
                        count=len(host_taints)), sets.frozen())


class TaintSets:
    """Codes for the distinct taint sets of a table's hosts.

    Code 0 is no taint. A code no host holds any more is given to the
    next new set; :meth:`frozen` is the tuple of sets by code (``None``
    for a free code) that a snapshot keeps.
    """

    def __init__(self):
        self._sets, self._users = [NONE], [0]  # by code
        self._code = {NONE: 0}
        self._free = []
        self._frozen = None

    def take(self, taints):
        """Return the code of *taints*, for one more host that has them."""
        if not taints:
            return 0
        code = self._code.get(taints)
        if code is None:
            code = self._free.pop() if self._free else len(self._sets)
            if code == len(self._sets):
                self._sets.append(None)
                self._users.append(0)
            self._sets[code], self._code[taints] = taints, code
            self._frozen = None
        self._users[code] += 1
        return code

    def give_back(self, code):
        """Note that one host no longer has the taints of *code*."""
        if not code:
            return
        self._users[code] -= 1
        if not self._users[code]:
            del self._code[self._sets[code]]
            self._sets[code] = None
            self._free.append(code)
            self._frozen = None

    def frozen(self):
        """Return the taint sets by code, as a tuple."""
        if self._frozen is None:
            self._frozen = tuple(self._sets)
        return self._frozen


def _listed(value, field, example, where, error):
    # *value* as a list of at most MAX_TAINTS items.
    if isinstance(value, (str, bytes, collections.abc.Mapping)) or \
            not isinstance(value, collections.abc.Iterable):
        raise error(f'{where}: {field} must be a list such as [{example}], '
                    f'got {validate.show(value)}')
    items = list(value)
    if len(items) > MAX_TAINTS:
        raise error(f'{where}: {field} lists {len(items)}, more than the '
                    f'{MAX_TAINTS} accepted')
    return items


def _value(item, where, error):
    # A taint's or toleration's value: text, '' when absent.
    value = item.get('value')
    if value is None:
        return ''
    if not isinstance(value, str):
        raise error(f'{where}: value must be a string, got '
                    f'{validate.show(value)}')
    return validate.text(value, 'value', where, error)
