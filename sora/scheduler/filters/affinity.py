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

"""Filter ``affinity``: keep a group's containers on the same hosts.

For a request with ``group_policy: affinity``, only the hosts already
running a container of the request's ``group`` pass; while no host runs
one, every host does (the group's first container goes anywhere). With a
``topology_key``, the same holds per domain: only the hosts in a domain
running the group pass, any host carrying the label while none does, and
a host without the label never. Because that depends on all hosts, this
filter has only the vectorised form.
"""

import numpy as np

from sora.scheduler import base
from sora.scheduler import topology


class AffinityFilter(base.Filter):
    """Keep the hosts running the request's group, if any host does."""

    request_fields = ('affinity', 'topology_key')

    def filter_mask(self, hosts, request):
        if request.group_policy != 'affinity':
            return None
        if request.topology_key is None:
            mask = hosts.group_mask(request.group)
            return mask if mask.any() else None
        codes, counts = topology.domain_counts(hosts, request.topology_key,
                                               request.group)
        return counts[codes] > 0 if counts.any() else codes >= 0

    def describe(self, request):
        if request.topology_key is None:
            return f'runs group {request.group}'
        return (f'affinity {request.topology_key}: in the '
                f'{request.topology_key} running group {request.group}')

    def describe_refusal(self, hosts, request, candidates):
        if request.topology_key is None:
            return None
        key = request.topology_key
        _, values = hosts.label_codes(key)
        _, counts = topology.domain_counts(hosts, key, request.group)
        running = [values[code] for code in np.flatnonzero(counts)]
        where = (f'group {request.group} runs in {key} '
                 + ', '.join(running[:3]) + (', ...' if running[3:] else '')
                 if running else topology.missing_label(hosts, key)
                 or f'no host of them has label {key}')
        return (f'affinity {key}: 0 of {np.count_nonzero(candidates)} '
                f'hosts; {where}')
