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

"""SchedulerManager: config files -> entry points -> driver -> host ids."""

import copy
import logging
import sys

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from sora.scheduler import exceptions
from sora.scheduler import manager
from sora.scheduler import memory
from sora.scheduler import simple
from tests import base

HOSTS = [{'id': 'big', 'memory_mb': 8192, 'labels': {'zone': 'az1'}},
         {'id': 'small', 'memory_mb': 1024, 'labels': {'zone': 'az2'}}]

LOWEST_ID = '''
from sora.scheduler import base


class Lowest(base.Scheduler):
    """Always the host with the lowest id."""

    def select_destinations(self, request, hosts, count=1):
        return [hosts[0].id] * count
'''


class ManagerConfigTest(base.TestCase):

    def test_default_driver_is_memorybase(self):
        mgr = manager.SchedulerManager(self.make_conf())
        self.assertEqual('memorybase', mgr.driver_name)
        self.assertIsInstance(mgr.driver, memory.MemoryScheduler)

    def test_driver_named_in_config_file(self):
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = randombase\n')
        mgr = manager.SchedulerManager(conf)
        self.assertEqual('randombase', mgr.driver_name)
        self.assertIsInstance(mgr.driver, simple.SimpleScheduler)
        self.assertIs(conf, mgr.driver.conf)

    def test_global_conf_by_default(self):
        fixture = self.useFixture(config_fixture.Config())
        manager.SchedulerManager()
        fixture.config(scheduler_driver='randombase')
        self.assertEqual('randombase', manager.SchedulerManager().driver_name)
        self.assertIs(cfg.CONF, manager.SchedulerManager().conf)

    def test_embedding_service_parses_first_then_hands_conf_over(self):
        conf = cfg.ConfigOpts()
        conf.register_opt(cfg.StrOpt('api_listen', default='0.0.0.0'))
        path = self.write_file('sora.conf', '[DEFAULT]\napi_listen = ::1\n'
                                            'scheduler_driver = randombase\n')
        conf(['--config-file', path], project='sora', default_config_files=[])
        manager.SchedulerManager(conf)
        mgr = manager.SchedulerManager(conf)
        self.assertEqual('randombase', mgr.driver_name)
        self.assertEqual('::1', conf.api_listen)

    def test_config_dir_is_read(self):
        conf_dir = self.useFixture(fixtures.TempDir()).path
        with open(f'{conf_dir}/50-driver.conf', 'w') as part:
            part.write('[DEFAULT]\nscheduler_driver = randombase\n')
        conf = cfg.ConfigOpts()
        conf(['--config-dir', conf_dir], project='sora',
             default_config_files=[], default_config_dirs=[])
        self.assertEqual('randombase',
                         manager.SchedulerManager(conf).driver_name)

    def test_loading_is_logged_at_info_with_the_class(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        manager.SchedulerManager(self.make_conf())
        self.assertIn('Loaded scheduler driver memorybase '
                      '(sora.scheduler.memory:MemoryScheduler)', logs.output)


class ManagerDriverErrorsTest(base.TestCase):

    def test_unknown_driver_lists_installed_names(self):
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = fastest\n')
        error = self.assertRaises(exceptions.DriverNotFound,
                                  manager.SchedulerManager, conf)
        self.assertEqual(f"[DEFAULT] scheduler_driver (set in "
                         f"{conf.config_file[0]}): no plugin named 'fastest' "
                         "in namespace 'sora.scheduler'; installed: filter, "
                         "memorybase, randombase", str(error))
        self.assertIsInstance(error, exceptions.SchedulerError)

    def test_a_module_path_is_only_a_name_never_imported(self):
        self.add_plugins('sora-test-unused', {}, {'sora_evil': '''
            raise SystemExit('imported!')
            '''})
        for value in ('sora_evil', 'sora_evil:Scheduler', 'os.system',
                      'sora.scheduler.memory:MemoryScheduler', '../x'):
            with self.subTest(value=value):
                conf = self.make_conf(f'[DEFAULT]\nscheduler_driver = {value}')
                error = self.assertRaises(exceptions.DriverNotFound,
                                          manager.SchedulerManager, conf)
                self.assertIn('installed: filter, memorybase, randombase',
                              str(error))
        self.assertNotIn('sora_evil', sys.modules)

    def test_third_party_driver_from_its_own_distribution(self):
        self.add_plugins('sora-lowest',
                         {'sora.scheduler': {'lowest': 'sora_lowest:Lowest'}},
                         {'sora_lowest': LOWEST_ID})
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = lowest\n')
        mgr = manager.SchedulerManager(conf)
        self.assertEqual(['big', 'big'],
                         mgr.select_destinations({}, HOSTS, count=2))
        error = self.assertRaises(
            exceptions.DriverNotFound, manager.SchedulerManager,
            self.make_conf('[DEFAULT]\nscheduler_driver = nope\n'))
        self.assertIn('installed: filter, lowest, memorybase, randombase',
                      str(error))

    def test_plugin_that_fails_to_import(self):
        self.add_plugins('sora-broken',
                         {'sora.scheduler': {'broken': 'sora_broken:Driver'}},
                         {'sora_broken': 'import sora_no_such_module\n'})
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = broken\n')
        error = self.assertRaises(exceptions.DriverLoadError,
                                  manager.SchedulerManager, conf)
        self.assertIn("could not load sora.scheduler plugin 'broken' "
                      "(sora_broken:Driver) from sora-broken 1.0: "
                      "ModuleNotFoundError: No module named "
                      "'sora_no_such_module'", str(error))

    def test_plugin_that_fails_to_build(self):
        self.add_plugins('sora-fussy',
                         {'sora.scheduler': {'fussy': 'sora_fussy:Driver'}},
                         {'sora_fussy': '''
            class Driver:
                def __init__(self, conf=None):
                    raise RuntimeError('needs a GPU')
            '''})
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = fussy\n')
        error = self.assertRaises(exceptions.DriverLoadError,
                                  manager.SchedulerManager, conf)
        self.assertIn("'fussy' (sora_fussy:Driver) from sora-fussy 1.0: "
                      "RuntimeError: needs a GPU", str(error))

    def test_plugin_that_is_not_a_driver(self):
        self.add_plugins('sora-odd',
                         {'sora.scheduler': {'odd': 'sora_odd:Driver'}},
                         {'sora_odd': '''
            class Driver:
                def __init__(self, conf=None):
                    pass
            '''})
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = odd\n')
        error = self.assertRaises(exceptions.DriverLoadError,
                                  manager.SchedulerManager, conf)
        self.assertIn('sora_odd:Driver is not a scheduler driver: drivers '
                      'subclass sora.scheduler.base.Scheduler', str(error))

    def test_two_distributions_registering_one_name(self):
        for dist in ('sora-one', 'sora-two'):
            module = dist.replace('-', '_')
            self.add_plugins(
                dist, {'sora.scheduler': {'twin': f'{module}:Lowest'}},
                {module: LOWEST_ID})
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = twin\n')
        error = self.assertRaises(exceptions.DriverLoadError,
                                  manager.SchedulerManager, conf)
        self.assertIn("plugin name 'twin' is registered more than once: "
                      "sora_one:Lowest from sora-one 1.0; "
                      "sora_two:Lowest from sora-two 1.0", str(error))

    def test_a_plugin_installed_after_start_is_found(self):
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = late\n')
        self.assertRaises(exceptions.DriverNotFound,
                          manager.SchedulerManager, conf)
        self.add_plugins('sora-late',
                         {'sora.scheduler': {'late': 'sora_late:Lowest'}},
                         {'sora_late': LOWEST_ID})
        self.assertEqual('late', manager.SchedulerManager(conf).driver_name)

    def test_malformed_config_file(self):
        path = self.write_file('sora.conf', 'scheduler_driver = memorybase\n')
        conf = cfg.ConfigOpts()
        self.assertRaises(cfg.ConfigFileParseError, conf,
                          ['--config-file', path], default_config_files=[])


class ManagerSelectTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.mgr = manager.SchedulerManager(self.make_conf())

    def test_plain_mappings_in_ids_out(self):
        self.assertEqual(['big'], self.mgr.select_destinations({}, HOSTS))
        self.assertEqual(['small'], self.mgr.select_destinations(
            {'labels': {'zone': 'az2'}}, {'hosts': HOSTS}))
        self.assertEqual(['big'], self.mgr.select_destinations(None, HOSTS))

    def test_callers_data_is_not_mutated(self):
        hosts, request = copy.deepcopy(HOSTS), {'memory_mb': 1024,
                                                'labels': {'zone': 'az1'}}
        before = copy.deepcopy((hosts, request))
        self.mgr.select_destinations(request, hosts, count=3)
        self.assertEqual(before, (hosts, request))

    def test_bad_count(self):
        for count in (0, -1, 1.5, '2', True, None, manager.MAX_COUNT + 1):
            with self.subTest(count=count):
                error = self.assertRaises(exceptions.InvalidRequest,
                                          self.mgr.select_destinations,
                                          {}, HOSTS, count)
                self.assertIn('count must be a whole number from 1 to 1000',
                              str(error))

    def test_bad_request_and_hosts(self):
        self.assertRaises(exceptions.InvalidRequest,
                          self.mgr.select_destinations, {'cpu': 1}, HOSTS)
        self.assertRaises(exceptions.InvalidHostData,
                          self.mgr.select_destinations, {}, [{'id': 'x'}])

    def test_no_valid_host(self):
        error = self.assertRaises(exceptions.NoValidHost,
                                  self.mgr.select_destinations,
                                  {'memory_mb': 9000}, HOSTS)
        self.assertEqual(2, error.hosts_total)

    def test_decisions_are_logged_at_debug(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.mgr.select_destinations({'memory_mb': 512}, HOSTS)
        self.assertIn("Driver memorybase chose ['big'] for {'memory_mb': "
                      "512.0, 'cpus': 0.0, 'disk_gb': 0.0, 'labels': {}} "
                      "(count 1) among 2 hosts", logs.output)
