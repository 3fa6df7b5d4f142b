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

"""Each built-in filter alone, loaded through its entry point."""

import random

from sora.scheduler import filtering
from sora.scheduler import host_state
from sora.scheduler import plugins
from tests import base

BUILT_IN = ('enabled', 'memory', 'cpu', 'disk', 'labels', 'max_containers',
            'same_host', 'different_host', 'affinity', 'anti_affinity')

HOSTS = host_state.parse_hosts([
    {'id': 'a', 'memory_mb': 1024, 'cpus': 1, 'disk_gb': 10,
     'containers': 3, 'labels': {'zone': 'az1'}, 'groups': ['web']},
    {'id': 'b', 'memory_mb': 4096, 'containers': 0,
     'labels': {'zone': 'az2', 'ssd': 'true'}},
    {'id': 'c', 'memory_mb': 8192, 'cpus': 8, 'disk_gb': 500,
     'containers': 5, 'enabled': False, 'labels': {'zone': 'az1'},
     'groups': ['db', 'web']},
])


class FilterTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.make_conf(
            '[filter_scheduler]\nmax_containers_per_host = 5\n')

    def passing(self, name, **request):
        """Ids passing filter *name*, checking both forms agree."""
        [(_, plugin)] = filtering.load([name], self.conf)
        request = host_state.parse_request(request)
        mask, _counts = filtering.run([(name, plugin)], HOSTS, request)
        if hasattr(plugin, 'host_passes'):
            self.assertEqual(
                list(mask),
                [plugin.host_passes(host, request) for host in HOSTS])
        return [host_id for host_id, ok in zip(HOSTS.ids, mask) if ok]


class BuiltInFiltersTest(FilterTestCase):

    def test_all_built_ins_are_installed(self):
        installed = {plugin.name for plugin in
                     plugins.installed(plugins.FILTERS)}
        self.assertEqual(set(), set(BUILT_IN) - installed)

    def test_enabled(self):
        self.assertEqual(['a', 'b'], self.passing('enabled'))

    def test_memory(self):
        self.assertEqual(['a', 'b', 'c'], self.passing('memory'))
        self.assertEqual(['b', 'c'], self.passing('memory', memory_mb=4096))
        self.assertEqual([], self.passing('memory', memory_mb=8193))

    def test_cpu_unreported_never_limits(self):
        self.assertEqual(['a', 'b', 'c'], self.passing('cpu', cpus=1))
        self.assertEqual(['b', 'c'], self.passing('cpu', cpus=1.5))

    def test_disk(self):
        self.assertEqual(['b', 'c'], self.passing('disk', disk_gb=11))

    def test_labels_and_zones(self):
        self.assertEqual(['a', 'c'], self.passing(
            'labels', labels={'zone': 'az1'}))
        self.assertEqual(['b'], self.passing(
            'labels', labels={'zone': 'az2', 'ssd': 'true'}))
        self.assertEqual([], self.passing('labels', labels={'gpu': 't4'}))

    def test_max_containers_uses_its_option(self):
        self.assertEqual(['a', 'b'], self.passing('max_containers'))
        self.conf.set_override('max_containers_per_host', 4,
                               group='filter_scheduler')
        self.assertEqual(['a', 'b'], self.passing('max_containers'))
        self.conf.set_override('max_containers_per_host', 3,
                               group='filter_scheduler')
        self.assertEqual(['b'], self.passing('max_containers'))

    def test_same_and_different_host(self):
        self.assertEqual(['a', 'c'], self.passing(
            'same_host', same_host=['c', 'a', 'unknown']))
        self.assertEqual(['b'], self.passing(
            'different_host', different_host=['c', 'a', 'unknown']))
        self.assertEqual(['a', 'b', 'c'], self.passing('same_host'))

    def test_anti_affinity(self):
        request = {'group': 'web', 'group_policy': 'anti-affinity'}
        self.assertEqual(['b'], self.passing('anti_affinity', **request))
        request['group_policy'] = 'affinity'
        self.assertEqual(['a', 'b', 'c'],
                         self.passing('anti_affinity', **request))

    def test_affinity_first_member_goes_anywhere(self):
        request = {'group': 'db', 'group_policy': 'affinity'}
        self.assertEqual(['c'], self.passing('affinity', **request))
        request['group'] = 'new'
        self.assertEqual(['a', 'b', 'c'], self.passing('affinity', **request))

    def test_vectorised_and_per_host_forms_agree_on_random_hosts(self):
        rng = random.Random(20261127)
        filters = filtering.load(BUILT_IN, self.conf)
        for _ in range(200):
            hosts = host_state.parse_hosts(base.random_hosts(rng, 30))
            request = host_state.parse_request(
                base.random_request(rng, [{'id': i} for i in hosts.ids]))
            for name, plugin in filters:
                if not hasattr(plugin, 'host_passes'):
                    continue
                mask = plugin.filter_mask(hosts, request)
                per_host = [bool(plugin.host_passes(host, request))
                            for host in hosts]
                if mask is None:
                    self.assertTrue(all(per_host), name)
                else:
                    self.assertEqual(per_host, list(mask), name)
