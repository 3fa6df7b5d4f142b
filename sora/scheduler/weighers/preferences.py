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
"""Weigher ``preferences``: hosts passing more of the request's preferences.

A host weighs the sum of the weights of the request's ``preferences``
it passes (see :mod:`sora.scheduler.preferences`); requests without
preferences leave it out. Multiplier ``[filter_scheduler]
preferences_weight_multiplier``.
"""

import numpy as np

from sora.scheduler.weighers import resource


class PreferencesWeigher(resource.ResourceWeigher):
    """Weigh hosts by the weight of the preferences they pass."""

    option = 'preferences_weight_multiplier'

    def weigh_all(self, hosts, request):
        if not request.preferences:
            return None
        weights = np.zeros(len(hosts), dtype=np.int64)
        for preference in request.preferences:
            weights += preference.weight * preference.mask(hosts)
        return weights
