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

"""The etcd store's books against a real etcd, when the order of things
is not the usual one: hosts that go and come back under their claims,
reports and removals by a manager that has not seen every claim yet,
answers lost on the way back."""

import base64
import json
import logging
import threading
import time

import fixtures
import hypothesis
from hypothesis import stateful
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import host_store
from sora.scheduler import manager
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import mirror as etcd_mirror
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import store as etcd_store
from sora.scheduler.stores.etcd import sweep as sora_sweep
from sora.scheduler.stores.etcd import watch as etcd_watch
from tests import etcd
from tests.unit import test_claims
from tests.unit import test_etcd_store

settle = test_etcd_store.settle


class EtcdBooks(test_claims.Books):
    """The books of one manager of a real etcd under random histories.

    As the memory store's (:class:`test_claims.Books`), countable
    resources included; a claim expires the way etcd ends it, by the end
    of its lease (revoked here rather than waited for).
    """

    def options(self):
        self.etcd = etcd.EtcdPrefix()
        self.etcd.setUp()
        return (f'host_store = etcd\n[etcd]\nendpoints = '
                f'{self.etcd.endpoint}\nprefix = {self.etcd.prefix}\n')

    def make_store(self, conf):
        self.conf = conf
        return etcd_store.EtcdHostStore(conf, self.clock)

    @stateful.invariant()
    def a_manager_started_now_reads_the_same(self):
        store = etcd_store.EtcdHostStore(self.conf, self.clock)
        try:
            self.case.assertEqual(self.view(self.store), self.view(store))
        finally:
            store.close()

    @staticmethod
    def view(store):
        return (sorted((host.to_dict() for host in store.hosts()),
                       key=lambda host: host['id']),
                sorted((claim.to_dict() for claim in store.claims()),
                       key=lambda claim: claim['consumer']))

    @stateful.rule()
    def restart(self):
        # What a manager started now reads back from etcd.
        self.mgr.close()
        self.store.close()
        self.store = self.make_store(self.conf)
        self.mgr = manager.SchedulerManager(self.conf, store=self.store)

    def teardown(self):
        super().teardown()
        self.etcd.cleanUp()

    @stateful.rule(data=st.data())
    def tick(self, data):
        if not self.claims:
            return
        consumer = data.draw(st.sampled_from(sorted(self.claims)))
        _, found = self.etcd.client.range(f'{self.etcd.prefix}/claims/')
        lease = {item.key.rpartition('/')[2]: item.lease for item in found}
        self.etcd.client.revoke(lease[consumer])
        ended = {held for held in self.claims
                 if lease[held] == lease[consumer]}
        settle(lambda: not ended & {
            claim.consumer for claim in self.mgr.claims()})
        for held in ended:
            del self.claims[held]


EtcdBooks.TestCase.settings = hypothesis.settings(
    hypothesis.settings(), max_examples=30, stateful_step_count=20,
    deadline=None)
EtcdBooksTest = EtcdBooks.TestCase


class BooksTestCase(test_etcd_store.EtcdStoreTestCase):

    def crowded(self):
        """A configuration whose hosts may run 200 containers each."""
        return self.make_conf(
            '[DEFAULT]\nscheduler_driver = filter\n[scheduler]\n'
            'host_store = etcd\n[filter_scheduler]\n'
            'max_containers_per_host = 200\n[etcd]\n'
            f'endpoints = {self.etcd.endpoint}\n'
            f'prefix = {self.etcd.prefix}\n')

    def stored(self, kind):
        """The names stored under ``<prefix>/<kind>/`` in etcd."""
        start = f'{self.etcd.prefix}/{kind}/'
        _, found = self.etcd.client.range(start)
        return sorted(item.key[len(start):] for item in found)

    def sharing_host_a(self):
        """Two managers that both see host a (1000 MB)."""
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        settle(lambda: len(two.hosts()) == 1)
        return one, two

    def memory(self, mgr):
        return {host.id: host.memory_mb for host in mgr.hosts()}


