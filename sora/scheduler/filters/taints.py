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

"""Filter ``taints``: hosts whose ``no_schedule`` taints the request accepts.

Always enforced, like fit: a host tainted ``no_schedule`` takes only the
requests whose ``tolerations`` accept each such taint.
(``prefer_no_schedule`` taints are a preference:
:func:`sora.scheduler.filtering.place` keeps off them while another host
fits.)
"""

import collections

import numpy as np

from sora.scheduler import base
from sora.scheduler import taints


class TaintsFilter(base.Filter):
    """Keep off the hosts with a no_schedule taint not tolerated."""

    def filter_mask(self, hosts, request):
        refused = taints.refused(hosts, request.tolerations)
        return None if refused is None else ~refused

    def describe(self, request):
        return ', '.join(f'tolerates {toleration}'
                         for toleration in request.tolerations) or None

    def describe_refusal(self, hosts, request, candidates):
        # Each taint that kept candidates off, with how many it did.
        codes, found = np.unique(hosts.taint_set[candidates],
                                 return_counts=True)
        kept_off = collections.Counter()
        for code, count in zip(codes.tolist(), found.tolist()):
            for taint in taints.untolerated(hosts.taint_sets[code],
                                            request.tolerations,
                                            taints.NO_SCHEDULE):
                kept_off[taint] += count
        return '; '.join(f'taint {taint}: {count} host' + 's' * (count != 1)
                         for taint, count in kept_off.most_common()) or None
