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

"""Topology: hosts grouped into domains by a label; a group's count in each.

A request's ``topology_key`` makes its ``group_policy`` hold per domain
(all hosts carrying one value of that label) instead of per host; its
``spread`` keeps a group's containers balanced across the domains. A host
without the label belongs to no domain. Counts are per host from the
table's group lookups, summed per domain with NumPy: their cost does not
grow with the group's size.
"""

import collections.abc
import dataclasses

import numpy as np

from sora.scheduler import validate

MAX_SKEW = 1 << 20
"""The largest ``max_skew`` accepted."""


@dataclasses.dataclass(frozen=True, slots=True)
class Spread:
    """Keep a group balanced over the domains of the label *key*.

    After a placement, the group's count in the chosen domain exceeds the
    smallest count of a domain by at most *max_skew*.
    """

    key: str
    max_skew: int = 1

    def __str__(self):
        return f'spread {self.key} max_skew {self.max_skew}'

    def to_dict(self):
        """Return the rule in its JSON form."""
        return {'key': self.key, 'max_skew': self.max_skew}


def parse_spread(value, where, error):
    """Return *value*, a ``{"key", "max_skew"}`` mapping, as a Spread.

    A :class:`Spread` is checked as its mapping would be; ``max_skew``
    defaults to 1.

    :raises error: naming the field and what is accepted.
    """
    if isinstance(value, Spread):
        value = value.to_dict()
    where = f'{where}: spread'
    if not isinstance(value, collections.abc.Mapping):
        raise error(f'{where} must be an object such as {{"key": "zone", '
                    f'"max_skew": 1}}, got {validate.show(value)}')
    validate.check_fields(value, ('key', 'max_skew'), where, error)
    key = validate.name(value.get('key'), 'key', where, error)
    return Spread(key, validate.whole(value.get('max_skew', 1), 'max_skew',
                                      where, error, 1, MAX_SKEW))


def missing_label(hosts, key):
    """Return why no host is in a domain of *key*, or None if some is.

    ``"no host has label 'zonee' (did you mean 'zone'?)"``: a misspelt
    ``topology_key`` or ``spread`` key.
    """
    if hosts.label_codes(key)[1]:
        return None
    return f'no host has label {key!r}' + validate.did_you_mean(
        key, set().union(*hosts.labels))


def domain_counts(hosts, key, group):
    """Return ``(codes, counts)``: each host's domain, each domain's count.

    *codes* are the hosts' codes of the label *key*
    (:meth:`~sora.scheduler.host_table.HostTable.label_codes`, -1 where
    a host has none); ``counts[code]`` is how many containers of *group*
    run (or are claimed) in that domain, with one more entry, 0, at the
    end: ``counts[codes]`` reads 0 for a host without the label.
    """
    codes, values = hosts.label_codes(key)
    # One pass over the hosts, whatever the group's size; shifted by one:
    # hosts without the label (code -1) count at 0.
    shifted = np.bincount(codes + 1, weights=hosts.group_counts(group),
                          minlength=len(values) + 1)
    counts = np.zeros(len(values) + 1, dtype=np.int64)
    counts[:-1] = shifted[1:]
    return codes, counts
