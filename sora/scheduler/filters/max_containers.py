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

"""Filter ``max_containers``: hosts below the container limit.

The limit is ``[filter_scheduler] max_containers_per_host``.
"""

from sora.scheduler import base


class MaxContainersFilter(base.Filter):
    """Keep the hosts running fewer than max_containers_per_host."""

    def __init__(self, conf=None):
        super().__init__(conf)
        self.limit = self.conf.filter_scheduler.max_containers_per_host

    def filter_mask(self, hosts, request):
        return hosts.containers < self.limit

    def describe(self, request):
        return f'limit {self.limit} per host'
