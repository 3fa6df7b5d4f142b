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

"""An example driver: pack containers onto the fullest hosts."""

import numpy as np

from sora.scheduler import base
from sora.scheduler import filtering
from sora.scheduler import filters


class LeastMemoryScheduler(base.Scheduler):
    """Pick the fitting host with the least free memory (bin-packing)."""

    def __init__(self, conf=None):
        super().__init__(conf)
        # The checks every built-in driver makes: resources, labels,
        # host lists and groups.
        self.filters = filtering.load(filters.REQUEST, self.conf)
        self.time_limit = self.conf.plugin_time_limit

    def select_destinations(self, request, hosts, count=1):
        return filtering.place(request, hosts, count, self.filters,
                               _least_memory, self.time_limit)


def _least_memory(hosts, request, mask):
    # best() ranks rows by score and breaks ties by id: rows are not in id
    # order (the tracked hosts are in the order they joined).
    rows = np.flatnonzero(mask)
    return hosts.best(rows, -hosts.memory_mb[rows])[0]
