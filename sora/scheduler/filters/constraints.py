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


"""Filter ``constraints``: hosts whose labels pass the request's rules.

Rules compare a label with an operator (``in``, ``not_in``, ``exists``,
``not_exists``, ``gt``, ``lt``; see :mod:`sora.scheduler.constraints`);
exact matches stay with ``labels``.
"""

import numpy as np

from sora.scheduler import base


class ConstraintsFilter(base.Filter):
    """Keep the hosts whose labels pass every rule of the request."""

    request_fields = ('constraints',)

    def filter_mask(self, hosts, request):
        if not request.constraints:
            return None
        mask = np.ones(len(hosts), dtype=bool)
        for rule in request.constraints:
            mask &= rule.mask(hosts)
        return mask

    def describe(self, request):
        return '; '.join(map(str, request.constraints)) or None

    def describe_refusal(self, hosts, request, candidates):
        # The rule that removed the last of the hosts it was given.
        left = candidates
        for rule in request.constraints:
            passed = left & rule.mask(hosts)
            if not passed.any():
                return f'{rule}: 0 of {np.count_nonzero(left)} hosts'
            left = passed
        return None