class HostsComeAndGoTest(BooksTestCase):

    def test_a_claim_outlives_its_host_and_counts_when_it_returns(self):
        one, two = self.sharing_host_a()
        one.select_destinations({'memory_mb': 500, 'group': 'g',
                                 'group_policy': 'anti-affinity'},
                                consumers=['c1'])
        # The report expires (its lease ends): etcd keeps the claim.
        self.etcd.client.txn([], [ops.delete(
            f'{self.etcd.prefix}/hosts/a')])
        settle(lambda: not one.hosts() and not two.hosts())
        self.assertEqual(['c1'], [c.consumer for c in two.claims()])
        three = self.manager()  # lists a claim on no tracked host
        two.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        for mgr in (one, two, three):
            settle(lambda: self.memory(mgr) == {'a': 500})
        self.assertRaises(exceptions.NoValidHost, three.select_destinations,
                          {'memory_mb': 600})
        self.assertRaises(exceptions.NoValidHost, one.select_destinations,
                          {'group': 'g', 'group_policy': 'anti-affinity'})
        two.release('c1')
        for mgr in (one, two, three):
            settle(lambda: self.memory(mgr) == {'a': 1000})
            self.assertEqual([], mgr.claims())
        self.assertEqual(['a'], one.select_destinations(
            {'group': 'g', 'group_policy': 'anti-affinity'}))

    def test_removing_a_host_deletes_claims_the_remover_had_not_seen(self):
        one, two = self.manager(), self.manager(self.conf(timeout=5))
        one.update_hosts([{'id': 'n0', 'memory_mb': 1024}])
        settle(lambda: len(two.hosts()) == 1)
        gate = self.hold_watch(two)
        one.select_destinations({'memory_mb': 512}, consumers=['c1'])
        threading.Timer(0.3, gate.set).start()
        two.remove_host('n0')
        self.assertEqual([], self.stored('hosts'))
        self.assertEqual([], self.stored('claims'))
        settle(lambda: one.claims() == [] and not one.hosts())
        self.assertEqual([], two.claims())

    def test_a_decision_on_a_host_removed_meanwhile_waits_to_see_it(self):
        one, two = self.manager(), self.manager(self.conf(timeout=5))
        one.update_hosts([{'id': 'n0', 'memory_mb': 4096},
                          {'id': 'n1', 'memory_mb': 1024}])
        settle(lambda: len(two.hosts()) == 2)
        self.assertEqual(['n0'], two.select_destinations(
            {'memory_mb': 512}, dry_run=True))
        gate = self.hold_watch(two)
        one.remove_host('n0')
        # Longer than every pause between attempts put together.
        threading.Timer(host_store.BACKOFF * 2 ** host_store.ATTEMPTS,
                        gate.set).start()
        self.assertEqual(['n1'], two.select_destinations(
            {'memory_mb': 512}, consumers=['c1']))

    def test_a_decision_on_a_removed_host_waits_for_no_other_write(self):
        # The newest write in etcd is another application's, outside the
        # prefix: the watch never brings its revision.
        one, two = self.manager(), self.manager(self.conf(timeout=5))
        one.update_hosts([{'id': 'n0', 'memory_mb': 4096},
                          {'id': 'n1', 'memory_mb': 1024}])
        settle(lambda: len(two.hosts()) == 2)
        gate = self.hold_watch(two)
        one.remove_host('n0')
        self.etcd.client.txn([], [ops.put(
            f'{self.etcd.prefix}-elsewhere', b'x')])
        self.addCleanup(self.etcd.client.delete, f'{self.etcd.prefix}-')
        threading.Timer(0.2, gate.set).start()
        started = time.monotonic()
        self.assertEqual(['n1'], two.select_destinations(
            {'memory_mb': 512}, consumers=['c1']))
        self.assertLess(time.monotonic() - started, 2)

    def test_a_decision_in_a_group_a_big_report_added_waits_for_nothing(self):
        # The report adds more groups than one transaction holds: every
        # group's version key is written before the report, so a manager
        # that has seen the report has seen them all.
        one, two = self.sharing_host_a()
        groups = [f'g{n:03d}' for n in range(300)]
        one.update_hosts([{'id': 'a', 'memory_mb': 1000, 'groups': groups}])
        settle(lambda: two.store.mirror.revision >= one.store.mirror.revision)
        for group in (groups[-1], groups[0]):
            started = time.monotonic()
            self.assertEqual(['a'], two.select_destinations(
                {'group': group, 'group_policy': 'affinity'}))
            self.assertLess(time.monotonic() - started, 1)


