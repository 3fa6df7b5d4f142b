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


"""Preferences: soft rules on a host's labels, each with a weight.

A request's ``preferences`` (``[{"key": "ssd", "op": "in", "values":
["true"], "weight": 50}]``) are written as ``constraints`` are (see
:mod:`sora.scheduler.constraints`, whose rules they hold) plus a weight, a
whole number from 1 to 100, 1 when omitted. They never remove a host: a
host's preference score is the sum of the weights of the rules it passes,
and the drivers favour the hosts that score highest.
"""

import dataclasses

from sora.scheduler import constraints
from sora.scheduler import validate

WEIGHTS = range(1, 101)
"""The weights a preference may have."""
DEFAULT_WEIGHT = 1
EXAMPLE = '{"key": "ssd", "op": "in", "values": ["true"], "weight": 50}'


@dataclasses.dataclass(frozen=True, slots=True)
class Preference:
    """One soft rule: the hosts that pass *rule* score *weight*."""

    rule: constraints.Constraint
    weight: int = DEFAULT_WEIGHT

    def mask(self, hosts):
        """Return the mask of the rows of *hosts* that pass the rule."""
        return self.rule.mask(hosts)

    def __str__(self):
        return f'{self.rule} (weight {self.weight})'

    def to_dict(self):
        """Return the preference in its JSON form."""
        return dict(self.rule.to_dict(), weight=self.weight)


def parse(value, where, error):
    """Return *value*, a list of preference mappings, as Preferences.

    A :class:`Preference` in the list is checked as its mapping would be.

    :raises error: naming the preference, the field and what is accepted.
    """
    return tuple(_preference(item, at, error) for item, at in
                 constraints.listed(value, 'preferences', where, error,
                                    EXAMPLE, Preference))


def _preference(item, where, error):
    rule = constraints.rule(item, where, error, extra=('weight',))
    weight = item.get('weight')
    if weight is None:
        return Preference(rule)
    return Preference(rule, validate.whole(weight, 'weight', where, error,
                                           WEIGHTS[0], WEIGHTS[-1]))
