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

"""Weigher ``containers``: hosts running fewer containers weigh more.

Multiplier ``[filter_scheduler] containers_weight_multiplier``: positive
spreads containers over the emptiest hosts, negative packs them.
"""

from sora.scheduler.weighers import resource


class ContainersWeigher(resource.ResourceWeigher):
    """Weigh hosts by how few containers they run."""

    resource = 'containers'
    option = 'containers_weight_multiplier'

    def weigh_all(self, hosts, request):
        return -hosts.containers