class SettlingTest(BooksTestCase):

    def test_a_report_settles_claims_its_writer_had_not_seen(self):
        one, two = self.sharing_host_a()
        gate = self.hold_watch(two)
        one.select_destinations({'memory_mb': 500}, consumers=['c1'])
        two.update_hosts([{'id': 'a', 'memory_mb': 500,
                           'consumers': ['c1']}])
        gate.set()
        settle(lambda: two.claims() == [] and one.claims() == [])
        self.assertEqual({'a': 500}, self.memory(one))
        settle(lambda: self.stored('claims') == [])  # swept
        self.assertEqual(['a'], one.select_destinations(
            {}, consumers=['c1']))  # the id is free to claim again

    def test_a_settled_claim_etcd_did_not_delete_is_deleted_later(self):
        # The report's writer had not seen c1; the sweep that deletes it
        # fails once. It counts nowhere meanwhile, and goes at the next.
        one, two = self.sharing_host_a()
        gate = self.hold_watch(one)
        client = two.store.client
        txn = client.txn

        def away(*args, **kwargs):
            client.txn = txn
            raise exceptions.StoreUnavailable('etcd went away')

        two.select_destinations({'memory_mb': 500}, consumers=['c1'])
        client.txn = away
        one.update_hosts([{'id': 'a', 'memory_mb': 500,
                           'consumers': ['c1']}])
        settle(lambda: client.txn is txn)
        self.assertEqual(['c1'], self.stored('claims'))
        for mgr in (two, self.manager()):
            self.assertEqual([], mgr.claims())
            self.assertEqual({'a': 500}, self.memory(mgr))
        gate.set()
        one.update_hosts([{'id': 'b', 'memory_mb': 1}])  # any event
        settle(lambda: self.stored('claims') == [])

    def test_a_claim_made_again_after_its_settlement_stays(self):
        # One batch of events: the report settling c1 (with its delete),
        # then c1 claimed again. The report settles what came before it.
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        one.select_destinations({'memory_mb': 100}, consumers=['c1'])
        settle(lambda: len(two.claims()) == 1)
        self.hold_watch(two)
        start = two.store.mirror.revision + 1
        one.update_hosts([{'id': 'a', 'memory_mb': 900,
                           'consumers': ['c1']}])
        one.select_destinations({'memory_mb': 100}, consumers=['c1'])
        watch = etcd_watch.Watch(self.etcd.client,
                                 two.store.mirror.followed[0], start,
                                 two.store.mirror.followed[1])
        events = next(iter(watch))
        watch.close()
        self.assertEqual(2, len({event.kv.mod_revision for event in events}))
        etcd_mirror.Mirror._apply(two.store.mirror, events)  # not held
        self.assertEqual(['c1'], [c.consumer for c in two.claims()])
        self.assertEqual(['c1'], self.stored('claims'))
        self.assertEqual({'a': 800}, self.memory(two))

    def test_a_listing_keeps_claims_made_after_the_report(self):
        # c1 runs on a, and is placed again (a rebuild): the report came
        # first, so it settles nothing, in a manager that lists etcd
        # afresh as in one that follows it.
        one = self.manager()
        one.update_hosts([{'id': 'a', 'memory_mb': 1000,
                           'consumers': ['c1']}])
        one.select_destinations({'memory_mb': 900}, consumers=['c1'])
        for mgr in (one, self.manager()):
            self.assertEqual(['c1'], [c.consumer for c in mgr.claims()])
            self.assertEqual({'a': 100}, self.memory(mgr))
        self.assertEqual(['c1'], self.stored('claims'))

    def test_a_report_seen_after_the_claims_own_write_settles_nothing(self):
        # The claim, applied at once by its maker, was made after the
        # report that lists its consumer, which the watch brings later.
        one, two = self.sharing_host_a()
        settle(lambda: one.store.mirror.revision == two.store.mirror.revision)
        gate = self.hold_watch(one)
        two.update_hosts([{'id': 'b', 'memory_mb': 10,
                           'consumers': ['c1']}])
        one.select_destinations({'memory_mb': 900}, consumers=['c1'])
        gate.set()
        settle(lambda: one.store.mirror.revision == two.store.mirror.revision)
        for mgr in (one, two):
            self.assertEqual(['c1'], [c.consumer for c in mgr.claims()])
            self.assertEqual({'a': 100, 'b': 10}, self.memory(mgr))
        self.assertEqual(['c1'], self.stored('claims'))

    def test_reports_that_need_more_than_a_transaction_holds(self):
        # One settles 127 claims and adds a group (129 operations); one
        # adds 130 groups. Each group's key is rewritten all the same.
        mgr = self.manager(self.crowded())
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        consumers = [f'c{n:03}' for n in range(127)]
        for start in range(0, 127, 26):
            part = consumers[start:start + 26]
            mgr.select_destinations({'memory_mb': 1}, count=len(part),
                                    consumers=part)
        groups = [f'g{n:03}' for n in range(130)]
        mgr.update_hosts([{'id': 'a', 'memory_mb': 873, 'groups': ['g'],
                           'consumers': consumers},
                          {'id': 'b', 'memory_mb': 1000, 'groups': groups}])
        self.assertEqual({'a': 873, 'b': 1000}, self.memory(mgr))
        self.assertEqual(sorted(['g'] + groups),
                         self.stored('versions-of-groups'))
        settle(lambda: mgr.claims() == [] and self.stored('claims') == [])

    def test_a_report_settling_more_claims_than_a_transaction_holds(self):
        mgr = self.manager(self.crowded())
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000},
                          {'id': 'b', 'memory_mb': 1000}])
        on_a = [f'a-{n}' for n in range(150)]
        on_b = [f'b-{n}' for n in range(20)]
        for consumers in (on_a[:100], on_a[100:]):
            mgr.select_destinations({'memory_mb': 1, 'same_host': ['a']},
                                    count=len(consumers),
                                    consumers=consumers)
        mgr.select_destinations({'memory_mb': 1, 'same_host': ['b']},
                                count=20, consumers=on_b)
        mgr.update_hosts([{'id': 'a', 'memory_mb': 850,
                           'consumers': on_a},
                          {'id': 'b', 'memory_mb': 980,
                           'consumers': on_b}])
        self.assertEqual([], mgr.claims())
        self.assertEqual({'a': 850, 'b': 980}, self.memory(mgr))
        settle(lambda: self.stored('claims') == [])


