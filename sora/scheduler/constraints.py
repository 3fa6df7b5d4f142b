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


"""Constraints: rules on a host's labels with an operator.

A request's ``constraints`` (``[{"key": "zone", "op": "in", "values":
["az1", "az2"]}]``) are checked column by column: each rule looks at the
distinct values of its label once, never host by host.
"""

import collections.abc
import dataclasses
import math

import numpy as np

from sora.scheduler import validate

OPERATORS = ('in', 'not_in', 'exists', 'not_exists', 'gt', 'lt')
"""``in``/``not_in`` a list of values (``not_in`` passes hosts without the
label), ``exists``/``not_exists`` (no values), ``gt``/``lt`` one number (a
host whose label is not a number fails them)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Constraint:
    """One rule: the host's label *key* compared by *op* with *values*."""

    key: str
    op: str
    values: tuple = ()

    def mask(self, hosts):
        """Return the mask of the rows of *hosts* that pass this rule."""
        codes, values = hosts.label_codes(self.key)
        if self.op == 'exists':
            return codes >= 0
        if self.op == 'not_exists':
            return codes < 0
        # The last entry of a lookup by code stands for hosts without the
        # label (code -1).
        if self.op in ('in', 'not_in'):
            inside = np.array([value in self.values for value in values]
                              + [False])[codes]
            return inside if self.op == 'in' else ~inside
        numbers = np.array([_number(value) for value in values] + [math.nan])
        found, limit = numbers[codes], _number(self.values[0])
        return found > limit if self.op == 'gt' else found < limit

    def __str__(self):
        return ' '.join([self.key, self.op, ','.join(self.values)]).rstrip()

    def to_dict(self):
        """Return the rule in its JSON form."""
        data = {'key': self.key, 'op': self.op}
        if self.values:
            data['values'] = list(self.values)
        return data


EXAMPLE = '{"key": "zone", "op": "in", "values": ["az1"]}'
FIELDS = ('key', 'op', 'values')


def parse(value, where, error):
    """Return *value*, a list of rule mappings, as a tuple of Constraint.

    A :class:`Constraint` in the list is checked as its mapping would be.

    :raises error: naming the rule, the field and what is accepted.
    """
    return tuple(rule(item, at, error) for item, at in
                 listed(value, 'constraints', where, error))


def listed(value, field, where, error, example=EXAMPLE, kind=Constraint):
    """Yield each item of *value*, the list of rules *field*, and its place.

    The place names the item for messages (``request: constraint 0``); an
    item of type *kind* is given as its mapping (``to_dict()``).

    :raises error: *value* is not a list, saying what is accepted
        (*example*).
    """
    if isinstance(value, (str, bytes, collections.abc.Mapping)) or \
            not isinstance(value, collections.abc.Iterable):
        raise error(f'{where}: {field} must be a list of rules such as '
                    f'{example}, got {validate.show(value)}')
    for n, item in enumerate(value):
        yield (item.to_dict() if isinstance(item, kind) else item,
               f'{where}: {field[:-1]} {n}')


def rule(item, where, error, extra=()):
    """Return the :class:`Constraint` the mapping *item* writes.

    *item* may also carry the fields *extra*, which the caller reads.

    :raises error: naming the field of *item* (at *where*) that is wrong
        and what is accepted.
    """
    validate.check_fields(item, FIELDS + extra, where, error)
    key = validate.name(item.get('key'), 'key', where, error)
    op = item.get('op')
    if op not in OPERATORS:
        raise error(f'{where}: op must be one of {", ".join(OPERATORS)}, '
                    f'got {validate.show(op)}')
    values = item.get('values')
    if op in ('exists', 'not_exists'):
        if values:
            raise error(f'{where}: {op} takes no values, got '
                        f'{validate.show(values)}')
        return Constraint(key, op)
    values = validate.names(() if values is None else values, 'values',
                            where, error)
    if not values:
        raise error(f'{where}: {op} needs values: '
                    + ('a list of label values' if op in ('in', 'not_in')
                       else 'one number, e.g. ["16"]'))
    if op in ('gt', 'lt') and (len(values) != 1 or
                               math.isnan(_number(values[0]))):
        raise error(f'{where}: {op} takes one number (as a string, e.g. '
                    f'["16"]), got {validate.show(list(values))}')
    return Constraint(key, op, values)


def _number(text):
    # The number a label value writes, or NaN.
    try:
        number = float(text)
    except ValueError:
        return math.nan
    return number if math.isfinite(number) else math.nan
