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

"""Hosts tracked by the manager: node reports in, claims out."""

import collections
import threading

from sora.scheduler import exceptions
from sora.scheduler import manager
from tests import base

DRIVERS = ('memorybase', 'randombase', 'filter')

REPORTS = [
    {'id': 'a', 'memory_mb': 4096, 'memory_total_mb': 8192, 'cpus': 4,
     'disk_gb': 100, 'containers': 1},
    {'id': 'b', 'memory_mb': 2048, 'cpus': 2, 'labels': {'zone': 'az2'}},
]

ANY_HOST = '''
from sora.scheduler import base


class FirstFit(base.Scheduler):
    """The lowest-id host with enough free memory, no other check."""

    def select_destinations(self, request, hosts, count=1):
        chosen = []
        for host in hosts:
            if host.memory_mb >= request.memory_mb and len(chosen) < count:
                chosen.append(host.id)
        return chosen


class Greedy(base.Scheduler):
    """A buggy driver: always the first host, whatever it has free."""

    def select_destinations(self, request, hosts, count=1):
        return [hosts[0].id] * count
'''


class TrackedStateTestCase(base.TestCase):

    def manager(self, driver='memorybase'):
        return manager.SchedulerManager(self.make_conf(
            f'[DEFAULT]\nscheduler_driver = {driver}\n'))

    def free(self, mgr, field='memory_mb'):
        return {host.id: getattr(host, field) for host in mgr.hosts()}


class ClaimReleaseTest(TrackedStateTestCase):

    def test_select_claims_and_release_gives_back(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        request = {'memory_mb': 1024, 'cpus': 1, 'disk_gb': 10}
        self.assertEqual(['a', 'a'], mgr.select_destinations(request,
                                                             count=2))
        host = mgr.hosts()[0]
        self.assertEqual((2048, 2, 80, 3), (host.memory_mb, host.cpus,
                                            host.disk_gb, host.containers))
        self.assertEqual(8192, host.memory_total_mb)
        # a and b now tie at 2048 MB: a wins on its id, and so on.
        self.assertEqual(['a'], mgr.select_destinations(request))
        self.assertEqual(['b'], mgr.select_destinations(request))
        mgr.release('a', request)
        mgr.release('a', request)
        self.assertEqual({'a': 3072, 'b': 1024}, self.free(mgr))
        self.assertEqual({'a': 2, 'b': 1}, self.free(mgr, 'containers'))

    def test_every_driver_claims_on_tracked_state(self):
        for driver in DRIVERS:
            mgr = self.manager(driver)
            mgr.update_hosts(REPORTS)
            chosen = mgr.select_destinations({'memory_mb': 2048}, count=3)
            self.assertEqual({'a': 2, 'b': 1},
                             dict(collections.Counter(chosen)), driver)
            self.assertEqual({'a': 0, 'b': 0}, self.free(mgr))
            self.assertRaises(exceptions.NoValidHost,
                              mgr.select_destinations, {'memory_mb': 1})

    def test_all_or_nothing_claims_nothing(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        self.assertRaises(exceptions.NoValidHost, mgr.select_destinations,
                          {'memory_mb': 2048}, count=4)
        self.assertEqual({'a': 4096, 'b': 2048}, self.free(mgr))

    def test_passed_hosts_and_dry_run_change_nothing(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        before = list(mgr.hosts())
        self.assertEqual(['b'], mgr.select_destinations(
            {'memory_mb': 100}, hosts=[{'id': 'b', 'memory_mb': 200}]))
        self.assertEqual(['a'], mgr.select_destinations({'memory_mb': 100},
                                                        dry_run=True))
        self.assertEqual(before, list(mgr.hosts()))

    def test_reports_replace_but_claims_stay_until_released(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000, 'group': 'web',
                                 'group_policy': 'anti-affinity'})
        self.assertEqual(('web',), mgr.hosts()[0].groups)
        mgr.update_hosts([{'id': 'a', 'memory_mb': 6000}])
        self.assertEqual({'a': 5000, 'b': 2048}, self.free(mgr))
        self.assertEqual(('web',), mgr.hosts()[0].groups)
        mgr.update_hosts([{'id': 'aa', 'memory_mb': 100}])
        self.assertEqual({'a': 5000, 'aa': 100, 'b': 2048}, self.free(mgr))
        mgr.release('a', {'memory_mb': 1000, 'group': 'web',
                          'group_policy': 'anti-affinity'})
        self.assertEqual({'a': 6000, 'aa': 100, 'b': 2048}, self.free(mgr))
        self.assertEqual((), mgr.hosts()[0].groups)

    def test_a_report_below_the_claims_overcommits(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 3000})
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        self.assertEqual(-2000, self.free(mgr)['a'])
        self.assertEqual(['b'], mgr.select_destinations({}))

    def test_remove_host_drops_it_and_its_claims(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000})
        mgr.remove_host('a')
        self.assertEqual({'b': 2048}, self.free(mgr))
        mgr.update_hosts([REPORTS[0]])
        self.assertEqual({'a': 4096, 'b': 2048}, self.free(mgr))

    def test_bad_calls_change_nothing(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000})
        before = list(mgr.hosts())
        cases = [
            (mgr.remove_host, ('zz',), exceptions.InvalidRequest,
             "no host has id 'zz'"),
            (mgr.release, ('zz', {}), exceptions.InvalidRequest,
             "no host has id 'zz'"),
            (mgr.release, ('b', {'memory_mb': 1000}),
             exceptions.InvalidRequest, "host 'b' holds no claim"),
            (mgr.release, ('a', {'memory_mb': 1001}),
             exceptions.InvalidRequest, "host 'a' holds no claim"),
            (mgr.release, ('a', {'memroy': 1}), exceptions.InvalidRequest,
             'unknown field'),
            (mgr.update_hosts, ([{'id': 'a', 'memory_mb': 1},
                                 {'id': 'c'}],),
             exceptions.InvalidHostData, "host 1 (id 'c'): missing"),
            (mgr.select_destinations, ({'memory_mb': 99999},),
             exceptions.NoValidHost, 'no valid host among 2'),
        ]
        for method, args, error_class, message in cases:
            with self.subTest(method=method.__name__, args=args):
                error = self.assertRaises(error_class, method, *args)
                self.assertIn(message, str(error))
                self.assertEqual(before, list(mgr.hosts()))

    def test_empty_tracked_state(self):
        error = self.assertRaises(exceptions.NoValidHost,
                                  self.manager().select_destinations, {})
        self.assertEqual(0, error.hosts_total)


