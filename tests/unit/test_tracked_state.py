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
import dataclasses
import logging
import math
import threading
import uuid

import fixtures

from sora.scheduler import exceptions
from sora.scheduler import host_store
from sora.scheduler import manager
from sora.scheduler import request as sora_request
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
    """The first host with enough free memory, no other check."""

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


class Writer(base.Scheduler):
    """A rogue driver: tries to write through the table it is given."""

    def select_destinations(self, request, hosts, count=1):
        for column in (hosts.memory_mb, hosts.enabled):
            try:
                column.flags.writeable = True
                column[:] = 0
            except ValueError:
                pass
        return [hosts[0].id] * count
'''

HOOKED = '''
from sora.scheduler import base
from sora.scheduler import memory

hook = None


class Hooked(base.Scheduler):
    """memorybase's choice; the test's hook runs before it is answered."""

    def __init__(self, conf=None):
        super().__init__(conf)
        self.inner = memory.MemoryScheduler(conf)

    def select_destinations(self, request, hosts, count=1):
        chosen = self.inner.select_destinations(request, hosts, count)
        if hook is not None:
            hook(chosen)
        return chosen
'''


class TrackedStateTestCase(base.TestCase):

    def manager(self, driver='memorybase', clock=None, text=''):
        conf = self.make_conf(f'[DEFAULT]\nscheduler_driver = {driver}\n'
                              + text)
        store = None if clock is None else host_store.MemoryHostStore(
            conf, clock=clock)
        return manager.SchedulerManager(conf, store=store)

    def free(self, mgr, field='memory_mb'):
        return {host.id: getattr(host, field) for host in mgr.hosts()}


class ClaimTest(TrackedStateTestCase):

    def test_select_claims_under_consumers_and_release_gives_back(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        request = {'memory_mb': 1024, 'cpus': 1, 'disk_gb': 10}
        placed = mgr.select_destinations(request, count=2,
                                         consumers=['c1', 'c2'])
        self.assertEqual(['a', 'a'], placed)
        self.assertEqual(['c1', 'c2'], placed.consumers)
        host = mgr.hosts()[0]
        self.assertEqual((2048, 2, 80, 3), (host.memory_mb, host.cpus,
                                            host.disk_gb, host.containers))
        self.assertEqual(8192, host.memory_total_mb)
        # a and b now tie at 2048 MB: a wins on its id, and so on.
        self.assertEqual(['a'], mgr.select_destinations(request,
                                                        consumers=['c3']))
        self.assertEqual(['b'], mgr.select_destinations(request,
                                                        consumers=['c4']))
        mgr.release('c1')
        mgr.release('c2')
        self.assertEqual({'a': 3072, 'b': 1024}, self.free(mgr))
        self.assertEqual({'a': 2, 'b': 1}, self.free(mgr, 'containers'))
        self.assertEqual(['c3', 'c4'], [claim.consumer
                                        for claim in mgr.claims()])

    def test_consumer_ids_are_generated_when_omitted(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        placed = mgr.select_destinations({'memory_mb': 1}, count=3)
        self.assertEqual(3, len(set(placed.consumers)))
        for consumer in placed.consumers:
            self.assertEqual(4, uuid.UUID(consumer).version)
        self.assertEqual(placed.consumers,
                         [claim.consumer for claim in mgr.claims()])

    def test_bad_consumer_ids_claim_nothing(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1}, consumers=['taken'])
        before = list(mgr.hosts())
        cases = [
            (['taken'], 1, "consumer 'taken' already holds a claim"),
            (['new', 'taken'], 2, "consumer 'taken' already holds"),
            (['x', 'x'], 2, "consumer 'x' is listed twice"),
            (['x'], 2, 'consumers lists 1 ids for 2 placements'),
            ('xy', 2, 'consumers must be a list of 2 consumer ids'),
            ([''], 1, 'a consumer id is a non-empty string'),
            ([7], 1, 'a consumer id is a non-empty string, got 7'),
            (['\udcff'], 1, "request: the consumer id is not Unicode "
             "text (it holds a lone surrogate): '\\udcff'"),
        ]
        for consumers, count, message in cases:
            with self.subTest(consumers=consumers):
                error = self.assertRaises(
                    exceptions.InvalidRequest, mgr.select_destinations,
                    {'memory_mb': 1}, count=count, consumers=consumers)
                self.assertIn(message, str(error))
                self.assertEqual(before, list(mgr.hosts()))
                self.assertEqual(1, len(mgr.claims()))

    def test_release_takes_a_consumer_id_only(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        cases = [('nobody', "no claim is held for consumer 'nobody'"),
                 (['a'], "a consumer id is a non-empty string, got ['a']"),
                 ('', 'a consumer id is a non-empty string'),
                 ('\ud800', 'the consumer id is not Unicode text')]
        for consumer, message in cases:
            error = self.assertRaises(exceptions.InvalidRequest,
                                      mgr.release, consumer)
            self.assertIn(message, str(error))
        self.assertRaises(TypeError, mgr.release, 'a', {'memory_mb': 1})
        error = self.assertRaises(exceptions.InvalidRequest,
                                  mgr.remove_host, ['a'])
        self.assertIn('a host id is a non-empty string', str(error))

    def test_a_report_listing_the_consumer_settles_its_claim(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        placed = mgr.select_destinations({'memory_mb': 1000}, count=2,
                                         consumers=['c1', 'c2'])
        self.assertEqual(['a', 'a'], placed)
        self.assertEqual({'a': 2096, 'b': 2048}, self.free(mgr))
        # The node's report now counts c1: its claim is dropped.
        mgr.update_hosts([dict(REPORTS[0], memory_mb=3096, containers=None,
                               consumers=['old', 'c1'])])
        self.assertEqual({'a': 2096, 'b': 2048}, self.free(mgr))
        self.assertEqual({'a': 3, 'b': 0}, self.free(mgr, 'containers'))
        self.assertEqual(['c2'], [claim.consumer for claim in mgr.claims()])
        # Any host's report settles a claim, wherever it was made.
        mgr.update_hosts([dict(REPORTS[1], memory_mb=1048,
                               consumers=['c2'])])
        self.assertEqual({'a': 3096, 'b': 1048}, self.free(mgr))
        self.assertEqual([], mgr.claims())
        self.assertRaises(exceptions.InvalidRequest, mgr.release, 'c2')

    def test_claims_list_consumer_host_resources_group_and_age(self):
        clock = base.Clock(1000.0)
        mgr = self.manager(clock=clock)
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 512, 'cpus': 0.25,
                                 'group': 'web',
                                 'group_policy': 'anti-affinity'},
                                consumers=['c1'])
        clock.now += 30
        mgr.select_destinations({'disk_gb': 2}, consumers=['c2'])
        clock.now += 12.5
        self.assertEqual(
            [{'consumer': 'c1', 'host': 'a', 'memory_mb': 512.0,
              'cpus': 0.25, 'disk_gb': 0.0, 'group': 'web', 'age': 42.5},
             {'consumer': 'c2', 'host': 'a', 'memory_mb': 0.0,
              'cpus': 0.0, 'disk_gb': 2.0, 'group': None, 'age': 12.5}],
            [claim.to_dict() for claim in mgr.claims()])

    def test_unsettled_claims_expire_with_a_warning(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        clock = base.Clock(1000.0)
        mgr = self.manager(clock=clock,
                           text='[scheduler]\nclaim_timeout = 60\n')
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000}, consumers=['old'])
        clock.now += 30
        mgr.select_destinations({'memory_mb': 1000}, consumers=['young'])
        clock.now += 29.5
        self.assertEqual(2, len(mgr.claims()))
        clock.now += 0.5
        self.assertEqual(['young'], [c.consumer for c in mgr.claims()])
        self.assertEqual({'a': 3096, 'b': 2048}, self.free(mgr))
        self.assertIn('Claim of consumer old on host a expired',
                      logs.output)
        self.assertNotIn('young', logs.output)
        self.assertRaises(exceptions.InvalidRequest, mgr.release, 'old')
        clock.now += 30
        self.assertEqual({'a': 4096, 'b': 2048}, self.free(mgr))

    def test_an_expiry_warning_is_one_line_whatever_the_ids(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        clock = base.Clock(1000.0)
        mgr = self.manager(clock=clock,
                           text='[scheduler]\nclaim_timeout = 60\n')
        mgr.update_hosts([{'id': 'a\nb', 'memory_mb': 1000}])
        mgr.select_destinations({}, consumers=['web\n1'])
        clock.now += 60
        self.assertEqual([], mgr.claims())
        self.assertEqual(['Claim of consumer "web\\n1" on host "a\\nb" '
                          'expired: no node report listed it within '
                          '[scheduler] claim_timeout = 60 s'],
                         logs.output.splitlines())

    def test_claim_timeout_is_mutable_and_zero_never_expires(self):
        clock = base.Clock(1000.0)
        mgr = self.manager(clock=clock)
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({}, consumers=['c1'])
        clock.now += 599
        self.assertEqual(1, len(mgr.claims()))
        mgr.conf.set_override('claim_timeout', 0, 'scheduler')
        clock.now += 10 ** 6
        self.assertEqual(1, len(mgr.claims()))
        mgr.conf.set_override('claim_timeout', 100, 'scheduler')
        self.assertEqual([], mgr.claims())

    def test_a_group_claim_counts_for_its_policy_until_it_ends(self):
        clock = base.Clock(1000.0)
        mgr = self.manager(clock=clock)
        mgr.update_hosts(REPORTS)
        web = {'group': 'web', 'group_policy': 'anti-affinity'}
        ends = [lambda: mgr.release('c1'),
                lambda: mgr.update_hosts([dict(REPORTS[0],
                                               consumers=['c1'])]),
                lambda: setattr(clock, 'now', clock.now + 600)]
        for end in ends:
            self.assertEqual(['a', 'b'], mgr.select_destinations(
                web, count=2, consumers=['c1', 'c2']))
            self.assertEqual(('web',), mgr.hosts()[0].groups)
            self.assertRaises(exceptions.NoValidHost,
                              mgr.select_destinations, web)
            mgr.release('c2')
            self.assertRaises(exceptions.NoValidHost,
                              mgr.select_destinations,
                              dict(web, different_host=['b']))
            end()
            self.assertEqual([], mgr.claims())
            if end is ends[1]:
                # Settled: the container still counts while a report lists
                # it, whatever the reports say of groups.
                self.assertEqual(('web',), mgr.hosts()[0].groups)
                self.assertRaises(exceptions.NoValidHost,
                                  mgr.select_destinations,
                                  dict(web, different_host=['b']))
                mgr.update_hosts([REPORTS[0]])
            self.assertEqual((), mgr.hosts()[0].groups)

    def test_fractions_fit_exactly_and_leave_no_residue(self):
        for driver in DRIVERS:
            mgr = self.manager(driver)
            mgr.update_hosts([{'id': 'n', 'memory_mb': 1, 'cpus': 0.3,
                               'disk_gb': 0.3}])
            placed = mgr.select_destinations({'cpus': 0.1}, count=3)
            self.assertEqual(0.0, mgr.hosts()[0].cpus, driver)
            self.assertRaises(exceptions.NoValidHost,
                              mgr.select_destinations, {'cpus': 0.001})
            for consumer in placed.consumers:
                mgr.release(consumer)
            self.assertEqual(0.3, mgr.hosts()[0].cpus, driver)
            self.assertEqual(0.0, mgr.hosts()[0].disk_gb, driver)

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
        self.assertEqual([], mgr.claims())

    def test_passed_hosts_and_dry_run_change_nothing(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        before = list(mgr.hosts())
        placed = mgr.select_destinations(
            {'memory_mb': 100}, hosts=[{'id': 'b', 'memory_mb': 200}],
            consumers=['c1'])
        self.assertEqual((['b'], []), (placed, placed.consumers))
        self.assertEqual(['a'], mgr.select_destinations({'memory_mb': 100},
                                                        dry_run=True))
        self.assertEqual(before, list(mgr.hosts()))
        self.assertEqual([], mgr.claims())

    def test_reports_replace_but_claims_stay_until_they_end(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000, 'group': 'web',
                                 'group_policy': 'anti-affinity'},
                                consumers=['c1'])
        self.assertEqual(('web',), mgr.hosts()[0].groups)
        mgr.update_hosts([{'id': 'a', 'memory_mb': 6000}])
        self.assertEqual({'a': 5000, 'b': 2048}, self.free(mgr))
        self.assertEqual(('web',), mgr.hosts()[0].groups)
        mgr.update_hosts([{'id': 'aa', 'memory_mb': 100}])
        self.assertEqual({'a': 5000, 'aa': 100, 'b': 2048}, self.free(mgr))
        mgr.release('c1')
        self.assertEqual({'a': 6000, 'aa': 100, 'b': 2048}, self.free(mgr))
        self.assertEqual((), mgr.hosts()[0].groups)

    def test_an_overclaimed_host_is_full_and_fails_no_decision(self):
        for driver in DRIVERS:
            mgr = self.manager(driver)
            mgr.update_hosts(REPORTS)
            mgr.select_destinations({'memory_mb': 3000, 'cpus': 3},
                                    consumers=['c1'])
            # The container started before its claim was settled.
            mgr.update_hosts([dict(REPORTS[0], memory_mb=1000, cpus=1)])
            self.assertEqual((0, 0), (mgr.hosts()[0].memory_mb,
                                      mgr.hosts()[0].cpus))
            for _ in range(5):
                self.assertIn(mgr.select_destinations({}, dry_run=True),
                              (['a'], ['b']))
                for request in ({'memory_mb': 1}, {'cpus': 0.5}):
                    self.assertEqual(['b'], mgr.select_destinations(
                        request, dry_run=True), (driver, request))
            mgr.release('c1')
            self.assertEqual(1000, mgr.hosts()[0].memory_mb)

    def test_remove_host_drops_it_and_its_claims(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000}, consumers=['c1'])
        mgr.remove_host('a')
        self.assertEqual({'b': 2048}, self.free(mgr))
        self.assertEqual([], mgr.claims())
        mgr.update_hosts([REPORTS[0]])
        self.assertEqual({'a': 4096, 'b': 2048}, self.free(mgr))

    def test_bad_calls_change_nothing(self):
        mgr = self.manager(clock=base.Clock(1000.0))
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({'memory_mb': 1000}, consumers=['c1'])
        before, claims = list(mgr.hosts()), mgr.claims()
        cases = [
            (mgr.remove_host, ('zz',), exceptions.InvalidRequest,
             "no host has id 'zz'"),
            (mgr.release, ('zz',), exceptions.InvalidRequest,
             "no claim is held for consumer 'zz'"),
            (mgr.update_hosts, ([{'id': 'a', 'memory_mb': 1},
                                 {'id': 'c'}],),
             exceptions.InvalidHostData, "host 1 (id 'c'): missing"),
            (mgr.select_destinations, ({'memory_mb': 99999},),
             exceptions.NoValidHost, 'no valid host among 2'),
            (mgr.select_destinations, ({'memory_mb': -1},),
             exceptions.InvalidRequest, 'memory_mb must be a finite'),
        ]
        for method, args, error_class, message in cases:
            with self.subTest(method=method.__name__, args=args):
                error = self.assertRaises(error_class, method, *args)
                self.assertIn(message, str(error))
                self.assertEqual(before, list(mgr.hosts()))
                self.assertEqual(claims, mgr.claims())

    def test_empty_tracked_state(self):
        error = self.assertRaises(exceptions.NoValidHost,
                                  self.manager().select_destinations, {})
        self.assertEqual(0, error.hosts_total)


class HandedOutDataTest(TrackedStateTestCase):
    """What callers and plugins get cannot change what the store holds."""

    def test_hosts_cannot_be_written_through(self):
        mgr = self.manager()
        mgr.update_hosts(REPORTS)
        hosts = mgr.hosts()
        for name in ('memory_mb', 'cpus', 'disk_gb', 'containers',
                     'enabled'):
            column = getattr(hosts, name)
            self.assertRaises(ValueError, setattr, column.flags,
                              'writeable', True)
        self.assertEqual({'a': 4096, 'b': 2048}, self.free(mgr))

    def test_request_and_host_objects_are_checked_like_mappings(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': 'n', 'memory_mb': 1000}])
        request = sora_request.Request(memory_mb=1000)
        object.__setattr__(request, 'memory_mb', -4000.0)
        self.assertRaises(exceptions.InvalidRequest,
                          mgr.select_destinations, request, count=5)
        self.assertEqual([], mgr.claims())
        nan_host = dataclasses.replace(mgr.hosts()[0], memory_mb=math.nan)
        self.assertRaises(exceptions.InvalidHostData, mgr.update_hosts,
                          [nan_host])
        self.assertEqual(['n'], mgr.select_destinations(
            sora_request.Request(memory_mb=1000)))


class ThirdPartyDriverTest(TrackedStateTestCase):

    def setUp(self):
        super().setUp()
        self.add_plugins('sora-first-fit',
                         {'sora.scheduler': {'first_fit': 'sora_ff:FirstFit',
                                             'greedy': 'sora_ff:Greedy',
                                             'writer': 'sora_ff:Writer'}},
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

    def test_a_driver_cannot_write_through_the_table(self):
        mgr = self.manager('writer')
        mgr.update_hosts(REPORTS)
        self.assertEqual(['a'], mgr.select_destinations({'memory_mb': 96}))
        self.assertEqual({'a': 4000, 'b': 2048}, self.free(mgr))
        self.assertEqual([True, True], list(mgr.hosts().enabled))


class OptimisticCommitTest(TrackedStateTestCase):
    """Decisions run outside the store's lock; commits check their premises.

    The driver's hook runs between the decision and its commit, so each
    test can change the tracked state in that window.
    """

    def setUp(self):
        super().setUp()
        self.add_plugins('sora-hooked',
                         {'sora.scheduler': {'hooked': 'sora_hooked:Hooked'}},
                         {'sora_hooked': HOOKED})
        import sora_hooked
        self.plugin = sora_hooked
        self.mgr = self.manager('hooked')
        self.mgr.update_hosts(REPORTS)
        self.calls = []

    def hook_once(self, action):
        def hook(chosen):
            self.calls.append(chosen)
            if len(self.calls) == 1:
                action(chosen)
        self.plugin.hook = hook

    def test_a_report_of_the_chosen_host_meanwhile_decides_again(self):
        self.hook_once(lambda chosen: self.mgr.update_hosts(
            [dict(REPORTS[0], memory_mb=1500)]))
        self.assertEqual(['b'], self.mgr.select_destinations(
            {'memory_mb': 1000}, consumers=['c1']))
        self.assertEqual([['a'], ['b']], self.calls)
        self.assertEqual({'a': 1500, 'b': 1048}, self.free(self.mgr))

    def test_a_claim_taking_the_room_meanwhile_decides_again(self):
        self.hook_once(lambda chosen: self.mgr.select_destinations(
            {'memory_mb': 3000}, consumers=['other']))
        self.assertEqual(['b'], self.mgr.select_destinations(
            {'memory_mb': 2000}, consumers=['c1']))
        self.assertEqual([['a'], ['a'], ['b']], self.calls)
        self.assertEqual({'a': 1096, 'b': 48}, self.free(self.mgr))

    def test_room_left_for_both_commits_both(self):
        self.hook_once(lambda chosen: self.mgr.select_destinations(
            {'memory_mb': 1000}, consumers=['other']))
        self.assertEqual(['a'], self.mgr.select_destinations(
            {'memory_mb': 1000}, consumers=['c1']))
        self.assertEqual({'a': 2096, 'b': 2048}, self.free(self.mgr))

    def test_a_host_removed_and_readded_meanwhile_decides_again(self):
        def churn(chosen):
            self.mgr.remove_host(chosen[0])
            self.mgr.update_hosts([REPORTS[0]])
        self.hook_once(churn)
        self.assertEqual(['a'], self.mgr.select_destinations(
            {'memory_mb': 1000}, consumers=['c1']))
        self.assertEqual(2, len(self.calls))
        self.assertEqual({'a': 3096, 'b': 2048}, self.free(self.mgr))

    def test_a_group_placed_elsewhere_meanwhile_decides_again(self):
        web = {'group': 'web', 'group_policy': 'affinity'}
        self.hook_once(lambda chosen: self.mgr.select_destinations(
            dict(web, different_host=chosen), consumers=['other']))
        self.assertEqual(['b'], self.mgr.select_destinations(
            web, consumers=['c1']))
        self.assertEqual([('web', 'web')], [
            host.groups for host in self.mgr.hosts() if host.groups])

    def test_a_commit_on_a_stale_snapshot_is_a_conflict(self):
        # The store's side of a lost race: one error, nothing claimed.
        store = self.mgr.store
        table, version = store.snapshot(['c1'])
        self.mgr.update_hosts([REPORTS[0]])
        request = sora_request.parse_request({'memory_mb': 1})
        self.assertRaises(exceptions.Conflict, store.commit, version,
                          request, [('c1', REPORTS[0]['id'])])
        self.assertEqual([], self.mgr.claims())
        _, version = store.snapshot(['c1'])
        store.commit(version, request, [('c1', REPORTS[0]['id'])])
        self.assertEqual(['c1'], [c.consumer for c in self.mgr.claims()])

    def test_losing_every_race_is_no_valid_host(self):
        def report(chosen):
            self.calls.append(chosen)
            self.mgr.update_hosts([REPORTS[0]])
        self.plugin.hook = report
        error = self.assertRaises(exceptions.NoValidHost,
                                  self.mgr.select_destinations,
                                  {'memory_mb': 1}, consumers=['c1'])
        self.assertIn('other decisions took the chosen hosts 8 times',
                      str(error))
        self.assertEqual(host_store.ATTEMPTS, len(self.calls))
        self.assertEqual([], self.mgr.claims())

    def test_decide_and_commit_are_atomic_across_managers(self):
        # Eight managers sharing one store race for one host with room for
        # five, one thread each; the hook widens the window between
        # deciding and committing. Managers do not take turns: the commit
        # alone must keep them apart, as it must between processes sharing
        # a store.
        store = host_store.MemoryHostStore(self.mgr.conf)
        managers = [manager.SchedulerManager(self.mgr.conf, store=store)
                    for _ in range(8)]
        for mgr in managers:
            self.addCleanup(mgr.close)
        self.mgr = managers[0]
        self.mgr.update_hosts(REPORTS)
        self.mgr.remove_host('b')
        self.mgr.update_hosts([dict(REPORTS[0], memory_mb=5000)])
        self.plugin.hook = lambda chosen: threading.Event().wait(0.002)
        placed, errors = [], []

        def work(mgr):
            try:
                while True:
                    placed.extend(mgr.select_destinations(
                        {'memory_mb': 1000}))
            except exceptions.NoValidHost as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(mgr,))
                   for mgr in managers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(['a'] * 5, placed)
        self.assertEqual(0, self.mgr.hosts()[0].memory_mb)
        self.assertEqual(5, len(self.mgr.claims()))


class ConcurrencyTest(TrackedStateTestCase):

    def test_threads_never_place_more_than_a_host_has(self):
        hosts = [{'id': f'n{i}', 'memory_mb': 1024 * (1 + i % 4),
                  'cpus': 2 + i % 3 + 0.1} for i in range(40)]
        capacity = sum(host['memory_mb'] // 256 for host in hosts)
        for driver in DRIVERS:
            mgr = self.manager(driver)
            mgr.update_hosts(hosts)
            results = [[] for _ in range(8)]

            def work(chosen):
                try:
                    while True:
                        chosen.extend(mgr.select_destinations(
                            {'memory_mb': 256, 'cpus': 0.1}))
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
                fits = min(host['memory_mb'] // 256,
                           round(host['cpus'] * 10))
                self.assertEqual(fits, placed[host['id']], driver)
            self.assertEqual(sum(placed.values()),
                             sum(host.containers for host in mgr.hosts()))
            self.assertEqual(sum(placed.values()), len(mgr.claims()))
            for host in mgr.hosts():
                self.assertEqual(0, min(host.memory_mb, host.cpus))
            self.assertLessEqual(sum(placed.values()), capacity)


class HostStorePluginTest(TrackedStateTestCase):

    STORES = '''
