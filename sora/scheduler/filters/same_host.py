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

"""Filter ``same_host``: only the hosts the request lists."""

import numpy as np

from sora.scheduler import base


class SameHostFilter(base.Filter):
    """Keep only the hosts named in the request's same_host list."""

    request_fields = ('same_host',)

    def filter_mask(self, hosts, request):
        if not request.same_host:
            return None
        mask = np.zeros(len(hosts), dtype=bool)
        mask[hosts.rows_of(request.same_host)] = True
        return mask

    def describe(self, request):
        return 'one of ' + ', '.join(request.same_host)
