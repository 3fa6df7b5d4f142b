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

"""The ``filter`` driver, configured by files and used through the manager."""

import collections

from sora.scheduler import exceptions
from sora.scheduler import filter_scheduler
from sora.scheduler import manager
from tests import base

REQUIRED = 'enabled,memory,cpu,disk'
HOSTS = [
    {'id': 'big-busy', 'memory_mb': 8192, 'cpus': 2, 'containers': 20,
     'labels': {'zone': 'az1'}},
    {'id': 'mid-idle', 'memory_mb': 4096, 'cpus': 6, 'containers': 0,
     'labels': {'zone': 'az1'}},
    {'id': 'small', 'memory_mb': 1024, 'cpus': 1, 'containers': 5,
     'labels': {'zone': 'az2'}, 'groups': ['web']},
]

PER_HOST_PLUGINS = '''
class EvenMemory:
    """Keep hosts whose free memory is an even number of GB."""

    def __init__(self, conf=None):
        self.conf = conf

    def host_passes(self, host, request):
        return int(host.memory_mb // 1024) % 2 == 0


class LastLetter:
    """Prefer hosts whose id starts late in the alphabet."""

    multiplier = 10.0

    def __init__(self, conf=None):
        pass

    def weigh(self, host, request):
        return ord(host.id[0])
'''


class FilterSchedulerTestCase(base.TestCase):

    def manager(self, **options):
        lines = ['[DEFAULT]', 'scheduler_driver = filter',
                 '[filter_scheduler]']
        lines += [f'{key} = {value}' for key, value in options.items()]
        return manager.SchedulerManager(self.make_conf('\n'.join(lines)))


