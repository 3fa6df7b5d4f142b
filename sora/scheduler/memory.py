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

"""The seed's ``memorybase`` driver."""

import numpy as np

from sora.scheduler import base


class MemoryScheduler(base.Scheduler):
    """Pick the fitting host with the most free memory (ties: lowest id)."""

    def select_destinations(self, request, hosts, count=1):
        return base.place(request, hosts, count, _most_free_memory)


def _most_free_memory(hosts, mask):
    # argmax returns the first maximum: rows are sorted by id.
    return int(np.argmax(np.where(mask, hosts.memory_mb, -1.0)))
