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

"""The etcd host store against a real etcd: managers sharing one truth."""

import gc
import json
import logging
import math
import os
import shutil
import threading
import time

import fixtures
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import store as etcd_store
from tests import base
from tests import etcd

HOSTS = [{'id': 'a', 'memory_mb': 1000, 'cpus': 1},
         {'id': 'b/1', 'memory_mb': 3000, 'cpus': 0.3}]


def settle(condition, timeout=10):
    """Wait until *condition()* holds (the watch delivers asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('condition not reached')
        time.sleep(0.01)


class EtcdStoreTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.etcd = self.useFixture(etcd.EtcdPrefix())

    def conf_text(self, endpoint=None, **etcd_options):
        """The text of a config file: the filter driver on this etcd."""
        options = {'endpoints': endpoint or self.etcd.endpoint,
                   'prefix': self.etcd.prefix, 'timeout': 2, **etcd_options}
        return ('[DEFAULT]\nscheduler_driver = filter\n'
                '[scheduler]\nhost_store = etcd\n[etcd]\n' + ''.join(
                    f'{key} = {value}\n' for key, value in options.items()))

    def conf(self, endpoint=None, name='sora.conf', **etcd_options):
        return self.make_conf(self.conf_text(endpoint, **etcd_options), name)

    def conf_file(self):
        """The path of a config file of :meth:`conf_text`."""
        return self.write_file('etcd.conf', self.conf_text())

    def manager(self, conf=None, store=None):
        mgr = manager.SchedulerManager(conf or self.conf(), store=store)
        self.addCleanup(mgr.close)
        return mgr

    def clocked(self, conf, clock):
        """A manager on an etcd store of its own that tells time by *clock*.

        A store given to a manager is the giver's to close.
        """
        store = etcd_store.EtcdHostStore(conf, clock)
        self.addCleanup(store.close)
        return self.manager(conf, store)

    def hold_watch(self, mgr):
        """Hold back what *mgr*'s watch brings until the event is set."""
        gate = threading.Event()
        apply = mgr.store.mirror._apply
        mgr.store.mirror._apply = lambda events: (gate.wait(), apply(events))
        self.addCleanup(gate.set)
        return gate

    def free(self, mgr):
        return {host.id: (host.memory_mb, host.cpus) for host in mgr.hosts()}


