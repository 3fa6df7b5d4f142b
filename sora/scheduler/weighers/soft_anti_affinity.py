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
"""Weigher ``soft_anti_affinity``: hosts running fewer of the group.

For requests with ``group_policy: soft-anti-affinity`` (Nova's soft
server groups), hosts running (or claimed for) the fewest containers of
the request's ``group`` (with ``topology_key``, in their domain) weigh
most, so the group spreads where it can and
shares hosts when it must. Multiplier ``[filter_scheduler]
soft_anti_affinity_weight_multiplier``.
"""

from sora.scheduler.weighers import soft_affinity


class SoftAntiAffinityWeigher(soft_affinity.SoftAffinityWeigher):
    """Weigh hosts by how few containers of the request's group they run."""

    option = 'soft_anti_affinity_weight_multiplier'
    policy = 'soft-anti-affinity'
    sign = -1