class MembershipTest(BooksTestCase):
    """A placed container counts for its group while reports list it."""

    WEB = {'memory_mb': 1, 'group': 'web', 'group_policy': 'anti-affinity'}

    def groups(self, mgr):
        return {host.id: host.groups for host in mgr.hosts()}

    def test_a_settled_member_counts_while_its_host_lists_it(self):
        for writer_saw_it in (True, False):
            one, two = self.manager(), self.manager()
            hosts = [{'id': f'{writer_saw_it}-a', 'memory_mb': 1000},
                     {'id': f'{writer_saw_it}-b', 'memory_mb': 10}]
            one.update_hosts(hosts)
            settle(lambda: len(two.hosts()) == len(one.hosts()))
            settle(lambda: one.store.mirror.revision ==
                   two.store.mirror.revision)
            consumer = f'web-{writer_saw_it}'
            gate = None if writer_saw_it else self.hold_watch(one)
            two.select_destinations(self.WEB, consumers=[consumer])
            # The node reports the container, and no groups.
            one.update_hosts([dict(hosts[0], consumers=[consumer])])
            if gate is not None:
                gate.set()
            settle(lambda: [] == one.claims() == two.claims() ==
                   self.manager().claims())
            settle(lambda: consumer not in self.stored('claims'))
            for mgr in (one, two, self.manager()):
                settle(lambda: self.groups(mgr)[hosts[0]['id']] == ('web',))
                self.assertEqual([hosts[1]['id']], mgr.select_destinations(
                    self.WEB, dry_run=True))
            # Its host's next report lists it no more: it counts no more.
            one.update_hosts([hosts[0]])
            for mgr in (one, two, self.manager()):
                settle(lambda: self.groups(mgr)[hosts[0]['id']] == ())
            for host in hosts:
                one.remove_host(host['id'])

    DB = {'memory_mb': 1, 'group': 'db', 'group_policy': 'affinity'}

    def membership_ended_meanwhile(self, end):
        """Place on a db member that *end* (one) stops being one.

        d1 (db) is claimed on a; b runs db (reported). ``end(one)`` makes
        a run no db; two, not yet seen that, would place a db-affinity
        container on a: its commit must lose, and the decision made again
        go to b.
        """
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'a', 'memory_mb': 1000},
                          {'id': 'b', 'memory_mb': 500}])
        settle(lambda: len(two.hosts()) == 2)
        self.assertEqual(['a'], one.select_destinations(
            self.DB, consumers=['d1']))
        one.update_hosts([{'id': 'b', 'memory_mb': 500, 'groups': ['db']}])
        settle(lambda: len(two.claims()) == 1 and
               two.hosts()[two.hosts().row_of('b')].groups == ('db',))
        gate = self.hold_watch(two)
        end(one)
        threading.Timer(0.2, gate.set).start()
        self.assertEqual(['b'], two.select_destinations(
            self.DB, consumers=['d2']))

    def test_a_release_elsewhere_ends_a_membership_a_decision_relied_on(self):
        self.membership_ended_meanwhile(lambda one: one.release('d1'))

    def test_a_settlement_elsewhere_ends_a_membership_a_decision_relied_on(
            self):
        # b's report lists d1: it runs on b.
        self.membership_ended_meanwhile(lambda one: one.update_hosts([
            {'id': 'b', 'memory_mb': 500, 'groups': ['db'],
             'consumers': ['d1']}]))

    def test_of_reports_listing_one_consumer_the_first_settles_it(self):
        # Two reports at once list a claimed container (reported by two
        # nodes): the first settles its claim and keeps its group, in the
        # memory store and in every etcd manager, whether the writer knew
        # the claim or not (then the watch brings it late).
        hosts = [{'id': 'a', 'memory_mb': 1000},
                 {'id': 'b', 'memory_mb': 500}]
        listed = [dict(host, consumers=['w1']) for host in hosts]
        with manager.SchedulerManager(self.make_conf(
                '[DEFAULT]\nscheduler_driver = filter\n',
                'memory.conf')) as reference:
            reference.update_hosts(hosts)
            reference.select_destinations(self.WEB, consumers=['w1'])
            reference.update_hosts(listed)
            expected = self.groups(reference)
        self.assertEqual({'a': ('web',), 'b': ()}, expected)
        for writer_saw_it in (True, False):
            one, two = self.manager(), self.manager()
            one.update_hosts(hosts)
            settle(lambda: len(two.hosts()) == 2)
            gate = None if writer_saw_it else self.hold_watch(one)
            two.select_destinations(self.WEB, consumers=['w1'])
            one.update_hosts(listed)
            if gate is not None:
                gate.set()
            for mgr in (one, two, self.manager()):
                settle(lambda: self.groups(mgr) == expected and
                       mgr.claims() == [])
            for host in hosts:
                one.remove_host(host['id'])

    def test_a_report_of_a_host_removed_meanwhile_carries_no_member(self):
        # w1 (web) was settled by h's report: h counts for web while its
        # reports list it. one removes h; two, not yet seen that, writes
        # h's next report listing w1: h is a new host, with no member.
        one, two = self.manager(), self.manager()
        one.update_hosts([{'id': 'h', 'memory_mb': 1000}])
        settle(lambda: len(two.hosts()) == 1)
        one.select_destinations(self.WEB, consumers=['w1'])
        one.update_hosts([{'id': 'h', 'memory_mb': 1000,
                           'consumers': ['w1']}])
        for mgr in (one, two):
            settle(lambda: self.groups(mgr) == {'h': ('web',)})
        gate = self.hold_watch(two)
        one.remove_host('h')
        two.update_hosts([{'id': 'h', 'memory_mb': 1000,
                           'consumers': ['w1']}])
        gate.set()
        for mgr in (one, two, self.manager()):
            settle(lambda: self.groups(mgr) == {'h': ()})

    def test_a_group_counts_each_container_once_reported_or_placed(self):
        # Host.groups has the group of each container: a node may report
        # the groups of the containers Sora placed, or not. w1 and w2 (web)
        # are placed on a; each report lists them (or w1 only) and says
        # what it knows of groups. The same in the memory store, in every
        # etcd manager and in one listing etcd afresh.
        reports = [(['web', 'web', 'db'], ['w1', 'w2']),
                   (['web'], ['w1', 'w2']),
                   ([], ['w1', 'w2']),
                   (['web', 'web', 'web'], ['w1']),
                   (['web', 'web'], [])]
        expected = [('web', 'web', 'db'), ('web', 'web'), ('web', 'web'),
                    ('web', 'web', 'web'), ('web', 'web')]
        web = {'memory_mb': 1, 'group': 'web', 'group_policy': 'affinity'}
        host = {'id': 'a', 'memory_mb': 1000}
        one, two = self.manager(), self.manager()
        with manager.SchedulerManager(self.make_conf(
                '[DEFAULT]\nscheduler_driver = filter\n',
                'memory.conf')) as reference:
            for mgr in (reference, one):
                mgr.update_hosts([host])
                self.assertEqual(['a', 'a'], mgr.select_destinations(
                    web, count=2, consumers=['w1', 'w2']))
            for (groups, consumers), groups_now in zip(reports, expected):
                for mgr in (reference, one):
                    mgr.update_hosts([dict(host, groups=groups,
                                           consumers=consumers)])
                for mgr in (reference, one, two, self.manager()):
                    settle(lambda: mgr.claims() == [] and
                           self.groups(mgr) == {'a': groups_now})

    def settled_unswept_then(self, end, listed=('a',)):
        """A claim settled but still in etcd, then its settling report goes.

        c5 (db) is claimed on c; two, not yet seen it, reports a, running
        db, and b, each listing c5 if in *listed* (in that order; b runs
        db if it does not list it): the first settles it, but two's
        transaction could not delete a claim it did not know, and no sweep
        has run yet. ``end(one)`` ends a's report. No manager, not even
        one listing etcd afresh, may count c5 again anywhere but where
        the memory store does: c runs no db, and a db-affinity container
        goes where it goes there (not to c, the freest).
        """
        sweeps = threading.Event()
        sweep = sora_sweep.Settled.sweep
        self.useFixture(fixtures.MonkeyPatch(
            'sora.scheduler.stores.etcd.sweep.Settled.sweep',
            lambda settled: sweeps.is_set() and sweep(settled)))
        self.addCleanup(sweeps.set)
        hosts = [{'id': 'a', 'memory_mb': 1000},
                 {'id': 'b', 'memory_mb': 2000},
                 {'id': 'c', 'memory_mb': 4000}]
        placed = dict(self.DB, group_policy='anti-affinity', same_host=['c'])
        reports = {'a': dict(hosts[0], groups=['db']),
                   'b': dict(hosts[1], groups=['db'])}
        for host_id in listed:
            reports[host_id]['consumers'] = ['c5']
            if host_id == 'b':
                del reports['b']['groups']
        reports = [reports[host_id] for host_id in dict.fromkeys(
            listed + ('a', 'b'))]
        with manager.SchedulerManager(self.make_conf(
                '[DEFAULT]\nscheduler_driver = filter\n',
                'memory.conf')) as reference:
            reference.update_hosts(hosts)
            reference.select_destinations(placed, consumers=['c5'])
            reference.update_hosts(reports)
            end(reference)
            expected = (self.groups(reference), reference.select_destinations(
                self.DB, dry_run=True))
        self.assertEqual(((), ['b']), (expected[0]['c'], expected[1]))
        one, two = self.manager(), self.manager()
        one.update_hosts(hosts)
        settle(lambda: len(two.hosts()) == 3)
        gate = self.hold_watch(two)
        self.assertEqual(['c'], one.select_destinations(
            placed, consumers=['c5']))
        two.update_hosts(reports)
        gate.set()
        for mgr in (one, two):
            settle(lambda: mgr.claims() == [])
        self.assertEqual(['c5'], self.stored('claims'))  # not swept
        three = self.manager()  # lists etcd before the end, four after
        end(one)
        for mgr in (one, two, three, self.manager()):
            settle(lambda: self.groups(mgr) == expected[0])
            self.assertEqual([], mgr.claims())
            self.assertEqual(expected[1], mgr.select_destinations(
                self.DB, dry_run=True))

    def test_a_settled_claim_goes_with_the_host_that_settled_it(self):
        self.settled_unswept_then(lambda one: one.remove_host('a'))

    def test_a_settled_claim_goes_with_the_report_that_settled_it(self):
        # a's next report lists c5 no more: it stopped.
        self.settled_unswept_then(lambda one: one.update_hosts(
            [{'id': 'a', 'memory_mb': 1000, 'groups': ['db']}]))

    def test_of_reports_listing_one_consumer_a_listing_knows_the_first(self):
        # b's report, first, settles c5 and keeps its db on b; a's lists
        # it too. A listing must not take a's (a is older, and first in
        # etcd's order) for the first: once a is removed, b runs db.
        self.settled_unswept_then(lambda one: one.remove_host('a'),
                                  listed=('b', 'a'))

    def test_a_report_on_a_late_copy_keeps_no_claim_settled_elsewhere(self):
        # c's claim on a is settled by b's report (any host's report
        # settles it: its group is kept on b). A later report of a listing
        # c, written from a copy that has not seen that, must not keep c's
        # group on a too, as a manager on the memory store does not.
        one, two = self.manager(), self.manager()
        hosts = [{'id': 'a', 'memory_mb': 1000},
                 {'id': 'b', 'memory_mb': 10}]
        one.update_hosts(hosts)
        settle(lambda: len(two.hosts()) == 2)
        self.assertEqual(['a'], one.select_destinations(
            self.WEB, consumers=['c']))
        settle(lambda: len(two.claims()) == 1)
        gate = self.hold_watch(one)
        two.update_hosts([dict(hosts[1], consumers=['c'])])
        one.update_hosts([dict(hosts[0], consumers=['c'])])
        gate.set()
        with manager.SchedulerManager(self.make_conf(
                '[DEFAULT]\nscheduler_driver = filter\n',
                'memory.conf')) as reference:
            reference.update_hosts(hosts)
            reference.select_destinations(self.WEB, consumers=['c'])
            reference.update_hosts([dict(hosts[1], consumers=['c'])])
            reference.update_hosts([dict(hosts[0], consumers=['c'])])
            expected = self.groups(reference)
        self.assertEqual({'a': (), 'b': ('web',)}, expected)
        for mgr in (one, two, self.manager()):
            settle(lambda: self.groups(mgr) == expected)