class SharedTruthTest(EtcdStoreTestCase):

    def test_reports_claims_releases_and_settlements_are_shared(self):
        one, two = self.manager(), self.manager()
        one.update_hosts(HOSTS)
        settle(lambda: len(two.hosts()) == 2)
        self.assertEqual(['a', 'b/1', 'a'], one.select_destinations(
            {'memory_mb': 500, 'cpus': 0.1}, count=3,
            consumers=['c1', 'c2', 'c3']))
        settle(lambda: len(two.claims()) == 3)
        self.assertEqual({'a': (0, 0.8), 'b/1': (2500, 0.2)}, self.free(two))
        two.release('c1')
        settle(lambda: len(one.claims()) == 2)
        self.assertRaises(exceptions.InvalidRequest, one.release, 'c1')
        one.update_hosts([{'id': 'b/1', 'memory_mb': 2500, 'cpus': 0.2,
                           'consumers': ['c2']}])
        settle(lambda: [c.consumer for c in two.claims()] == ['c3'])
        self.assertEqual({'a': (500, 0.9), 'b/1': (2500, 0.2)},
                         self.free(two))
        two.remove_host('a')
        settle(lambda: self.free(one) == {'b/1': (2500, 0.2)})
        self.assertEqual([], one.claims())

    def test_a_manager_never_loses_a_race_to_its_own_writes(self):
        # Its copy holds its own reports and claims at once, before its
        # watch brings them back: the next decision on the same host
        # commits without deciding again (held back, the watch brings
        # nothing until the end).
        mgr = self.manager()
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        settle(lambda: len(mgr.hosts()) == 1)
        gate = self.hold_watch(mgr)
        mgr.update_hosts([{'id': 'a', 'memory_mb': 900}])
        commits = []
        commit = mgr.store.commit
        mgr.store.commit = lambda *args: commits.append(commit(*args))
        for n in range(4):
            self.assertEqual(['a'], mgr.select_destinations(
                {'memory_mb': 200}, consumers=[f'c{n}']))
        self.assertEqual(4, len(commits))
        self.assertRaises(exceptions.NoValidHost, mgr.select_destinations,
                          {'memory_mb': 200}, dry_run=True)
        gate.set()
        settle(lambda: self.free(mgr) == {'a': (100, math.inf)})

    def test_a_consumer_holds_one_claim_whoever_decides(self):
        one, two = self.manager(), self.manager()
        one.update_hosts(HOSTS)
        settle(lambda: len(two.hosts()) == 2)
        one.select_destinations({}, consumers=['web-1'])
        error = self.assertRaises(exceptions.InvalidRequest,
                                  two.select_destinations, {},
                                  consumers=['web-1'])
        self.assertIn("consumer 'web-1' already holds a claim", str(error))
        settle(lambda: len(two.claims()) == 1)

    def test_racing_managers_never_oversubscribe(self):
        managers = [self.manager() for _ in range(3)]
        managers[0].update_hosts([{'id': f'n{i}', 'memory_mb': 1024}
                                  for i in range(5)])
        settle(lambda: all(len(m.hosts()) == 5 for m in managers))
        placed, failures = [], []

        def place(mgr, n):
            for k in range(8):
                try:
                    placed.extend(mgr.select_destinations(
                        {'memory_mb': 256}, consumers=[f'{n}-{k}']))
                except exceptions.NoValidHost:
                    pass
                except Exception as error:  # asserted below
                    failures.append(error)

        threads = [threading.Thread(target=place, args=(mgr, n))
                   for n, mgr in enumerate(managers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], failures)
        self.assertEqual(20, len(placed))  # 5 hosts x 4 containers
        for host_id in {host_id for host_id in placed}:
            self.assertEqual(4, placed.count(host_id))
        settle(lambda: all(len(m.claims()) == 20 for m in managers))
        self.assertEqual({0}, {host.memory_mb for host in
                               managers[1].hosts()})

    def test_a_lost_race_waits_only_for_what_beat_it(self):
        # Writes elsewhere in etcd (another prefix, another service) never
        # reach the watch: deciding again must not wait for them.
        one, two = self.manager(), self.manager(self.conf(timeout=5))
        one.update_hosts([{'id': 'n0', 'memory_mb': 1024}])
        settle(lambda: len(two.hosts()) == 1)
        gate = threading.Event()
        apply = two.store.mirror._apply
        two.store.mirror._apply = lambda events: (gate.wait(), apply(events))
        one.select_destinations({'memory_mb': 1024}, consumers=['first'])
        self.etcd.client.txn([], [ops.put(
            self.etcd.prefix + '-elsewhere', b'')])
        threading.Timer(0.2, gate.set).start()
        start = time.monotonic()
        self.assertRaises(exceptions.NoValidHost, two.select_destinations,
                          {'memory_mb': 1024}, consumers=['second'])
        self.assertLess(time.monotonic() - start, 2.5)
        self.assertEqual(['first'], [c.consumer for c in two.claims()])

    def test_what_another_manager_did_meanwhile_stays_done(self):
        # A manager applies its own write to its copy at once, unless its
        # watch has brought that write already, and what followed it: here
        # another manager releases a claim before its maker records it.
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'n0', 'memory_mb': 1024}])
        settle(lambda: len(two.hosts()) == 1)
        client = two.store.client
        txn = client.txn

        def released_meanwhile(*args):
            client.txn = txn
            answer = txn(*args)
            one.release('c1')
            settle(lambda: two.store.mirror.revision > answer[1])
            return answer

        client.txn = released_meanwhile
        two.select_destinations({'memory_mb': 1024}, consumers=['c1'])
        self.assertEqual([], two.claims())
        self.assertEqual([1024], [host.memory_mb for host in two.hosts()])

    def test_a_group_policy_holds_across_managers(self):
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': f'n{i}', 'memory_mb': 1024}
                          for i in range(3)])
        settle(lambda: len(two.hosts()) == 3)
        request = {'group': 'db', 'group_policy': 'anti-affinity'}
        chosen = [one.select_destinations(request)[0],
                  two.select_destinations(request)[0],
                  one.select_destinations(request)[0]]
        self.assertEqual(['n0', 'n1', 'n2'], sorted(chosen))
        self.assertRaises(exceptions.NoValidHost, two.select_destinations,
                          request)

    def test_a_report_that_adds_a_group_beats_a_decision_on_it(self):
        # A report lists a container of the group on n2 (its claim was
        # settled, or it was started outside Sora) while another manager,
        # whose watch has not shown it yet, places the group's first
        # container: its claim must not commit on a view without n2's
        # membership.
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'n1', 'memory_mb': 4000},
                          {'id': 'n2', 'memory_mb': 1000}])
        settle(lambda: len(two.hosts()) == 2)
        gate = self.hold_watch(two)
        one.update_hosts([{'id': 'n2', 'memory_mb': 500, 'groups': ['g']}])
        threading.Timer(0.3, gate.set).start()
        self.assertEqual(['n2'], two.select_destinations(
            {'memory_mb': 100, 'group': 'g', 'group_policy': 'affinity'}))
        # A report that lists no new group rewrites no group's key.
        _, [version] = self.etcd.client.range(
            f'{self.etcd.prefix}/versions-of-groups/g')
        one.update_hosts([{'id': 'n2', 'memory_mb': 400, 'groups': ['g']}])
        _, [again] = self.etcd.client.range(
            f'{self.etcd.prefix}/versions-of-groups/g')
        self.assertEqual(version.mod_revision, again.mod_revision)

    def test_a_report_made_on_a_late_view_waits_and_goes_in(self):
        # Another manager wrote, then removed, the host's report: a report
        # from a manager that has not seen that yet waits until it has.
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'n1', 'memory_mb': 100}])
        settle(lambda: len(two.hosts()) == 1)
        for change in (lambda: one.update_hosts([{'id': 'n1',
                                                  'memory_mb': 200}]),
                       lambda: one.remove_host('n1')):
            gate = self.hold_watch(two)
            change()
            threading.Timer(0.3, gate.set).start()
            two.update_hosts([{'id': 'n1', 'memory_mb': 300}])
            settle(lambda: self.free(one) == {'n1': (300, float('inf'))})
            self.assertEqual({'n1': (300, float('inf'))}, self.free(two))


