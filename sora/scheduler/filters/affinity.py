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
one, every host does (the group's first container goes anywhere). Because
that depends on all hosts, this filter has only the vectorised form.
"""

from sora.scheduler import base


class AffinityFilter(base.Filter):
    """Keep the hosts running the request's group, if any host does."""

    request_fields = ('affinity',)

    def filter_mask(self, hosts, request):
        if request.group_policy != 'affinity':
            return None
        mask = hosts.group_mask(request.group)
        return mask if mask.any() else None

    def describe(self, request):
        return f'runs group {request.group}'
