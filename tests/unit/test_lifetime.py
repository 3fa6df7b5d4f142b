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

"""A manager's lifetime: reloads of shared configurations, close, freeing."""

import gc
import logging
import threading
import weakref

import fixtures
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager
from tests import base
from tests.unit import test_reload

FILTER = test_reload.FILTER
HOSTS = test_reload.HOSTS


class SharedConfigTest(test_reload.ReloadTestCase):
    """Several managers on one ConfigOpts, as an embedding service has."""

    def test_two_managers_reload_at_once_without_deadlock(self):
        other = manager.SchedulerManager(self.conf)
        errors = []

        def reload(mgr):
            try:
                for n in range(10):
                    self.rewrite(FILTER if n % 2 else '[DEFAULT]\n')
                    mgr.reload()
            except Exception as error:  # recorded, then asserted
                errors.append(error)

        threads = [threading.Thread(target=reload, args=(mgr,), daemon=True)
                   for mgr in (self.mgr, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual([False, False],
                         [thread.is_alive() for thread in threads])
        self.assertEqual([], errors)
        # Both follow the file as it ends, then a SIGHUP-style mutate.
        self.rewrite(FILTER)
        self.conf.mutate_config_files()
        self.assertEqual(['filter', 'filter'],
                         [self.mgr.driver_name, other.driver_name])

    def test_plugin_time_limit_change_is_applied(self):
        self.rewrite(FILTER)
        self.mgr.reload()
        self.assertEqual(10.0, self.mgr.driver.time_limit)
        self.rewrite(FILTER.replace('[DEFAULT]\n', '[DEFAULT]\n'
                                    'plugin_time_limit = 2.5\n'))
        self.mgr.reload()
        self.assertEqual(2.5, self.mgr.driver.time_limit)

    def test_another_services_options_do_not_rebuild_the_driver(self):
        conf = cfg.ConfigOpts()
        conf.register_opts([cfg.IntOpt('workers', default=1, mutable=True)],
                           group='api')
        conf.register_opts([cfg.StrOpt('motd', default='', mutable=True)])
        conf(['--config-file', self.path], project='sora',
             default_config_files=[], default_config_dirs=[])
        mgr = manager.SchedulerManager(conf)
        driver = mgr.driver
        self.rewrite('[DEFAULT]\nmotd = hello\n[api]\nworkers = 8\n')
        mgr.reload()
        self.assertEqual(8, conf.api.workers)
        self.assertIs(driver, mgr.driver)
        self.rewrite('[DEFAULT]\nmotd = hello\nscheduler_driver = filter\n')
        mgr.reload()
        self.assertEqual('filter', mgr.driver_name)


class MisspeltOptionsTest(test_reload.ReloadTestCase):

    def test_warned_at_start_and_on_reload_naming_file_and_intent(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.rewrite('[DEFAULT]\nschedular_driver = filter\n')
        mgr = manager.SchedulerManager(self.conf)
        self.assertEqual('memorybase', mgr.driver_name)
        self.assertIn(f'Ignored: [DEFAULT] schedular_driver (set in '
                      f'{self.path}) is not an option; did you mean '
                      'scheduler_driver?', logs.output)
        self.rewrite(FILTER.replace('weighers', 'weigher'))
        mgr.reload()
        self.assertIn('[filter_scheduler] weigher (set in', logs.output)


class FailedReloadTest(test_reload.ReloadTestCase):

    def test_a_broken_configuration_is_built_and_logged_once(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.rewrite('[DEFAULT]\nscheduler_driver = nosuch\n')
        self.assertRaises(exceptions.DriverNotFound, self.mgr.reload)
        self.assertEqual(1, logs.output.count('Keeping scheduler driver'))


class UnparsedConfigTest(base.TestCase):

    def test_built_before_the_service_parses_its_config(self):
        conf = cfg.ConfigOpts()
        mgr = manager.SchedulerManager(conf)
        self.assertEqual('memorybase', mgr.driver_name)
        mgr.reload()  # nothing to re-read yet, and no AssertionError
        path = self.write_file('sora.conf',
                               '[DEFAULT]\nscheduler_driver = randombase\n')
        conf(['--config-file', path], project='sora',
             default_config_files=[], default_config_dirs=[])
        mgr.reload()
        self.assertEqual('randombase', mgr.driver_name)

    def test_overrides_before_parsing_are_applied_by_reload(self):
        conf = cfg.ConfigOpts()
        mgr = manager.SchedulerManager(conf)
        conf.set_override('scheduler_driver', 'nosuch')
        self.assertRaises(exceptions.DriverNotFound, mgr.reload)
        self.assertEqual('memorybase', mgr.driver_name)
        conf.set_override('scheduler_driver', 'filter')
        mgr.reload()
        self.assertEqual('filter', mgr.driver_name)


class LifetimeTest(test_reload.ReloadTestCase):

    def test_a_closed_manager_no_longer_follows_the_config(self):
        with manager.SchedulerManager(self.conf) as other:
            self.assertEqual('memorybase', other.driver_name)
        other.close()  # idempotent
        self.rewrite(FILTER)
        self.conf.mutate_config_files()
        self.assertEqual('filter', self.mgr.driver_name)
        self.assertEqual('memorybase', other.driver_name)
        other.reload()  # an explicit reload still applies the file
        self.assertEqual('filter', other.driver_name)

    def test_managers_nobody_holds_are_freed(self):
        refs = [weakref.ref(manager.SchedulerManager(self.conf))
                for _ in range(5)]
        closed = manager.SchedulerManager(self.conf)
        closed.close()
        refs.append(weakref.ref(closed))
        del closed
        gc.collect()
        self.assertEqual([None] * 6, [ref() for ref in refs])
        # and a later reload rebuilds only the live manager
        self.rewrite(FILTER)
        self.conf.mutate_config_files()
        self.assertEqual('filter', self.mgr.driver_name)


class ApiEdgesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.mgr = manager.SchedulerManager(self.make_conf(
            '[DEFAULT]\nscheduler_driver = filter\n'))
        self.mgr.update_hosts(HOSTS)

    def test_top_is_a_whole_number_from_one(self):
        for top in ('2', -1, 0, 1.5, True, None, 10 ** 6):
            with self.subTest(top=top):
                error = self.assertRaises(exceptions.InvalidRequest,
                                          self.mgr.explain, {}, top=top)
                self.assertIn('top must be a whole number from 1 to 1000',
                              str(error))
        self.assertEqual(['big', 'idle'], [
            entry['id'] for entry in self.mgr.explain({}, top=2)['ranking']])

    def test_host_and_consumer_ids_must_be_strings(self):
        for host_id in (['big'], None, 7, ''):
            with self.subTest(host_id=host_id):
                self.assertRaises(exceptions.InvalidRequest,
                                  self.mgr.remove_host, host_id)
                self.assertRaises(exceptions.InvalidRequest,
                                  self.mgr.release, host_id)
        self.assertEqual(2, len(self.mgr.hosts()))