class ExpiryTest(EtcdStoreTestCase):
    """Claims expire on etcd's clock, each with its maker's timeout."""

    def timed(self, timeout, clock=None):
        conf = self.make_conf(
            f'[scheduler]\nhost_store = etcd\nclaim_timeout = {timeout}\n'
            f'[etcd]\nendpoints = {self.etcd.endpoint}\n'
            f'prefix = {self.etcd.prefix}\n', f'{timeout}.conf')
        return self.clocked(conf, clock or time.time)

    def test_a_claim_no_report_settles_expires_once_with_a_warning(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        one, two = self.timed(1), self.timed(1)
        one.update_hosts(HOSTS)
        one.select_destinations({'memory_mb': 800}, consumers=['lost'])
        settle(lambda: len(two.claims()) == 1)
        started = time.monotonic()
        settle(lambda: one.claims() == two.claims() == [])
        # etcd's lease: timeout to timeout + 1 s, plus etcd's own delay.
        self.assertGreater(time.monotonic() - started, 0.5)
        self.assertEqual([], self.etcd.client.range(
            self.etcd.prefix + '/claims/')[1])
        self.assertEqual(1, logs.output.count(
            'Claim of consumer lost on host b/1 expired'))
        self.assertRaises(exceptions.InvalidRequest, one.release, 'lost')

    def test_no_other_clock_or_timeout_expires_a_claim(self):
        # A service with claim_timeout 600 claims; a manager configured
        # with 2, and one whose clock is 90 s behind, watch it for longer
        # than 2 s: it stays. The one behind claims too: its claim stays.
        behind = base.Clock(time.time())
        behind.now -= 90
        service, short, late = (self.timed(600), self.timed(2),
                                self.timed(600, behind))
        service.update_hosts(HOSTS)
        service.select_destinations({'memory_mb': 100}, consumers=['c1'])
        late.select_destinations({'memory_mb': 100}, consumers=['c2'])
        time.sleep(3.5)
        for mgr in (service, short, late, self.timed(2)):
            self.assertEqual(['c1', 'c2'], sorted(
                claim.consumer for claim in mgr.claims()))


class ListingTest(EtcdStoreTestCase):

    def test_a_listing_leaves_the_garbage_collector_as_it_found_it(self):
        # It pauses the collector while it reads, and only then.
        self.addCleanup(gc.enable)
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            mgr = self.manager()
            mgr.update_hosts(HOSTS)
            self.assertEqual(2, len(self.manager().hosts()))
            self.assertEqual(enabled, gc.isenabled())

    def test_writes_made_while_it_lists_are_in_the_new_copy(self):
        # A listing that read etcd before this manager released a claim,
        # reported a host, disabled and removed others must not hide them
        # when it is swapped in, though the watch has not brought them yet
        # (found by the model test: a consumer released here was refused
        # as holding a claim).
        mgr = self.manager()
        mgr.update_hosts(HOSTS + [{'id': 'c', 'memory_mb': 64}])
        mgr.select_destinations({'memory_mb': 2000}, consumers=['c1'])
        mirror, listed, go = mgr.store.mirror, threading.Event(), \
            threading.Event()
        _, revision = mgr.store.client.header()
        settle(lambda: mirror.revision >= revision)  # the watch is idle
        self.hold_watch(mgr)
        read = mirror._read_copy

        def read_then_wait():
            copy = read()
            listed.set()
            go.wait(10)
            return copy

        mirror._read_copy = read_then_wait
        mirror.history_lost('a test')
        self.assertTrue(listed.wait(10))
        mgr.release('c1')
        mgr.update_hosts([{'id': 'd', 'memory_mb': 128}])
        mgr.disable_host('a', 'a test')
        mgr.remove_host('c')
        go.set()
        settle(lambda: mirror.error is None)
        self.assertEqual([], mgr.claims())
        self.assertEqual({'a': False, 'b/1': True, 'd': True},
                         {host.id: host.enabled for host in mgr.hosts()})
        self.assertEqual(['b/1'], mgr.select_destinations(
            {'memory_mb': 2000}, consumers=['c1']))


class HostTtlTest(EtcdStoreTestCase):

    def test_a_node_that_stops_reporting_goes(self):
        mgr = self.manager(self.conf(host_ttl=1))
        mgr.update_hosts(HOSTS)
        self.assertEqual(2, len(mgr.hosts()))
        settle(lambda: len(mgr.hosts()) == 0, timeout=15)

    def test_what_a_claim_wrote_for_its_host_goes_with_the_report(self):
        mgr = self.manager(self.conf(host_ttl=1))
        mgr.update_hosts(HOSTS[:1])
        mgr.select_destinations({'memory_mb': 1}, consumers=['c'])
        versions = self.etcd.prefix + '/versions-of-hosts/'
        _, found = self.etcd.client.range(
            versions, ops.prefix_end(versions))
        self.assertEqual([versions + 'a'], [kv.key for kv in found])
        self.assertNotEqual(0, found[0].lease)
        settle(lambda: len(mgr.hosts()) == 0, timeout=15)
        _, found = self.etcd.client.range(
            versions, ops.prefix_end(versions))
        self.assertEqual([], found)

    def test_a_claim_takes_the_lease_of_the_report_it_relied_on(self):
        reporter = self.manager(self.conf(name='reporter.conf', host_ttl=1))
        one = self.manager()

        def leases():
            keys = self.etcd.prefix + '/'
            _, found = self.etcd.client.range(keys,
                                              ops.prefix_end(keys))
            return {kv.key[len(self.etcd.prefix):]: kv.lease for kv in found
                    if '/claims/' not in kv.key and
                    not kv.key.endswith('/format')}

        used = []
        for consumer in ('c', 'd'):
            reporter.update_hosts(HOSTS[:1])
            used.append(leases()['/hosts/a'])
            settle(one.hosts)
            # The second claim is decided on the first report, fails and
            # is made again on the second one.
            one.select_destinations({'memory_mb': 1}, consumers=[consumer])
            self.assertEqual({'/hosts/a': used[-1],
                              '/versions-of-hosts/a': used[-1]}, leases())
            time.sleep(1.1)  # the reports' next lease
        self.assertNotEqual(used[0], used[1])
        self.assertEqual(['c', 'd'], sorted(c.consumer for c in one.claims()))


class CountTest(EtcdStoreTestCase):

    def test_a_request_claims_what_one_transaction_can_hold(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': f'n{i:02}', 'memory_mb': 100}
                          for i in range(40)])
        error = self.assertRaises(exceptions.InvalidRequest,
                                  mgr.select_destinations,
                                  {'memory_mb': 100}, count=33)
        self.assertEqual(
            '33 placements on 33 hosts make 132 comparisons in one etcd '
            'transaction, more than [etcd] max_txn_ops = 128 (etcd\'s '
            '--max-txn-ops): place fewer at a time, or raise both',
            str(error))
        self.assertEqual([], mgr.claims())
        chosen = mgr.select_destinations({'memory_mb': 100}, count=32)
        self.assertEqual(32, len(set(chosen)))
        self.assertEqual(32, len(mgr.claims()))
        # On given hosts nothing is claimed: no such bound.
        self.assertEqual(40, len(mgr.select_destinations(
            {}, hosts=[{'id': f'n{i:02}', 'memory_mb': 1} for i in
                       range(40)], count=40)))
        small = self.manager(self.conf(
            name='small.conf', max_txn_ops=64,
            prefix=self.etcd.prefix + '-small'))
        small.update_hosts([{'id': f'n{i:02}', 'memory_mb': 100}
                            for i in range(40)])
        self.assertIn('make 68 comparisons', str(self.assertRaises(
            exceptions.InvalidRequest, small.select_destinations,
            {'memory_mb': 100}, count=17)))


