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
from sora.scheduler import request as sora_request
from tests import base

BUILT_IN = ('enabled', 'memory', 'cpu', 'disk', 'resources', 'labels',
            'constraints', 'max_containers',
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
        """Ids passing filter *name*."""
        [(_, plugin)] = filtering.load([name], self.conf)
        request = sora_request.parse_request(request)
        mask, _counts = filtering.run([(name, plugin)], HOSTS, request)
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

    def test_resource_filters_describe_what_the_request_needs(self):
        for name, request, said in (
                ('memory', {'memory_mb': 512}, 'needs 512 MB'),
                ('disk', {'disk_gb': 1}, 'needs 1 GB'),
                ('cpu', {'cpus': 1}, 'needs 1 CPU'),
                ('cpu', {'cpus': 0.5}, 'needs 0.5 CPUs'),
                ('cpu', {'cpus': 2}, 'needs 2 CPUs')):
            [(_, plugin)] = filtering.load([name], self.conf)
            self.assertEqual(said, plugin.describe(
                sora_request.parse_request(request)))

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

    def test_each_matches_its_per_host_specification(self):
        # Each built-in filter is vectorised only; run through the per-host
        # adapter, these plain statements of what each keeps must agree.
        rng = random.Random(20261127)
        filters = dict(filtering.load(BUILT_IN, self.conf))
        for _ in range(200):
            hosts = host_state.parse_hosts(base.random_hosts(rng, 30))
            request = sora_request.parse_request(
                base.random_request(rng, [{'id': i} for i in hosts.ids]))
            for name, passes in SPECIFICATION.items():
                vectorised, _ = filtering.run([(name, filters[name])], hosts,
                                              request)
                per_host, _ = filtering.run([(name, _PerHost(passes))],
                                            hosts, request)
                self.assertEqual(list(per_host), list(vectorised), name)


class _PerHost:
    """A third-party style filter answering one host at a time."""

    def __init__(self, passes):
        self.host_passes = passes


SPECIFICATION = {
    'enabled': lambda host, request: host.enabled,
    'memory': lambda host, request: host.memory_mb >= request.memory_mb,
    'cpu': lambda host, request: host.cpus >= request.cpus,
    'disk': lambda host, request: host.disk_gb >= request.disk_gb,
    'labels': lambda host, request: all(
        host.labels.get(key) == value
        for key, value in request.labels.items()),
    'max_containers': lambda host, request: host.containers < 5,
    'same_host': lambda host, request: (
        not request.same_host or host.id in request.same_host),
    'different_host': lambda host, request: (
        host.id not in request.different_host),
    'anti_affinity': lambda host, request: (
        request.group_policy != 'anti-affinity'
        or request.group not in host.groups),
}
"""What each built-in filter keeps (affinity depends on all hosts)."""
