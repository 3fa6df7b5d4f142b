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

"""Filter ``cpu``: hosts with the free CPUs the request needs."""

from sora.scheduler.filters import resource


class CpuFilter(resource.ResourceFilter):
    """Keep the hosts with at least the request's free CPUs."""

    resource = 'cpus'

    def describe(self, request):
        return f'needs {request.cpus:g} CPU{"" if request.cpus == 1 else "s"}'
