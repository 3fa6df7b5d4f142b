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

"""The built-in drivers, loaded through their installed entry points."""

import collections

from oslo_config import cfg
from stevedore import driver

from sora.scheduler import base as scheduler_base
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import request as sora_request
from tests import base

SEED = {13: 'id1', 324: 'id2', 434: 'id3', 'memory': [13, 324, 434]}


def load(name):
    return driver.DriverManager(namespace='sora.scheduler', name=name,
                                invoke_on_load=True).driver


def hosts(*specs):
    return host_state.parse_hosts(
        [dict(id=host_id, **fields) for host_id, fields in specs])


class DriverContractTest(base.TestCase):
    """What every built-in driver does, whatever its choice rule."""

    NAMES = ('memorybase', 'randombase')

    def test_is_a_scheduler_built_with_the_global_conf_by_default(self):
        for name in self.NAMES:
            scheduler = load(name)
            self.assertIsInstance(scheduler, scheduler_base.Scheduler)
            self.assertIs(cfg.CONF, scheduler.conf)

    def test_only_fitting_hosts_are_chosen(self):
        table = hosts(('small', {'memory_mb': 256}),
                      ('off', {'memory_mb': 9999, 'enabled': False}),
                      ('fits', {'memory_mb': 1024, 'cpus': 2, 'disk_gb': 5,
                                'labels': {'zone': 'az1'}}),
                      ('no-cpu', {'memory_mb': 1024, 'cpus': 0.5}),
                      ('no-disk', {'memory_mb': 1024, 'disk_gb': 1}),
                      ('wrong-zone', {'memory_mb': 4096,
                                      'labels': {'zone': 'az2'}}))
        request = sora_request.Request(memory_mb=512, cpus=1, disk_gb=2,
                                       labels={'zone': 'az1'})
        for name in self.NAMES:
            scheduler = load(name)
            for _ in range(20):
                self.assertEqual(['fits'], scheduler.select_destinations(
                    request, table))

    def test_count_consumes_each_pick_before_the_next(self):
        # Three 1 GB containers do not all land on the host with 1.5 GB.
        table = hosts(('a', {'memory_mb': 1536}), ('b', {'memory_mb': 1024}),
                      ('c', {'memory_mb': 1024}))
        request = sora_request.Request(memory_mb=1024)
        for name in self.NAMES:
            for _ in range(10):
                chosen = load(name).select_destinations(request, table, 3)
                self.assertEqual(['a', 'b', 'c'], sorted(chosen))
        self.assertEqual([1536, 1024, 1024], list(table.memory_mb))

    def test_count_is_all_or_nothing(self):
        table = hosts(('a', {'memory_mb': 2048, 'cpus': 1}),
                      ('b', {'memory_mb': 1024, 'cpus': 4}))
        request = sora_request.Request(memory_mb=1024, cpus=1)
        for name in self.NAMES:
            error = self.assertRaises(
                exceptions.NoValidHost, load(name).select_destinations,
                request, table, 3)
            self.assertEqual((2, 3, 2), (error.hosts_total, error.count,
                                         error.placed))
            self.assertIn('no valid host among 2 for container 3 of 3 (all '
                          'or nothing: the 2 that fitted were not placed): '
                          'enabled 2, memory 1 (needs 1024 MB), cpu 0 (needs '
                          '1 CPU)', str(error))
            error = self.assertRaises(
                exceptions.NoValidHost, load(name).select_destinations,
                sora_request.Request(memory_mb=2048), table, 2)
            self.assertIn('for container 2 of 2 (all or nothing: the one '
                          'that fitted was not placed)', str(error))

    def test_no_valid_host_says_why(self):
        table = hosts(('a', {'memory_mb': 512}),
                      ('b', {'memory_mb': 4096, 'enabled': False}))
        for name in self.NAMES:
            error = self.assertRaises(
                exceptions.NoValidHost, load(name).select_destinations,
                sora_request.Request(memory_mb=1024), table)
            self.assertEqual([('enabled', 1), ('memory', 0)],
                             error.filter_counts)
            self.assertEqual('no valid host among 2: enabled 1, memory 0 '
                             '(needs 1024 MB)', str(error))

    def test_no_hosts_at_all(self):
        for name in self.NAMES:
            error = self.assertRaises(
                exceptions.NoValidHost, load(name).select_destinations,
                sora_request.Request(), host_state.parse_hosts([]))
            self.assertEqual(0, error.hosts_total)

    def test_seed_session_returns_a_node_id(self):
        for name in self.NAMES:
            self.assertIn(load(name).scheduler(SEED), ('id1', 'id2', 'id3'))

    def test_seed_data_is_validated(self):
        for name in self.NAMES:
            self.assertRaises(exceptions.InvalidHostData,
                              load(name).scheduler, {13: 'id1'})


