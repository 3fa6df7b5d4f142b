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


"""Weigher ``resources``: hosts weighed by their free countable resources.

Multipliers ``[filter_scheduler] resource_weight_multipliers``, one per
resource (``gpu:-1.0,vf:0.5``): negative packs containers onto the hosts
with the fewest free, and keeps work that needs none off the hosts that
have some; positive spreads. Off while no multiplier is set.
"""

import numpy as np

from sora.scheduler import base
from sora.scheduler import exceptions
from sora.scheduler import validate


class CountableWeigher(base.Weigher):
    """Weigh hosts by their free countable resources, each multiplied.

    A host's weight is the sum, over the resources that have a
    multiplier, of its free amount as a share of the most any host has
    free, times the multiplier. :attr:`multiplier` is the sum of the
    multipliers' sizes: one resource weighs as a weigher of its own would.

    :raises InvalidConfig: a multiplier names no valid resource.
    """

    def __init__(self, conf=None):
        super().__init__(conf)
        multipliers = self.conf.filter_scheduler.resource_weight_multipliers
        for name, multiplier in multipliers.items():
            if not validate.is_resource_name(name) or \
                    not np.isfinite(multiplier):
                raise exceptions.InvalidConfig(
                    '[filter_scheduler] resource_weight_multipliers: '
                    f'{name}:{multiplier} is not NAME:MULTIPLIER with a '
                    f'resource name ({validate.NAME_RULE}) and a finite '
                    'number')
        self.multipliers = {name: multiplier for name, multiplier
                            in multipliers.items() if multiplier}
        self.multiplier = float(sum(map(abs, self.multipliers.values())))

    def weigh_all(self, hosts, request):
        weights = np.zeros(len(hosts))
        for name, multiplier in self.multipliers.items():
            free = hosts.free(name)
            most = free.max(initial=0)
            if most > 0:
                weights += multiplier * (free / most)
        return weights
