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


"""Filter ``resources``: hosts with the request's countable resources free.

Always enforced, like memory: a host that does not report a resource has
none of it.
"""

import numpy as np

from sora.scheduler import base
from sora.scheduler import validate


class CountableFilter(base.Filter):
    """Keep the hosts with every countable resource of the request free."""

    def filter_mask(self, hosts, request):
        mask = None
        for name, need in request.resources.items():
            passed = hosts.free(name) >= need
            mask = passed if mask is None else mask & passed
        return mask

    def describe(self, request):
        return ', '.join(f'needs {name} {need}'
                         for name, need in request.resources.items()) or None

    def describe_refusal(self, hosts, request, candidates):
        among = int(np.count_nonzero(candidates))
        parts = []
        for name, need in request.resources.items():
            if hosts.reported(name):
                have = np.count_nonzero(candidates &
                                        (hosts.free(name) >= need))
                parts.append(f'{name}: {have} of {among} hosts have {need} '
                             'free')
            else:
                parts.append(f'no host reports {name!r}' +
                             validate.did_you_mean(
                                 name, [known for known in hosts.resources
                                        if hosts.reported(known)]))
        return '; '.join(parts)