from sora.scheduler import host_store


class Counting(host_store.MemoryHostStore):
    """The memory store, counting commits."""

    commits = 0

    def commit(self, version, request, placements):
        Counting.commits += 1
        return super().commit(version, request, placements)


class NotAStore:
    def __init__(self, conf=None):
        pass


class Unready(host_store.MemoryHostStore):
    def __init__(self, conf=None):
        pass


class Broken(host_store.MemoryHostStore):
    def __init__(self, conf=None):
        raise RuntimeError('cannot reach the cluster')
'''

    def setUp(self):
        super().setUp()
        self.add_plugins('sora-stores', {'sora.scheduler.host_stores': {
            'counting': 'sora_stores:Counting',
            'not_a_store': 'sora_stores:NotAStore',
            'unready': 'sora_stores:Unready',
            'broken': 'sora_stores:Broken',
            'missing': 'sora_no_such_module:Store'}},
            {'sora_stores': self.STORES})

    def store_conf(self, name):
        return f'[scheduler]\nhost_store = {name}\n'

    def test_a_store_given_is_checked_too(self):
        error = self.assertRaises(exceptions.DriverLoadError,
                                  manager.SchedulerManager, self.make_conf(),
                                  store=object())
        self.assertEqual('the store given is not a '
                         'sora.scheduler.stores.base.HostStore', str(error))

    def test_memory_is_the_default(self):
        mgr = self.manager()
        self.assertIsInstance(mgr.store, host_store.MemoryHostStore)
        self.assertIs(mgr.conf, mgr.store.conf)

    def test_a_store_is_found_by_its_entry_point(self):
        mgr = self.manager(text=self.store_conf('counting'))
        self.assertEqual('Counting', type(mgr.store).__name__)
        mgr.update_hosts(REPORTS)
        mgr.select_destinations({})
        self.assertEqual(1, type(mgr.store).commits)

    def test_bad_store_names_and_plugins(self):
        cases = [('nosuch', exceptions.DriverNotFound,
                  "[scheduler] host_store (set in "),
                 ('nosuch', exceptions.DriverNotFound,
                  "no plugin named 'nosuch' in namespace "
                  "'sora.scheduler.host_stores'; installed: broken, "
                  "counting, etcd, memory, missing, not_a_store, unready"),
                 ('broken', exceptions.DriverLoadError,
                  "could not load sora.scheduler.host_stores plugin "
                  "'broken' (sora_stores:Broken) from sora-stores 1.0: "
                  "RuntimeError: cannot reach the cluster"),
                 ('missing', exceptions.DriverLoadError,
                  'ModuleNotFoundError'),
                 ('not_a_store', exceptions.DriverLoadError,
                  'is not a sora.scheduler.stores.base.HostStore'),
                 ('unready', exceptions.DriverLoadError,
                  "sora.scheduler.host_stores plugin 'unready' did not call "
                  'HostStore.__init__')]
        for name, error_class, message in cases:
            with self.subTest(name=name):
                error = self.assertRaises(error_class, self.manager,
                                          text=self.store_conf(name))
                self.assertIn(message, str(error))


class TieBreakTest(TrackedStateTestCase):

    def test_ties_go_to_the_lowest_id_whatever_the_join_order(self):
        for driver in ('memorybase', 'filter'):
            mgr = self.manager(driver)
            for host_id in ('d', 'b', 'c', 'a0', 'a'):
                mgr.update_hosts([{'id': host_id, 'memory_mb': 1024}])
            mgr.remove_host('a0')
            self.assertEqual(['d', 'b', 'c', 'a'], list(mgr.hosts().ids))
            self.assertEqual(['a', 'b', 'c', 'd'], mgr.select_destinations(
                {'memory_mb': 1024}, count=4), driver)
            if driver == 'filter':
                self.assertEqual(['a', 'b', 'c', 'd'], [
                    entry['id'] for entry in
                    mgr.explain({}, top=4)['ranking']])
