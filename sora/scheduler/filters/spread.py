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

"""Filter ``spread``: keep a group balanced over the domains of a label.

For a request with ``spread: {"key": "zone", "max_skew": 1}`` and a
``group``, the domains are the values of the label over the candidates:
the hosts that pass the request's other hard rules (see
:func:`sora.scheduler.filtering.run`). A host passes if it carries the
label and, once it takes the container, its domain runs at most
``max_skew`` more of the group than the domain that runs fewest. A
container of the group counts in its host's domain wherever that host is.
"""

import numpy as np

from sora.scheduler import base
from sora.scheduler import topology


class SpreadFilter(base.Filter):
    """Keep the hosts whose domain stays within max_skew of the smallest."""

    request_fields = ('spread',)
    needs_candidates = True

    def filter_mask(self, hosts, request, candidates):
        spread = request.spread
        if spread is None:
            return None
        codes, counts = topology.domain_counts(hosts, spread.key,
                                               request.group)
        # Per domain (and, last, for hosts without the label): whether
        # some candidate is in it, then whether it may take one more.
        domains = np.zeros(len(counts), dtype=bool)
        domains[codes[candidates]] = True
        domains[-1] = False
        if not domains.any():
            return np.zeros(len(hosts), dtype=bool)
        fits = counts + 1 - counts[domains].min() <= spread.max_skew
        fits[-1] = False
        return fits[codes]

    def describe(self, request):
        return None if request.spread is None else str(request.spread)

    def describe_refusal(self, hosts, request, candidates):
        missing = topology.missing_label(hosts, request.spread.key)
        return (f'{request.spread}: 0 of {np.count_nonzero(candidates)} '
                'hosts' + (f'; {missing}' if missing else ''))