class ThirdPartyDriverTest(TrackedStateTestCase):

    def setUp(self):
        super().setUp()
        self.add_plugins('sora-first-fit',
                         {'sora.scheduler': {'first_fit': 'sora_ff:FirstFit',
                                             'greedy': 'sora_ff:Greedy'}},
                         {'sora_ff': ANY_HOST})

    def test_works_on_tracked_and_passed_hosts(self):
        mgr = self.manager('first_fit')
        self.assertEqual(['b'], mgr.select_destinations(
            {'memory_mb': 1}, hosts=[{'id': 'b', 'memory_mb': 5}]))
        mgr.update_hosts(REPORTS)
        self.assertEqual(['a', 'b'], mgr.select_destinations(
            {'memory_mb': 2048}, count=2))
        self.assertEqual({'a': 2048, 'b': 0}, self.free(mgr))

    def test_a_claim_never_oversubscribes_whatever_the_driver_says(self):
        mgr = self.manager('greedy')
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 4096})
        error = self.assertRaises(exceptions.PluginError,
                                  mgr.select_destinations, {'memory_mb': 1})
        self.assertEqual("driver greedy chose hosts that do not fit "
                         "{'memory_mb': 1.0, 'cpus': 0.0, 'disk_gb': 0.0, "
                         "'labels': {}}: filter memory refuses host 'a' for "
                         "placement 1 of 1; nothing was placed", str(error))
        error = self.assertRaises(exceptions.PluginError,
                                  mgr.select_destinations, {'memory_mb': 1},
                                  hosts=[{'id': 'a', 'memory_mb': 0},
                                         {'id': 'b', 'memory_mb': 1}])
        self.assertIn("filter memory refuses host 'a'", str(error))
        self.assertEqual({'a': 0, 'b': 2048}, self.free(mgr))


class ConcurrencyTest(TrackedStateTestCase):

    def test_threads_never_place_more_than_a_host_has(self):
        hosts = [{'id': f'n{i}', 'memory_mb': 1024 * (1 + i % 4),
                  'cpus': 2 + i % 3} for i in range(40)]
        capacity = sum(host['memory_mb'] // 256 for host in hosts)
        for driver in DRIVERS:
            mgr = self.manager(driver)
            mgr.update_hosts(hosts)
            results = [[] for _ in range(8)]

            def work(chosen):
                try:
                    while True:
                        chosen.extend(mgr.select_destinations(
                            {'memory_mb': 256, 'cpus': 0.25}))
                except exceptions.NoValidHost:
                    pass
                except Exception as error:  # recorded, then asserted
                    chosen.append(error)

            threads = [threading.Thread(target=work, args=(chosen,))
                       for chosen in results]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            placed = collections.Counter(
                host_id for chosen in results for host_id in chosen)
            self.assertEqual([], [item for item in placed
                                  if not isinstance(item, str)])
            for host in hosts:
                fits = min(host['memory_mb'] // 256, host['cpus'] * 4)
                self.assertLessEqual(placed[host['id']], fits)
            self.assertEqual(sum(placed.values()),
                             sum(host.containers for host in mgr.hosts()))
            for host in mgr.hosts():
                self.assertGreaterEqual(host.memory_mb, 0)
                self.assertGreaterEqual(host.cpus, -1e-9)
            self.assertLessEqual(sum(placed.values()), capacity)
