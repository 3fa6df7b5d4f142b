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

from sora.scheduler import filter_scheduler
from sora.scheduler import filtering
from sora.scheduler import filters as built_in
from sora.scheduler.weighers import resource


class MemoryScheduler(filter_scheduler.FilterScheduler):
    """Pick the fitting host with the most free memory (ties: lowest id).

    The request's soft rules come first: among the fitting hosts only
    those with the best soft score (the ``preferences``, ``soft_affinity``
    and ``soft_anti_affinity`` weighers, with their ``[filter_scheduler]``
    multipliers) are candidates, and free memory chooses among them.
    """

    soft_first = True

    def configure(self):
        return (filtering.load(built_in.REQUEST, self.conf),
                [('free_memory', _FreeMemory(self.conf))], 1)


class _FreeMemory(resource.ResourceWeigher):
    resource = 'memory_mb'