class LostAnswerTest(BooksTestCase):

    def lose_answer(self, mgr):
        """Make *mgr*'s next call reach etcd and its answer get lost.

        Then the client sends it again if it may, or says so.
        """
        client = mgr.store.client
        call = client.call

        def lost(path, body, resend=True, deadline=None):
            client.call = call
            call(path, body)
            if resend:
                return call(path, body)
            raise etcd_client.Unanswered('the answer was lost')

        client.call = lost

    def test_a_claim_sent_again_after_its_answer_was_lost_is_made_once(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        self.lose_answer(mgr)
        self.assertEqual(['a'], mgr.select_destinations(
            {'memory_mb': 400}, consumers=['c1']))
        self.assertEqual(['c1'], [c.consumer for c in mgr.claims()])
        self.assertEqual({'a': 600}, self.memory(mgr))

    def test_a_release_whose_answer_was_lost_is_done(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        mgr.select_destinations({'memory_mb': 400}, consumers=['c1'])
        self.lose_answer(mgr)
        mgr.release('c1')
        self.assertEqual([], mgr.claims())
        self.assertEqual([], self.stored('claims'))
        self.assertRaises(exceptions.InvalidRequest, mgr.release, 'c1')

    def test_a_release_etcd_never_saw_says_so_and_keeps_the_claim(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        mgr.select_destinations({'memory_mb': 400}, consumers=['c1'])
        client = mgr.store.client
        call = client.call

        def unanswered(path, body, resend=True, deadline=None):
            client.call = call
            raise etcd_client.Unanswered('no answer')

        client.call = unanswered
        self.assertRaises(exceptions.StoreUnavailable, mgr.release, 'c1')
        self.assertEqual(['c1'], self.stored('claims'))
        self.assertEqual({'a': 600}, self.memory(mgr))


class PartialUpdateTest(BooksTestCase):

    def test_reports_stored_before_etcd_went_away_are_told(self):
        mgr = self.manager()
        client = mgr.store.client
        txn = client.txn
        calls = []

        def fail_second(*args, **kwargs):
            calls.append(args)
            if len(calls) == 2:
                raise exceptions.StoreUnavailable('etcd went away')
            return txn(*args, **kwargs)

        client.txn = fail_second
        error = self.assertRaises(
            exceptions.StoreUnavailable, mgr.update_hosts,
            [{'id': f'n{i:03}', 'memory_mb': 64} for i in range(200)])
        self.assertEqual(
            'etcd went away; the reports of the first '
            '128 of 200 hosts were stored: report the rest again',
            str(error))
        self.assertEqual(128, len(mgr.hosts()))
        self.assertEqual(128, len(self.stored('hosts')))


class RemoveTest(BooksTestCase):

    def test_a_host_with_more_claims_than_a_transaction_holds(self):
        # etcd takes 128 operations in a transaction, and a nested one (a
        # claim's delete) needs one that the outer one leaves: the report,
        # the version key and 125 claims go first, the other 5 after. A
        # consumer that was released and claimed again on another host
        # meanwhile keeps its new claim, though the remover's view still
        # has the old one.
        conf = self.crowded()
        one, two = self.manager(conf), self.manager(conf)
        one.update_hosts([{'id': 'n0', 'memory_mb': 1024},
                          {'id': 'n1', 'memory_mb': 1024}])
        consumers = [f'c{n:03}' for n in range(130)]
        for start in range(0, 130, 26):
            one.select_destinations({'memory_mb': 1, 'same_host': ['n0']},
                                    count=26,
                                    consumers=consumers[start:start + 26])
        settle(lambda: len(two.claims()) == 130)
        # Once one's watch shows two's write, it has shown one's own.
        two.update_hosts([{'id': 'n2', 'memory_mb': 1}])
        settle(lambda: len(one.hosts()) == 3)
        gate = self.hold_watch(one)
        two.release('c000')
        two.select_destinations({'memory_mb': 1, 'same_host': ['n1']},
                                consumers=['c000'])
        one.remove_host('n0')
        gate.set()
        self.assertEqual(['n1', 'n2'], self.stored('hosts'))
        self.assertEqual(['c000'], self.stored('claims'))
        for mgr in (one, two):
            settle(lambda: [(c.consumer, c.host) for c in mgr.claims()] ==
                   [('c000', 'n1')])


class SizeTest(BooksTestCase):
    """What one etcd request cannot hold (etcd's --max-request-bytes)."""

    def test_big_reports_go_in_as_many_transactions_as_they_need(self):
        labels = {f'k{n:03}': 'v' * 150 for n in range(100)}  # ~16 KB
        mgr = self.manager()
        mgr.update_hosts([{'id': f'n{i:03}', 'memory_mb': 64,
                           'labels': labels} for i in range(100)])
        self.assertEqual(100, len(self.stored('hosts')))

    def test_what_no_request_can_hold_is_refused_whole(self):
        mgr = self.manager()
        huge = 'x' * codec.MAX_BYTES
        error = self.assertRaises(
            exceptions.InvalidHostData, mgr.update_hosts,
            [{'id': 'a', 'memory_mb': 64},
             {'id': 'b', 'memory_mb': 64, 'labels': {'k': huge}}])
        self.assertIn("host 1 (id 'b'): its report takes ", str(error))
        self.assertIn('more than one etcd request holds (1048576)',
                      str(error))
        self.assertEqual([], self.stored('hosts'))
        mgr.update_hosts([{'id': 'a', 'memory_mb': 64}])
        error = self.assertRaises(
            exceptions.InvalidRequest, mgr.select_destinations, {},
            consumers=[huge])
        self.assertIn('the claims of this request take ', str(error))
        self.assertEqual(([], []), (mgr.claims(), self.stored('claims')))


class ForeignKeysTest(BooksTestCase):

    def test_keys_that_hold_no_report_or_claim_are_ignored(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        prefix = self.etcd.prefix
        self.etcd.client.txn([], [
            ops.put(f'{prefix}/hosts/junk', b'not json'),
            ops.put(f'{prefix}/claims/junk', b'{"host": 1}')])
        one = self.manager()  # lists them
        inner = self.manager(self.conf(prefix=f'{prefix}/hosts'))
        inner.update_hosts([{'id': 'x', 'memory_mb': 64}])
        inner.select_destinations({}, consumers=['c1'])  # one watches
        one.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        settle(lambda: self.memory(one) == {'a': 1000})
        self.assertEqual(['a'], one.select_destinations({}))
        self.assertEqual({'x': 64}, self.memory(inner))
        for key in ('hosts/junk', 'claims/junk'):
            self.assertIn(f'Ignoring etcd key {prefix}/{key}: it holds no '
                          'Sora', logs.output)
        self.assertNotIn(f'{prefix}/hosts/hosts/x', logs.output)

    REPORT = {'amounts': {name: 100 for name in (
        'memory_mb', 'memory_total_mb', 'cpus', 'cpus_total', 'disk_gb')},
        'containers': 0, 'enabled': True, 'labels': {}, 'groups': [],
        'consumers': []}
    CLAIM = {'host': 'a', 'needs': [1, 0, 0], 'group': None, 'made': 1.0}

    def assert_ignored(self, bad):
        """Each of *bad* ``{key: value}`` is ignored with a WARNING.

        Listed or watched; two managers go on.
        """
        logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        prefix = self.etcd.prefix

        def write():
            self.etcd.client.txn([], [ops.put(f'{prefix}/{key}', value)
                                      for key, value in bad.items()])

        write()
        one = self.manager()  # lists them
        one.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        write()  # and watches them
        two = self.manager()
        two.select_destinations({'memory_mb': 10}, consumers=['e'])
        for mgr in (one, two):
            settle(lambda: [c.consumer for c in mgr.claims()] == ['e'])
            self.assertEqual({'a': 990}, self.memory(mgr))
        for key in bad:
            self.assertIn(f'Ignoring etcd key {prefix}/{key}: it holds no '
                          'Sora', logs.output)
        self.assertNotIn('Traceback', logs.output)

    def test_values_shaped_like_soras_with_wrong_types_are_ignored(self):
        report, claim = self.REPORT, self.CLAIM
        bad = {'hosts/x': dict(report, containers='x'),
               'hosts/y': dict(report, enabled='no'),
               'hosts/z': dict(report, groups='abc'),
               'claims/c': dict(claim, needs=['1', 0, 0]),
               'claims/d': dict(claim, needs=[1])}
        self.assert_ignored({key: json.dumps(value).encode()
                             for key, value in bad.items()})

    def test_hostile_values_are_ignored_and_stop_no_manager(self):
        # Deep nesting, numbers past any amount or count.
        report, claim = self.REPORT, self.CLAIM
        deep = b'[' * 100000 + b']' * 100000
        self.assert_ignored({
            'hosts/deep': deep, 'claims/deep': deep,
            'hosts/huge': json.dumps(dict(report, amounts=dict(
                report['amounts'], memory_mb=10 ** 400))).encode(),
            'hosts/many': json.dumps(dict(
                report, containers=2 ** 64)).encode(),
            'claims/huge': json.dumps(dict(
                claim, needs=[10 ** 400, 0, 0])).encode(),
            'claims/when': b'{"host": "a", "needs": [1, 0, 0], '
                           b'"group": null, "made": 1e999}'})

    def test_keys_that_are_not_utf8_are_ignored(self):
        # Another program's key, written as bytes: it is listed and
        # watched, and holds nothing of Sora's.
        bad = self.etcd.prefix.encode() + b'/hosts/\xff\xfe'
        self.etcd.client.call('kv/put', {
            'key': base64.b64encode(bad).decode(),
            'value': base64.b64encode(b'{}').decode()})
        one = self.manager()  # lists it
        one.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        self.etcd.client.call('kv/put', {  # and watches it
            'key': base64.b64encode(bad + b'\xfd').decode(),
            'value': base64.b64encode(b'{}').decode()})
        two = self.manager()
        two.update_hosts([{'id': 'b', 'memory_mb': 500}])
        settle(lambda: self.memory(one) == {'a': 1000, 'b': 500})
        self.assertEqual(['a'], one.select_destinations({}))
        self.assertEqual({'a': 1000, 'b': 500}, self.memory(two))

    def test_a_report_or_claim_written_over_by_another_program_is_gone(self):
        # As for a manager that lists etcd afresh: every manager agrees.
        one = self.manager()
        one.update_hosts([{'id': 'a', 'memory_mb': 1000},
                          {'id': 'b', 'memory_mb': 1000}])
        one.select_destinations({'memory_mb': 10}, consumers=['c1'])
        prefix = self.etcd.prefix
        self.etcd.client.txn([], [
            ops.put(f'{prefix}/hosts/a', b'junk'),
            ops.put(f'{prefix}/claims/c1', b'junk')])
        settle(lambda: self.memory(one) == {'b': 1000})
        self.assertEqual([], one.claims())
        two = self.manager()
        self.assertEqual({'b': 1000}, self.memory(two))
        self.assertEqual([], two.claims())
        # The node reports again, through either: its report goes in.
        for mgr, memory in ((one, 700), (two, 600)):
            mgr.update_hosts([{'id': 'a', 'memory_mb': memory}])
            settle(lambda: self.memory(one) == self.memory(two) ==
                   {'a': memory, 'b': 1000})

    def test_ids_with_slashes_and_percent_signs_keep_their_keys_apart(self):
        one, two = self.manager(), self.manager()
        ids = ['a/b', 'a%2Fb', 'a%b', 'hosts', '%']
        one.update_hosts([{'id': host_id, 'memory_mb': 64}
                          for host_id in ids])
        settle(lambda: sorted(self.memory(two)) == sorted(ids))
        self.assertEqual(sorted(['a%2Fb', 'a%252Fb', 'a%25b', 'hosts',
                                 '%25']), self.stored('hosts'))
        two.select_destinations({'same_host': ['a/b']}, consumers=['c/1'])
        settle(lambda: [c.consumer for c in one.claims()] == ['c/1'])
        self.assertEqual(['c%2F1'], self.stored('claims'))
        one.remove_host('a/b')
        settle(lambda: 'a/b' not in self.memory(two))
        self.assertEqual([], two.claims())


class NestedPrefixTest(BooksTestCase):

    def test_deployments_on_nested_prefixes_keep_apart(self):
        # Every key of a deployment is <prefix>/<kind>/<name>, names
        # without "/": no key of one is a key of a deployment nested in it.
        outer = self.manager()
        outer.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        for n, kind in enumerate(['versions', 'versions-of-hosts',
                                  'versions-of-groups', 'hosts', 'claims']):
            inner = self.manager(self.conf(
                prefix=f'{self.etcd.prefix}/{kind}', name=f'{kind}.conf'))
            inner.update_hosts([{'id': 'a', 'memory_mb': 1000}])
            for mgr in (outer, inner):
                started = time.monotonic()
                self.assertEqual(['a'], mgr.select_destinations(
                    {'memory_mb': 100, 'group': 'g',
                     'group_policy': 'affinity'},
                    consumers=[f'{kind}-{id(mgr)}']))
                self.assertLess(time.monotonic() - started, 1)
            settle(lambda: self.memory(inner) == {'a': 900})
            inner.remove_host('a')
            settle(lambda: self.memory(inner) == {})
            settle(lambda: self.memory(outer) == {'a': 900 - 100 * n})
            self.assertEqual(n + 1, len(outer.claims()))


class ClosedStoreTest(BooksTestCase):

    def test_a_closed_store_decides_nothing(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': 'a', 'memory_mb': 1000}])
        mgr.select_destinations({}, consumers=['c1'])
        mgr.close()
        for call in (mgr.hosts, mgr.claims,
                     lambda: mgr.select_destinations({}),
                     lambda: mgr.update_hosts([{'id': 'b', 'memory_mb': 1}]),
                     lambda: mgr.remove_host('a'),
                     lambda: mgr.release('c1')):
            error = self.assertRaises(exceptions.StoreUnavailable, call)
            self.assertEqual('the etcd host store is closed', str(error))
