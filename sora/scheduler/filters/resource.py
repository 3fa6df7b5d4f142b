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

"""The shape of the resource filters: ``memory``, ``cpu`` and ``disk``."""

from sora.scheduler import base


class ResourceFilter(base.Filter):
    """Keep the hosts with at least the request's amount of a resource free.

    Subclasses name the resource (a request and host field) and its unit.
    A host that does not report the resource always passes.
    """

    resource = None
    unit = None

    def filter_mask(self, hosts, request):
        needed = getattr(request, self.resource)
        return getattr(hosts, self.resource) >= needed if needed else None

    def describe(self, request):
        return f'needs {getattr(request, self.resource):g} {self.unit}'
