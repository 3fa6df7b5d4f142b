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

"""The seed's ``randombase`` driver."""

import random

import numpy as np

from sora.scheduler import base


class SimpleScheduler(base.Scheduler):
    """Pick a host uniformly at random among those that fit the request."""

    def __init__(self, conf=None):
        super().__init__(conf)
        self.random = random.Random()

    def select_destinations(self, request, hosts, count=1):
        return base.place(request, hosts, count, self._any)

    def _any(self, hosts, mask):
        rows = np.flatnonzero(mask)
        return int(rows[self.random.randrange(len(rows))])
