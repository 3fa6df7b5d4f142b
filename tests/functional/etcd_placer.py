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

"""A scheduler process that places containers on the shared etcd store.

``python etcd_placer.py CONFIG NAME [REQUEST]`` builds a SchedulerManager
on the configuration (``[scheduler] host_store = etcd``) and places
containers of the JSON REQUEST (by default ``{"memory_mb": 256}``) under
consumer ids ``NAME-0``, ``NAME-1``, ... until no host
has room, printing ``placed CONSUMER HOST`` once each claim committed and
``unavailable`` for each call that etcd did not answer (it then tries
again). It ends with ``full``.
"""

import json
import sys
import time

from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager


def main(path, name, request='{"memory_mb": 256}'):
    conf = cfg.ConfigOpts()
    conf(['--config-file', path], project='sora', default_config_files=[],
         default_config_dirs=[])
    request = json.loads(request)
    with manager.SchedulerManager(conf) as scheduler:
        print('ready', flush=True)
        serial = 0
        while True:
            consumer = f'{name}-{serial}'
            try:
                [host] = scheduler.select_destinations(
                    request, consumers=[consumer])
            except exceptions.NoValidHost as error:
                if error.reason:  # lost the races, not out of room
                    continue
                print('full', flush=True)
                return 0
            except exceptions.StoreUnavailable:
                # The claim may or may not have committed: a new consumer
                # id for the next try keeps the books unambiguous.
                print(f'unavailable {consumer}', flush=True)
                serial += 1
                time.sleep(0.1)
                continue
            print(f'placed {consumer} {host}', flush=True)
            serial += 1


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