class UnreachableTest(EtcdStoreTestCase):

    def test_etcd_down_at_start_is_one_clear_error_in_time(self):
        start = time.monotonic()
        error = self.assertRaises(
            exceptions.StoreUnavailable, manager.SchedulerManager,
            self.conf('http://127.0.0.1:1', timeout=0.5))
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual('etcd at http://127.0.0.1:1 did not answer within '
                         '0.5 s: Connection refused', str(error))


class OutageTest(EtcdStoreTestCase):
    """etcd stopped and started again under running managers."""

    def test_errors_during_the_outage_then_service_resumes(self):
        server = self.useFixture(etcd.EtcdServer())
        conf = self.conf(server.endpoint, timeout=1)
        one, two = self.manager(conf), self.manager(conf)
        one.update_hosts(HOSTS)
        settle(lambda: len(two.hosts()) == 2)
        server.stop()
        for call in (lambda: one.select_destinations({}),
                     lambda: two.update_hosts(HOSTS), two.hosts):
            start = time.monotonic()
            error = self.assertRaises(exceptions.StoreUnavailable, call)
            self.assertLess(time.monotonic() - start, 2.5)
            self.assertIn(server.endpoint, str(error))
        server.start()
        settle(lambda: self._answers(two), timeout=20)
        two.update_hosts([{'id': 'c', 'memory_mb': 64}])
        settle(lambda: self._answers(one) and len(one.hosts()) == 3,
               timeout=20)
        self.assertEqual(['b/1'], one.select_destinations({'memory_mb': 2000}))

    def test_a_frozen_etcd_fails_every_call_then_service_resumes(self):
        # SIGSTOP: connections are accepted and never answered. Listings
        # answer from the mirror until its watch notices, within twice
        # the timeout; calls that reach etcd fail within it.
        server = self.useFixture(etcd.EtcdServer())
        mgr = self.manager(self.conf(server.endpoint, timeout=1))
        mgr.update_hosts(HOSTS)
        mgr.select_destinations({}, consumers=['c1'])
        server.freeze()
        for call in (lambda: mgr.release('c1'),
                     lambda: mgr.select_destinations({})):
            start = time.monotonic()
            self.assertRaises(exceptions.StoreUnavailable, call)
            self.assertLess(time.monotonic() - start, 1.5)
        start = time.monotonic()
        settle(lambda: not self._answers(mgr), timeout=2.5 - (
            time.monotonic() - start))
        self.assertRaises(exceptions.StoreUnavailable, mgr.claims)
        server.thaw()
        settle(lambda: self._answers(mgr), timeout=20)
        self.assertEqual(['b/1'], mgr.select_destinations({'memory_mb': 2000}))

    def test_a_restart_from_empty_or_a_restored_backup_is_listed_again(self):
        # Ten 1000 MB nodes. etcd goes back to an earlier state (its data
        # wiped, or a copy of its data directory restored): the running
        # managers list it again, and see what a new process claims there.
        nodes = [{'id': f'n{n}', 'memory_mb': 1000} for n in range(10)]
        for restored in (False, True):
            server = self.useFixture(etcd.EtcdServer())
            conf = self.conf(server.endpoint, timeout=1,
                             name=f'{restored}.conf')
            one, two = self.manager(conf), self.manager(conf)
            data = os.path.join(server.data, 'data')
            backup = os.path.join(server.data, 'backup')
            if restored:
                one.update_hosts(nodes)
                server.stop()
                shutil.copytree(data, backup)
                server.start()
                settle(lambda: self._answers(one) and self._answers(two),
                       timeout=20)
            one.update_hosts(nodes)
            one.select_destinations({'memory_mb': 900}, count=10)
            for consumer in [claim.consumer for claim in one.claims()]:
                one.release(consumer)
            settle(lambda: len(two.hosts()) == 10 and two.claims() == [])
            server.stop()
            shutil.rmtree(data)
            if restored:
                shutil.copytree(backup, data)
            server.start()
            three = self.manager(conf)
            three.update_hosts(nodes)
            three.select_destinations({'memory_mb': 900}, count=10)
            for mgr in (one, two):
                settle(lambda: self._answers(mgr) and len(mgr.claims()) == 10,
                       timeout=20)
                self.assertRaises(exceptions.NoValidHost,
                                  mgr.select_destinations, {'memory_mb': 900})

    def test_a_report_written_on_a_stale_copy_is_written_again(self):
        # etcd restarts empty before the writer's watch has noticed: what
        # its report carried from the old etcd (the group of the claim it
        # settles) would outlive the claims. It writes again on a fresh
        # listing.
        server = self.useFixture(etcd.EtcdServer())
        conf = self.conf(server.endpoint, timeout=2)
        one = self.manager(conf)
        one.update_hosts([{'id': 'a', 'memory_mb': 2048}])
        one.select_destinations({'memory_mb': 1000, 'group': 'db',
                                 'group_policy': 'anti-affinity'},
                                consumers=['c0'])
        mirror, gate = one.store.mirror, threading.Event()
        listed = mirror._list
        mirror._list = lambda: (gate.wait(), listed())
        server.stop()
        shutil.rmtree(os.path.join(server.data, 'data'))
        server.start()
        threading.Timer(0.5, gate.set).start()
        one.update_hosts([{'id': 'a', 'memory_mb': 1024,
                           'consumers': ['c0']}])
        for mgr in (one, self.manager(conf)):
            settle(lambda: self._answers(mgr) and mgr.claims() == [] and
                   [host.groups for host in mgr.hosts()] == [()])

    def test_a_lost_lease_is_granted_again_at_once(self):
        # The lease of the reports (host_ttl), or of the claims
        # (claim_timeout), revoked under the store: the next write takes
        # a new one.
        mgr = self.manager(self.conf(host_ttl=60))
        mgr.update_hosts(HOSTS)
        mgr.select_destinations({}, consumers=['c1'])
        _, found = self.etcd.client.range(self.etcd.prefix + '/')
        for lease in {kv.lease for kv in found if kv.lease}:
            self.etcd.client.revoke(lease)
        settle(lambda: mgr.hosts().ids == ())
        mgr.update_hosts(HOSTS)
        self.assertEqual(2, len(mgr.hosts()))
        mgr.select_destinations({}, consumers=['c2'])
        self.assertEqual(['c2'], [claim.consumer for claim in mgr.claims()])

    @staticmethod
    def _answers(mgr):
        try:
            mgr.hosts()
            return True
        except exceptions.StoreUnavailable:
            return False