class FilterSchedulerTest(FilterSchedulerTestCase):

    def test_built_through_its_entry_point(self):
        mgr = self.manager()
        self.assertIsInstance(mgr.driver, filter_scheduler.FilterScheduler)
        self.assertEqual(['enabled', 'memory', 'cpu', 'disk', 'resources',
                          'taints', 'labels', 'constraints',
                          'max_containers', 'same_host', 'different_host',
                          'affinity', 'anti_affinity', 'spread'],
                         [name for name, _ in mgr.driver.filters])
        self.assertEqual(['memory', 'cpu', 'containers', 'resources',
                          'preferences', 'soft_affinity',
                          'soft_anti_affinity'],
                         [name for name, _ in mgr.driver.weighers])

    def test_default_weighers_balance_memory_cpu_and_containers(self):
        # memory: big 1, mid .43, small 0; cpu: mid 1, big .2, small 0;
        # containers: mid 1, small .75, big 0.
        self.assertEqual(['mid-idle'],
                         self.manager().select_destinations({}, HOSTS))

    def test_one_weigher_decides_alone(self):
        mgr = self.manager(weighers='memory')
        self.assertEqual(['big-busy'], mgr.select_destinations({}, HOSTS))
        mgr = self.manager(weighers='containers')
        self.assertEqual(['mid-idle'], mgr.select_destinations({}, HOSTS))

    def test_negative_multiplier_packs(self):
        mgr = self.manager(weighers='memory', memory_weight_multiplier=-1)
        self.assertEqual(['small'], mgr.select_destinations({}, HOSTS))
        self.assertEqual(['mid-idle'], mgr.select_destinations(
            {'memory_mb': 2048}, HOSTS))

    def test_multipliers_trade_off(self):
        mgr = self.manager(memory_weight_multiplier=5)
        self.assertEqual(['big-busy'], mgr.select_destinations({}, HOSTS))
        mgr = self.manager(memory_weight_multiplier=0,
                           cpu_weight_multiplier=0)
        self.assertEqual(['mid-idle'], mgr.select_destinations({}, HOSTS))

    def test_ties_go_to_the_lowest_id(self):
        hosts = [{'id': n, 'memory_mb': 1024} for n in ('c', 'a', 'b')]
        self.assertEqual(['a', 'b', 'c', 'a'], self.manager(
            weighers='memory').select_destinations(
                {'memory_mb': 512}, hosts, count=4))
        self.assertEqual(['a'], self.manager(weighers='').select_destinations(
            {}, hosts))

    def test_count_spreads_as_picks_consume(self):
        hosts = [{'id': 'a', 'memory_mb': 4096}, {'id': 'b',
                                                  'memory_mb': 3072}]
        # a takes the first pick and the tie after it (lowest id).
        self.assertEqual(['a', 'a', 'b', 'a'], self.manager(
            weighers='memory').select_destinations(
                {'memory_mb': 1024}, hosts, count=4))

    def test_host_subset_size_picks_among_the_best(self):
        mgr = self.manager(weighers='memory', host_subset_size=2)
        picks = collections.Counter(
            mgr.select_destinations({}, HOSTS)[0] for _ in range(300))
        self.assertEqual({'big-busy', 'mid-idle'}, set(picks))
        self.assertGreater(min(picks.values()), 100)

    def test_zone_label_and_anti_affinity(self):
        mgr = self.manager()
        self.assertEqual(['small'], mgr.select_destinations(
            {'labels': {'zone': 'az2'}}, HOSTS))
        chosen = mgr.select_destinations(
            {'group': 'web', 'group_policy': 'anti-affinity'}, HOSTS, count=2)
        self.assertEqual(['big-busy', 'mid-idle'], sorted(chosen))

    def test_anti_affinity_counts_its_own_picks(self):
        error = self.assertRaises(
            exceptions.NoValidHost, self.manager().select_destinations,
            {'group': 'web', 'group_policy': 'anti-affinity'}, HOSTS, 3)
        self.assertEqual(2, error.placed)

    def test_affinity_keeps_a_group_together(self):
        mgr = self.manager()
        self.assertEqual(['small', 'small'], mgr.select_destinations(
            {'group': 'web', 'group_policy': 'affinity', 'memory_mb': 256},
            HOSTS, count=2))
        chosen = mgr.select_destinations(
            {'group': 'new', 'group_policy': 'affinity'}, HOSTS, count=3)
        self.assertEqual(1, len(set(chosen)))

    def test_no_valid_host_counts_per_filter(self):
        error = self.assertRaises(
            exceptions.NoValidHost, self.manager().select_destinations,
            {'memory_mb': 2048, 'labels': {'zone': 'az2'}}, HOSTS)
        self.assertEqual(3, error.hosts_total)
        self.assertEqual([('enabled', 3), ('memory', 2), ('labels', 0)],
                         error.filter_counts)
        self.assertEqual('no valid host among 3: enabled 3, memory 2 (needs '
                         '2048 MB), labels 0 (zone=az2)', str(error))

    def test_request_constraint_no_filter_enforces_is_refused(self):
        mgr = self.manager(enabled_filters=REQUIRED)
        for request, asked in (({'labels': {'zone': 'az1'}}, 'labels'),
                               ({'same_host': ['small']}, 'same_host'),
                               ({'group': 'g', 'group_policy': 'affinity'},
                                'affinity')):
            error = self.assertRaises(exceptions.InvalidRequest,
                                      mgr.select_destinations, request, HOSTS)
            self.assertIn(f'the request asks for {asked} but no enabled '
                          'filter enforces it', str(error))
        self.assertEqual(['mid-idle'], mgr.select_destinations({}, HOSTS))

    def test_explain_ranks_with_per_weigher_scores(self):
        explanation = self.manager().explain({'memory_mb': 2048}, HOSTS, 2)
        self.assertEqual(3, explanation['hosts_total'])
        self.assertEqual([('enabled', 3), ('memory', 2),
                          ('max_containers', 2)],
                         explanation['filter_counts'])
        first, second = explanation['ranking']
        self.assertEqual(('mid-idle', 'big-busy'), (first['id'],
                                                    second['id']))
        self.assertEqual({'memory': 0.0, 'cpu': 1.0, 'containers': 1.0},
                         first['weighers'])
        self.assertEqual(2.0, first['weight'])


