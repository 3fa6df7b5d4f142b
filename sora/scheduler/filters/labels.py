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

"""Filter ``labels``: hosts carrying every label of the request.

Zones are labels too: a request with ``labels: {"zone": "az1"}`` only
goes to hosts labelled ``zone=az1``.
"""

from sora.scheduler import base


class LabelsFilter(base.Filter):
    """Keep the hosts whose labels include every request label's value."""

    request_fields = ('labels',)

    def filter_mask(self, hosts, request):
        if request.labels:
            return hosts.label_mask(request.labels)
        return None

    def describe(self, request):
        return ' '.join(f'{key}={value}'
                        for key, value in request.labels.items())
