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

"""sora.scheduler.fixture: plugins under test, found by name."""

from oslo_config import cfg

from sora.scheduler import base as scheduler_base
from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import manager
from sora.scheduler import plugins
from tests import base

HOSTS = [{'id': 'n1', 'memory_mb': 1024, 'labels': {'rack': 'r1'}},
         {'id': 'n2', 'memory_mb': 4096, 'labels': {'rack': 'r2'}},
         {'id': 'n3', 'memory_mb': 2048, 'labels': {'rack': 'r3'}}]


class OddRack(scheduler_base.Filter):
    """Keep hosts in racks with an odd number."""

    def host_passes(self, host, request):
        return int(host.labels['rack'][1:]) % 2 == 1


class Reverse(scheduler_base.Scheduler):
    """The fitting host with the highest id."""

    def select_destinations(self, request, hosts, count=1):
        return [hosts[-1].id] * count


class Broken(scheduler_base.Weigher):
    """Fails when built."""

    def __init__(self, conf=None):
        raise RuntimeError('no licence')


class FixtureTest(base.TestCase):

    def test_plugins_are_found_by_name_through_the_manager(self):
        scheduler = self.useFixture(fixture.Scheduler(
            filters={'odd_rack': OddRack},
            config={'DEFAULT': {'scheduler_driver': 'filter'},
                    'filter_scheduler': {
                        'enabled_filters': ['enabled', 'memory', 'cpu',
                                            'disk', 'odd_rack'],
                        'weighers': ['memory']}})).manager
        self.assertEqual(['n3'], scheduler.select_destinations({}, HOSTS))
        error = self.assertRaises(exceptions.NoValidHost,
                                  scheduler.select_destinations,
                                  {'memory_mb': 3000}, HOSTS)
        self.assertEqual([('enabled', 3), ('memory', 1), ('odd_rack', 0)],
                         error.filter_counts)

    def test_driver_listed_and_removed_after_the_test(self):
        fixture_ = fixture.Plugins(drivers={'reverse': Reverse})
        with fixture_:
            listed = {p.name: p for p in plugins.installed(plugins.DRIVERS)}
            self.assertEqual('a test fixture', listed['reverse'].distribution)
            self.assertEqual('The fitting host with the highest id.',
                             plugins.describe(listed['reverse']))
            conf = self.make_conf('[DEFAULT]\nscheduler_driver = reverse\n')
            self.assertEqual(['n3'], manager.SchedulerManager(
                conf).select_destinations({}, HOSTS))
        self.assertNotIn('reverse', {
            p.name for p in plugins.installed(plugins.DRIVERS)})

    def test_load_errors_are_reported_as_for_installed_plugins(self):
        self.useFixture(fixture.Plugins(weighers={'broken': Broken}))
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = filter\n'
                              '[filter_scheduler]\nweighers = broken\n')
        error = self.assertRaises(exceptions.DriverLoadError,
                                  manager.SchedulerManager, conf)
        self.assertIn("could not load sora.scheduler.weighers plugin "
                      "'broken' (tests.unit.test_fixture:Broken) from a test "
                      "fixture: RuntimeError: no licence", str(error))

    def test_plugin_options_are_registered_first(self):
        opt = cfg.IntOpt('racks', default=2)
        scheduler = self.useFixture(fixture.Scheduler(
            config={'odd': {'racks': 5}},
            register_opts=lambda conf: conf.register_opt(opt, 'odd')))
        self.assertEqual(5, scheduler.conf.odd.racks)
