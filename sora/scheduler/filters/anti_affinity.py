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

"""Filter ``anti_affinity``: never two containers of a group on a host.

Applies to requests with ``group_policy: anti-affinity``; hosts report
the groups of the containers they run in ``groups``. With a
``topology_key``, never two in a domain: the hosts of a domain running
the group are refused. A host without the label is in no domain: it
passes, as kube-scheduler's pod anti-affinity lets it, unless it runs a
container of the group itself (never two on one host). While no host
carries the label at all (a misspelt key), none passes.
"""

import numpy as np

from sora.scheduler import base
from sora.scheduler import topology


class AntiAffinityFilter(base.Filter):
    """Keep the hosts running no container of the request's group."""

    request_fields = ('anti-affinity', 'topology_key')

    def filter_mask(self, hosts, request):
        if request.group_policy != 'anti-affinity':
            return None
        if request.topology_key is None:
            return ~hosts.group_mask(request.group)
        codes, counts = topology.domain_counts(hosts, request.topology_key,
                                               request.group)
        if len(counts) == 1:  # no domain: only the slot of the unlabelled
            return np.zeros(len(hosts), dtype=bool)
        alone = np.where(codes >= 0, 0, hosts.group_counts(request.group))
        return (counts[codes] == 0) & (alone == 0)

    def describe(self, request):
        if request.topology_key is None:
            return f'does not run group {request.group}'
        return (f'anti-affinity {request.topology_key}: no '
                f'{request.topology_key} running group {request.group}')

    def describe_refusal(self, hosts, request, candidates):
        if request.topology_key is None:
            return None
        key = request.topology_key
        why = topology.missing_label(hosts, key) or (
            f'group {request.group} runs in each {key} they are in')
        return (f'anti-affinity {key}: 0 of {np.count_nonzero(candidates)} '
                f'hosts; {why}')
