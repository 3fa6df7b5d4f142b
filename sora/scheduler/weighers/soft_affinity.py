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
"""Weigher ``soft_affinity``: hosts running more of the request's group.

For requests with ``group_policy: soft-affinity`` (Nova's soft server
groups), a host weighs how many containers of the request's ``group`` it
runs or is claimed for (with ``topology_key``, its domain: all the hosts
with its value of that label), so the group gathers where it can and goes
elsewhere when it must. Multiplier ``[filter_scheduler]
soft_affinity_weight_multiplier``.
"""

from sora.scheduler import topology
from sora.scheduler.weighers import resource


class SoftAffinityWeigher(resource.ResourceWeigher):
    """Weigh hosts by how many containers of the request's group they run.

    Subclasses name the policy they weigh for and the sign of the count.
    """

    option = 'soft_affinity_weight_multiplier'
    policy = 'soft-affinity'
    sign = 1

    def weigh_all(self, hosts, request):
        if request.group_policy != self.policy:
            return None
        if request.topology_key is None:
            return self.sign * hosts.group_counts(request.group)
        codes, counts = topology.domain_counts(hosts, request.topology_key,
                                               request.group)
        return self.sign * counts[codes]
