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

"""Live reconfiguration: config files rewritten on disk, then reloaded."""

import logging
import threading

import fixtures
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager
from tests import base

HOSTS = [{'id': 'big', 'memory_mb': 8192, 'containers': 30},
         {'id': 'idle', 'memory_mb': 2048, 'containers': 0}]
FILTER = '''[DEFAULT]
scheduler_driver = filter
[filter_scheduler]
weighers = containers
'''


class ReloadTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.path = self.write_file('sora.conf', '[DEFAULT]\n')
        self.conf = cfg.ConfigOpts()
        self.conf(['--config-file', self.path], project='sora',
                  default_config_files=[], default_config_dirs=[])
        self.mgr = manager.SchedulerManager(self.conf)
        self.mgr.update_hosts(HOSTS)

    def rewrite(self, text):
        with open(self.path, 'w') as conf_file:
            conf_file.write(text)


class ReloadTest(ReloadTestCase):

    def test_new_driver_swapped_in_and_tracked_state_kept(self):
        placed = self.mgr.select_destinations({'memory_mb': 1024})
        self.assertEqual(['big'], placed)
        self.rewrite(FILTER)
        self.mgr.reload()
        self.assertEqual('filter', self.mgr.driver_name)
        self.assertEqual(['idle'], self.mgr.select_destinations(
            {'memory_mb': 1024}))
        self.assertEqual({'big': 7168, 'idle': 1024},
                         {host.id: host.memory_mb
                          for host in self.mgr.hosts()})
        self.mgr.release(placed.consumers[0])
        self.assertEqual(8192, self.mgr.hosts()[0].memory_mb)

    def test_multiplier_change_rebuilds_the_driver(self):
        self.rewrite(FILTER)
        self.mgr.reload()
        first = self.mgr.driver
        self.rewrite(FILTER + 'containers_weight_multiplier = -1.0\n')
        self.mgr.reload()
        self.assertIsNot(first, self.mgr.driver)
        self.assertEqual(['big'], self.mgr.select_destinations({}))

    def test_nothing_or_logging_changed_keeps_the_driver(self):
        first = self.mgr.driver
        self.mgr.reload()
        self.rewrite('[DEFAULT]\ndebug = true\n')
        self.mgr.reload()
        self.assertIs(first, self.mgr.driver)

    def test_a_broken_reload_keeps_the_old_driver(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.ERROR))
        driver = self.mgr.driver
        cases = [
            ('[DEFAULT]\nscheduler_driver = nosuch\n',
             exceptions.DriverNotFound, "no plugin named 'nosuch'"),
            (FILTER + 'enabled_filters = enabled,memory,cpu,disk,nosuch\n',
             exceptions.DriverNotFound, "enabled_filters (set in"),
            (FILTER + 'host_subset_size = 0\n', exceptions.InvalidConfig,
             f'[filter_scheduler] host_subset_size (set in {self.path}): '
             'Should be greater than or equal to 1'),
            (FILTER + 'memory_weight_multiplier = lots\n',
             exceptions.InvalidConfig,
             f'memory_weight_multiplier (set in {self.path})'),
            (FILTER + 'memory_weight_multiplier = nan\n',
             exceptions.InvalidConfig, 'must be a finite number, got nan'),
            ('scheduler_driver = filter\n', exceptions.InvalidConfig,
             'Section must be'),
        ]
        for text, error_class, message in cases:
            with self.subTest(text=text):
                self.rewrite(text)
                error = self.assertRaises(error_class, self.mgr.reload)
                self.assertIn(message, str(error))
                self.assertIs(driver, self.mgr.driver)
                self.assertEqual(['big'], self.mgr.select_destinations(
                    {}, dry_run=True))
        self.assertIn('Keeping scheduler driver memorybase', logs.output)
        self.rewrite(FILTER)
        self.mgr.reload()
        self.assertEqual('filter', self.mgr.driver_name)

    def test_a_rejected_reload_changes_nothing_the_driver_uses(self):
        self.rewrite(FILTER)
        self.mgr.reload()
        self.rewrite(FILTER.replace('[DEFAULT]\n', '[DEFAULT]\n'
                                    'plugin_time_limit = 0.0000001\n')
                     + 'weighers = containers,bogus\n')
        self.assertRaises(exceptions.DriverNotFound, self.mgr.reload)
        self.assertEqual(['idle'], self.mgr.select_destinations({}))

    def test_a_plugin_installed_after_start_is_found(self):
        self.rewrite('[DEFAULT]\nscheduler_driver = late\n')
        self.assertRaises(exceptions.DriverNotFound, self.mgr.reload)
        self.add_plugins('sora-late', {'sora.scheduler': {
            'late': 'sora_late:Late'}}, {'sora_late': '''
            from sora.scheduler import base

            class Late(base.Scheduler):
                def select_destinations(self, request, hosts, count=1):
                    return [hosts[-1].id] * count
            '''})
        self.mgr.reload()
        self.assertEqual(['idle'], self.mgr.select_destinations({}))

    def test_mutate_hook_as_oslo_service_calls_it(self):
        # oslo.service's SIGHUP handler calls mutate_config_files(); a bad
        # configuration must not raise there.
        self.rewrite('[DEFAULT]\nscheduler_driver = nosuch\n')
        self.conf.mutate_config_files()
        self.assertEqual('memorybase', self.mgr.driver_name)
        self.rewrite(FILTER)
        self.conf.mutate_config_files()
        self.assertEqual('filter', self.mgr.driver_name)


class ReloadUnderLoadTest(ReloadTestCase):

    def test_threads_keep_scheduling_while_drivers_swap(self):
        self.mgr.update_hosts([{'id': f'n{i}', 'memory_mb': 4096,
                                'containers': i} for i in range(20)])
        stop, failures, done = threading.Event(), [], []

        def work():
            while not stop.is_set():
                try:
                    placed = self.mgr.select_destinations(
                        {'memory_mb': 64})
                    self.mgr.release(placed.consumers[0])
                    done.append(placed[0])
                except Exception as error:  # recorded, then asserted
                    failures.append(error)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            for n in range(20):
                self.rewrite(FILTER if n % 2 else
                             '[DEFAULT]\nscheduler_driver = randombase\n')
                self.mgr.reload()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.assertEqual([], failures)
        self.assertGreater(len(done), 20)
        self.assertEqual('filter', self.mgr.driver_name)
        hosts = {host.id: host for host in self.mgr.hosts()}
        self.assertEqual(8192, hosts['big'].memory_mb)
        self.assertEqual([4096] * 20, [hosts[f'n{i}'].memory_mb
                                       for i in range(20)])
