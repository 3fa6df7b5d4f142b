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

"""A Sora service run by oslo.service, for the SIGHUP reload test.

It embeds a SchedulerManager and prints the driver's choice every 0.2 s;
oslo.service's restart_method='mutate' turns SIGHUP into a config reload.
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging
from oslo_service import service

from sora.scheduler import manager

CONF = cfg.CONF


class SchedulerService(service.Service):
    """Decides every 0.2 s on two tracked hosts."""

    def __init__(self):
        super().__init__()
        self.scheduler = manager.SchedulerManager(CONF)
        self.scheduler.update_hosts([
            {'id': 'big', 'memory_mb': 8192, 'containers': 30},
            {'id': 'idle', 'memory_mb': 2048, 'containers': 0}])

    def start(self):
        super().start()
        self.tg.add_timer(0.2, self.tick)

    def tick(self):
        chosen = self.scheduler.select_destinations({}, dry_run=True)
        print(f'driver={self.scheduler.driver_name} chose={",".join(chosen)}',
              flush=True)


def main():
    logging.register_options(CONF)
    CONF(sys.argv[1:], project='sora')
    logging.setup(CONF, 'sora')
    service.launch(CONF, SchedulerService(), restart_method='mutate').wait()


if __name__ == '__main__':
    main()