class ConfigTest(base.TestCase):

    def test_options_are_registered_with_defaults(self):
        conf = cfg.ConfigOpts()
        manager.sora_conf.register_opts(conf)
        self.assertEqual(['http://127.0.0.1:2379'], conf.etcd.endpoints)
        self.assertEqual('/sora', conf.etcd.prefix)
        self.assertEqual(0, conf.etcd.host_ttl)


class CommandTest(EtcdStoreTestCase):
    """sora-scheduler report, select, claims, release, hosts on etcd."""

    def test_the_lifecycle_from_the_command_line(self):
        run = self.useFixture(base.Command())
        conf = self.conf_file()
        hosts = self.write_file('hosts.json', json.dumps(
            [dict(HOSTS[0], labels={'zone': 'z1', 'rack': 'r 2'}),
             HOSTS[1]]))
        self.assertEqual((0, '2 node reports stored\n'), run(
            '--config-file', conf, 'report', '--hosts', hosts)[:2])
        result = run('--config-file', conf, 'select', '--memory-mb', '500',
                     '--count', '2', '--consumer', 'web-1',
                     '--consumer', 'web-2')
        self.assertEqual((0, 'a\nb/1\n'), result[:2], result.stderr)
        result = run('--config-file', conf, 'claims', '--format', 'json')
        claims = json.loads(result.stdout)['claims']
        self.assertEqual(['web-1', 'web-2'],
                         sorted(claim['consumer'] for claim in claims))
        self.assertEqual(2, run('--config-file', conf, 'select',
                                '--consumer', 'web-1').returncode)
        self.assertIn("consumer 'web-1' already holds a claim",
                      run.last.stderr)
        self.assertEqual((0, 'released the claim of web-1\n'),
                         run('--config-file', conf, 'release', 'web-1')[:2])
        self.assertEqual(2, run('--config-file', conf, 'release',
                                'web-1').returncode)
        result = run('--config-file', conf, 'hosts')
        self.assertEqual(['HOST', 'a', 'b/1'],
                         [line.split()[0] for line in
                          result.stdout.splitlines()])
        # b/1: one claim of 500 MB of 3000; no disk, labels or taints
        # reported.
        self.assertEqual(['b/1', '2500/3000', '0.3/0.3', '-', '-', '1',
                          'yes', '-', '-'],
                         result.stdout.splitlines()[2].split())
        self.assertRegex(result.stdout.splitlines()[1],
                         ' rack=r 2,zone=z1 +-$')
        result = run('--config-file', conf, 'check')
        self.assertIn('OK      host store etcd: answers: 2 hosts, 1 claims',
                      result.stdout)

        # --explain decides on the tracked hosts, claims deducted, and
        # claims nothing.
        self.assertEqual(2, run('--config-file', conf, 'select',
                                '--explain').returncode)
        self.assertIn('--explain on the tracked hosts claims nothing: add '
                      '--dry-run', run.last.stderr)
        result = run('--config-file', conf, 'select', '--memory-mb', '2500',
                     '--explain', '--dry-run', '--format', 'json')
        self.assertEqual(0, result.returncode, result.stderr)
        shown = json.loads(result.stdout)
        self.assertEqual(['b/1'], shown['destinations'])
        self.assertEqual(2, shown['explanation']['hosts_total'])
        self.assertEqual(1, run('--config-file', conf, 'select',
                                '--memory-mb', '2501', '--explain',
                                '--dry-run').returncode)
        self.assertIn('memory 0 (needs 2501 MB)', run.last.stderr)
        self.assertEqual(1, len(json.loads(run(
            '--config-file', conf, 'claims', '--format', 'json').stdout)[
                'claims']))

    def test_commands_that_need_a_shared_store(self):
        run = self.useFixture(base.Command())
        conf = self.write_file('memory.conf', '[DEFAULT]\n')
        for args in (['select'], ['report', '--hosts', '-'], ['claims'],
                     ['hosts'], ['release', 'x']):
            with self.subTest(command=args[0]):
                result = run('--config-file', conf, *args, stdin='[]')
                self.assertEqual(2, result.returncode)
                self.assertIn('needs a shared host store: [scheduler] '
                              'host_store = memory keeps no hosts between '
                              'commands', result.stderr)

    def test_what_needs_no_tracked_hosts_works_while_etcd_is_down(self):
        run = self.useFixture(base.Command())
        conf = self.write_file('down.conf', (
            '[scheduler]\nhost_store = etcd\n[etcd]\n'
            'endpoints = http://127.0.0.1:1\ntimeout = 0.5\n'))
        hosts = self.write_file('hosts.json', json.dumps(HOSTS))
        result = run('--config-file', conf, 'select', '--hosts', hosts,
                     '--memory-mb', '2000')
        self.assertEqual((0, 'b/1\n'), result[:2], result.stderr)
        self.assertEqual(0, run('--config-file', conf, 'drivers').returncode)
        result = run('--config-file', conf, 'check')
        self.assertEqual(2, result.returncode)
        self.assertIn('OK      scheduler driver memorybase', result.stdout)
        self.assertIn('FAILED  host store etcd: etcd at http://127.0.0.1:1 '
                      'did not answer within 0.5 s', result.stdout)
        result = run('--config-file', conf, 'claims')
        self.assertEqual(2, result.returncode)
        self.assertIn('did not answer within 0.5 s: Connection refused',
                      result.stderr)
