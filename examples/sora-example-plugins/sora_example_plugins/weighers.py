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

"""An example per-host weigher."""

from sora.scheduler import base
from sora_example_plugins import filters


class SsdWeigher(base.Weigher):
    """Prefer hosts labelled ssd=true."""

    def __init__(self, conf=None):
        super().__init__(conf)
        filters.register_opts(self.conf)
        self.multiplier = self.conf.example_plugins.ssd_weight_multiplier

    def weigh(self, host, request):
        return 1.0 if host.labels.get('ssd') == 'true' else 0.0