class MemorySchedulerTest(base.TestCase):

    def test_seed_blog_session(self):
        self.assertEqual('id3', load('memorybase').scheduler(SEED))

    def test_most_free_memory_among_fitting(self):
        table = hosts(('a', {'memory_mb': 2048}),
                      ('b', {'memory_mb': 8192, 'cpus': 1}),
                      ('c', {'memory_mb': 4096}))
        scheduler = load('memorybase')
        self.assertEqual(['b'], scheduler.select_destinations(
            sora_request.Request(), table))
        self.assertEqual(['c'], scheduler.select_destinations(
            sora_request.Request(cpus=2), table))

    def test_ties_go_to_the_lowest_id(self):
        table = hosts(('n3', {'memory_mb': 4096}), ('n1', {'memory_mb': 4096}),
                      ('n2', {'memory_mb': 4096}))
        self.assertEqual(['n1', 'n2', 'n3', 'n1'],
                         load('memorybase').select_destinations(
                             sora_request.Request(memory_mb=1), table, 4))

    def test_picks_the_same_host_again_while_it_has_most(self):
        table = hosts(('a', {'memory_mb': 8192}), ('b', {'memory_mb': 2048}))
        # After three picks a and b tie at 2048 MB free: a wins on its id.
        self.assertEqual(['a', 'a', 'a', 'a', 'b'],
                         load('memorybase').select_destinations(
                             sora_request.Request(memory_mb=2048), table, 5))


class SimpleSchedulerTest(base.TestCase):

    def test_seed_blog_session_returns_every_node(self):
        scheduler = load('randombase')
        seen = {scheduler.scheduler(SEED) for _ in range(200)}
        self.assertEqual({'id1', 'id2', 'id3'}, seen)

    def test_uniform_among_fitting(self):
        table = hosts(*[(f'n{i}', {'memory_mb': 1024}) for i in range(4)],
                      ('small', {'memory_mb': 1}))
        scheduler = load('randombase')
        scheduler.random.seed(42)
        picks = collections.Counter(
            scheduler.select_destinations(sora_request.Request(memory_mb=2),
                                          table)[0] for _ in range(4000))
        self.assertEqual({'n0', 'n1', 'n2', 'n3'}, set(picks))
        for count in picks.values():
            self.assertGreater(count, 850)
            self.assertLess(count, 1150)

    def test_seeded_runs_repeat(self):
        table = hosts(*[(f'n{i}', {'memory_mb': 1024}) for i in range(50)])
        runs = []
        for _ in range(2):
            scheduler = load('randombase')
            scheduler.random.seed(7)
            runs.append(scheduler.select_destinations(
                sora_request.Request(), table, 10))
        self.assertEqual(runs[0], runs[1])


class ThirdPartyDriverTest(base.TestCase):

    def test_a_driver_implementing_only_select_destinations(self):
        class Lowest(scheduler_base.Scheduler):
            def select_destinations(self, request, hosts, count=1):
                return [hosts[0].id] * count

        self.assertEqual('id1', Lowest().scheduler(SEED))

    def test_abstract_base_cannot_be_built(self):
        self.assertRaises(TypeError, scheduler_base.Scheduler)
