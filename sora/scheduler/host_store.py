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

"""Aliases of the host store interface, for plugins written against it.

The stores moved to :mod:`sora.scheduler.stores`:
:class:`~sora.scheduler.stores.base.HostStore` and
:class:`~sora.scheduler.stores.memory.MemoryHostStore`.
"""

from sora.scheduler import stores
from sora.scheduler.stores import base
from sora.scheduler.stores import memory

ATTEMPTS = base.ATTEMPTS
BACKOFF = base.BACKOFF
NAMESPACE = stores.NAMESPACE
HostStore = base.HostStore
MemoryHostStore = memory.MemoryHostStore
checked = stores.checked
load = stores.load