class FilterSchedulerPluginsTest(FilterSchedulerTestCase):

    def test_unknown_filter_fails_when_the_manager_is_built(self):
        error = self.assertRaises(exceptions.DriverNotFound, self.manager,
                                  enabled_filters=REQUIRED + ',ramdisk')
        self.assertIn("[filter_scheduler] enabled_filters (set in ",
                      str(error))
        self.assertIn("no plugin named 'ramdisk' in namespace "
                      "'sora.scheduler.filters'; installed: affinity, "
                      "anti_affinity, constraints, cpu, ", str(error))

    def test_unknown_weigher(self):
        error = self.assertRaises(exceptions.DriverNotFound, self.manager,
                                  weighers='memory,price')
        self.assertIn("no plugin named 'price' in namespace "
                      "'sora.scheduler.weighers'; installed: containers, "
                      "cpu, disk, memory", str(error))

    def test_fit_is_enforced_whatever_enabled_filters_says(self):
        request = {'memory_mb': 5000, 'cpus': 2}
        for filters in ('', 'labels', 'enabled,memory,cpu,disk,labels',
                        'labels,disk,memory'):
            mgr = self.manager(enabled_filters=filters)
            self.assertEqual(['big-busy'],
                             mgr.select_destinations(request, HOSTS))
            error = self.assertRaises(
                exceptions.NoValidHost, mgr.select_destinations,
                {'memory_mb': 5000, 'cpus': 3}, HOSTS)
            self.assertEqual([('enabled', 3), ('memory', 1), ('cpu', 0)],
                             error.filter_counts)
            self.assertEqual(
                [('enabled', 3), ('memory', 1), ('cpu', 1)],
                mgr.explain(request, HOSTS)['filter_counts'])
            disabled = [dict(host, enabled=False) for host in HOSTS]
            self.assertRaises(exceptions.NoValidHost,
                              mgr.select_destinations, {}, disabled)

    def test_broken_filter_fails_when_the_manager_is_built(self):
        self.add_plugins('sora-bad-filter',
                         {'sora.scheduler.filters': {'bad': 'sora_bad:F'}},
                         {'sora_bad': 'raise RuntimeError("boom")\n'})
        error = self.assertRaises(exceptions.DriverLoadError, self.manager,
                                  enabled_filters=REQUIRED + ',bad')
        self.assertIn("could not load sora.scheduler.filters plugin 'bad' "
                      "(sora_bad:F) from sora-bad-filter 1.0: RuntimeError: "
                      "boom", str(error))

    def test_plugin_without_the_method_is_refused(self):
        self.add_plugins('sora-odd',
                         {'sora.scheduler.weighers': {'odd': 'sora_odd:W'}},
                         {'sora_odd': 'class W:\n    def __init__(self, '
                                      'conf=None):\n        pass\n'})
        error = self.assertRaises(exceptions.DriverLoadError, self.manager,
                                  weighers='odd')
        self.assertIn("'odd' (sora_odd:W) from sora-odd 1.0 has no weigh_all "
                      'or weigh method: it is not a weigher', str(error))

    def test_third_party_per_host_filter_and_weigher(self):
        self.add_plugins(
            'sora-name-plugins',
            {'sora.scheduler.filters': {'even': 'sora_names:EvenMemory'},
             'sora.scheduler.weighers': {'last': 'sora_names:LastLetter'}},
            {'sora_names': PER_HOST_PLUGINS})
        mgr = self.manager(enabled_filters=REQUIRED + ',same_host,even',
                           weighers='memory,last')
        # even keeps big-busy (8 GB) and mid-idle (4 GB); last (x10)
        # outweighs memory.
        self.assertEqual(['mid-idle'], mgr.select_destinations({}, HOSTS))
        error = self.assertRaises(exceptions.NoValidHost,
                                  mgr.select_destinations,
                                  {'memory_mb': 512, 'same_host': ['small']},
                                  HOSTS)
        self.assertEqual([('enabled', 3), ('memory', 3), ('same_host', 1),
                          ('even', 0)], error.filter_counts)
        ranking = mgr.explain({}, HOSTS)['ranking']
        self.assertEqual({'memory': 0.0, 'last': 10.0},
                         ranking[0]['weighers'])
