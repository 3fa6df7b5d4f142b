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
the groups of the containers they run in ``groups``.
"""

from sora.scheduler import base


class AntiAffinityFilter(base.Filter):
    """Keep the hosts running no container of the request's group."""

    request_fields = ('anti-affinity',)

    def filter_mask(self, hosts, request):
        if request.group_policy != 'anti-affinity':
            return None
        return ~hosts.group_mask(request.group)

    def describe(self, request):
        return f'does not run group {request.group}'
