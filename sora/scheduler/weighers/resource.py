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

"""The shape of the resource weighers: ``memory``, ``cpu``, ``disk``."""

from sora.scheduler import base


class ResourceWeigher(base.Weigher):
    """Weigh hosts by how much of a resource they have free.

    Subclasses name the resource (a host field) and the
    ``[filter_scheduler]`` option holding the multiplier (1.0 without one).
    A host that does not report the resource counts as the best.
    """

    resource = None
    option = None

    def __init__(self, conf=None):
        super().__init__(conf)
        if self.option:
            self.multiplier = self.conf.filter_scheduler[self.option]

    def weigh_all(self, hosts, request):
        return getattr(hosts, self.resource)
