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

"""A model test: the etcd store keeps the same books as the memory one.

The state machine below runs random histories of node reports (settling
claims, or listing consumers placed again later), decisions, releases,
host removals, managers that list etcd afresh (or again, writing while
their listing is under way), compactions and etcd
restarts (data kept) against three views at once: a manager on the
``memory`` store, the reference, and two managers sharing one etcd of
the test's own. Each decision is made by one of the etcd managers, on its
own view, and the same placements are claimed on the reference; in a
race, the view of the manager deciding, reporting or releasing misses
what the other one has just done. Once the etcd managers have caught up
after each step, every host's free resources and containers and every
outstanding claim must be the same in all three.
"""

import os
import shutil
import threading
import unittest
import uuid

import fixtures
import hypothesis
from hypothesis import stateful
from hypothesis import strategies as st
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import mirror as etcd_mirror
from tests import base
from tests import etcd
from tests.unit import test_etcd_store

HOSTS = ('a', 'b', 'c/1')
# Names with "/" and "%" go in etcd keys escaped, and stay apart.
CONSUMERS = tuple(f'c{n}' for n in range(6)) + ('c/6', 'c%2F6')
GROUPS = [(None, None), ('web', 'affinity'), ('web', 'anti-affinity'),
          ('db', 'affinity'), ('db', 'anti-affinity'),
          ('new', 'anti-affinity')]
# No claim expires by time in the model: etcd's leases run on real time.
CLAIM_TIMEOUT = 3600
SETTLE = 30  # seconds the etcd managers may take to catch up
FUZZ = os.environ.get('SORA_HYPOTHESIS_PROFILE') == 'fuzz'


def make_conf(directory, name, etcd_section=None):
    """A ConfigOpts parsed from a real file: the filter driver, no expiry.

    :param etcd_section: ``{option: value}`` of ``[etcd]``; the ``etcd``
        host store when given, ``memory`` when not.
    """
    text = ('[DEFAULT]\nscheduler_driver = filter\n[scheduler]\n'
            f'claim_timeout = {CLAIM_TIMEOUT}\n')
    if etcd_section is not None:
        text += 'host_store = etcd\n[etcd]\n' + ''.join(
            f'{key} = {value}\n' for key, value in etcd_section.items())
    path = os.path.join(directory, name)
    with open(path, 'w') as conf_file:
        conf_file.write(text)
    conf = cfg.ConfigOpts()
    conf(['--config-file', path], project='sora', default_config_files=[],
         default_config_dirs=[])
    return conf


def answers(mgr):
    """Whether *mgr* answers (its store is not waiting for etcd)."""
    try:
        mgr.hosts()
        return True
    except exceptions.StoreUnavailable:
        return False


def books(mgr):
    """What *mgr* holds, or None while its store waits for etcd.

    ``({host: (free amounts, containers, groups, enabled)}, {consumer:
    (host, amounts, group)})``.
    """
    try:
        hosts = {host.id: (host.memory_mb, host.cpus, host.disk_gb,
                           host.containers, sorted(host.groups),
                           host.enabled)
                 for host in mgr.hosts()}
        held = {claim.consumer: (claim.host, claim.memory_mb, claim.cpus,
                                 claim.disk_gb, claim.group)
                for claim in mgr.claims()}
    except exceptions.StoreUnavailable:
        return None
    return hosts, held


def same_books(case, reference, managers, timeout=SETTLE):
    """Wait until every manager of *managers* holds *reference*'s books."""
    expected = books(reference)
    try:
        test_etcd_store.settle(
            lambda: all(books(mgr) == expected for mgr in managers),
            timeout=timeout)
    except AssertionError:
        for n, mgr in enumerate(managers):
            case.assertEqual(expected, books(mgr),
                             f'etcd manager {n} differs from the memory '
                             f'one after {timeout} s')
        raise


REPORT = {'hosts': st.lists(st.fixed_dictionaries({
    'id': st.sampled_from(HOSTS),
    'memory_mb': st.sampled_from([512, 1000, 2048.5, 4096, 0]),
    'cpus': st.sampled_from([None, 0, 0.5, 1, 2.25, 8]),
    'disk_gb': st.sampled_from([None, 0, 10, 100]),
    'groups': st.lists(st.sampled_from(['web', 'db']), max_size=2),
    'enabled': st.sampled_from([True, True, True, False]),
    'containers': st.one_of(st.none(), st.integers(0, 3))}),
    min_size=1, max_size=2, unique_by=lambda host: host['id'])}
DECIDE = {'memory': st.sampled_from([0, 100, 256, 512, 1000]),
          'cpus': st.sampled_from([0, 0.1, 1 / 3, 0.5, 1]),
          'disk': st.sampled_from([0, 1, 10]),
          'group': st.sampled_from(GROUPS),
          'consumers': st.lists(st.sampled_from(CONSUMERS), min_size=1,
                                max_size=3, unique=True)}
RELEASE = {}
REMOVE = {'host': st.sampled_from(HOSTS)}
OPERATIONS = {'report': REPORT, 'decide': DECIDE, 'release': RELEASE,
              'remove': REMOVE}


class Model(stateful.RuleBasedStateMachine):
    """Random histories on a memory manager and two etcd managers."""

    server = None  # the EtcdServer of the running test (ModelTest.setUp)

    def __init__(self):
        super().__init__()
        self.case = unittest.TestCase()  # assertions only
        self.files = fixtures.TempDir()
        self.files.setUp()
        self.built = []
        self.memory = self.build(make_conf(self.files.path, 'memory.conf'))
        self.conf = make_conf(self.files.path, 'etcd.conf', {
            'endpoints': self.server.endpoint, 'timeout': 2,
            'prefix': f'/sora-model-{uuid.uuid4().hex}'})
        self.etcd = [self.build(self.conf), self.build(self.conf)]
        self.late = None  # the etcd manager whose view lags, in a race
        self.client = etcd_client.Client([self.server.endpoint], 5.0)

    def build(self, conf):
        mgr = manager.SchedulerManager(conf)
        self.built.append(mgr)
        return mgr

    def teardown(self):
        for mgr in self.built:
            mgr.close()
        try:
            self.client.delete(self.conf.etcd.prefix + '/')
        finally:
            self.client.close()
            self.files.cleanUp()

    def held(self):
        """The consumers holding claims."""
        return sorted(claim.consumer for claim in self.memory.claims())

    def event(self, via, what):
        hypothesis.event(what + ' on a late view' * (via == self.late))

    @stateful.initialize(via=st.integers(0, 1), memory=st.lists(
        st.sampled_from([1000, 2048.5, 4096]), min_size=len(HOSTS),
        max_size=len(HOSTS)))
    def hosts(self, via, memory):
        reports = [{'id': host, 'memory_mb': free, 'cpus': 4}
                   for host, free in zip(HOSTS, memory)]
        self.etcd[via].update_hosts(reports)
        self.memory.update_hosts(reports)

    @stateful.rule(via=st.integers(0, 1), data=st.data(), **REPORT)
    def report(self, via, data, hosts):
        # Each lists consumers holding claims (settled) and others
        # (running elsewhere, or placed again after the report: such a
        # claim is not settled).
        held, reports = self.held(), []
        for host in hosts:
            listed = set(data.draw(st.sets(st.sampled_from(held),
                                           max_size=3)) if held else ())
            listed.update(data.draw(st.sets(st.sampled_from(CONSUMERS),
                                            max_size=2)))
            report = dict(host, consumers=sorted(listed))
            if host['containers'] is not None:
                report['containers'] += len(listed)
            reports.append({key: value for key, value in report.items()
                            if value is not None})
            self.event(via, f'report: settles {len(listed & set(held))}')
        self.etcd[via].update_hosts(reports)
        self.memory.update_hosts(reports)

    @stateful.rule(via=st.integers(0, 1), data=st.data(), **DECIDE)
    def decide(self, via, data, memory, cpus, disk, group, consumers):
        request = {'memory_mb': memory, 'cpus': cpus, 'disk_gb': disk}
        if group[0] is not None:
            request.update(group=group[0], group_policy=group[1])
        count = len(consumers)
        try:
            chosen = list(self.etcd[via].select_destinations(
                request, count=count, consumers=consumers))
        except (exceptions.InvalidRequest, exceptions.NoValidHost) as error:
            self.event(via, f'decide: {type(error).__name__}')
            if via != self.late:
                self.case.assertRaises(
                    type(error), self.memory.select_destinations, request,
                    count=count, consumers=consumers)
            elif not self.refuses(request, count, consumers):
                # A late view may miss what allows it: nothing is claimed.
                hypothesis.event(f'decide: {type(error).__name__} on a '
                                 'late view only')
            return
        self.event(via, f'decide: {count} placed on {len(set(chosen))} '
                   'hosts')
        if via != self.late:
            # On the same view the same (deterministic) driver decides
            # alike.
            self.case.assertEqual(chosen, list(
                self.memory.select_destinations(request, count=count,
                                                dry_run=True)))
        # The same claims on the reference, one placement at a time: each
        # on its chosen host, through the filters (they must still pass).
        for consumer, host in zip(consumers, chosen):
            self.case.assertEqual([host], list(
                self.memory.select_destinations(
                    dict(request, same_host=[host]), consumers=[consumer])))

    def refuses(self, request, count, consumers):
        """Whether the reference refuses the decision (claiming nothing)."""
        if set(consumers) & set(self.held()):
            return True
        try:
            self.memory.select_destinations(request, count=count,
                                            dry_run=True)
        except exceptions.NoValidHost:
            return True
        return False

    @stateful.rule(via=st.integers(0, 1), data=st.data(), **RELEASE)
    def release(self, via, data):
        held = self.held()
        consumer = data.draw(st.sampled_from(held) if held and data.draw(
            st.booleans()) else st.sampled_from(CONSUMERS))
        self.alike(via, 'release', 'release', consumer)

    @stateful.rule(via=st.integers(0, 1), data=st.data(), **REMOVE)
    def remove(self, via, data, host):
        self.alike(via, 'remove', 'remove_host', host)

    def alike(self, via, what, method, argument):
        try:
            getattr(self.etcd[via], method)(argument)
        except exceptions.InvalidRequest:
            self.event(via, f'{what}: InvalidRequest')
            self.case.assertRaises(exceptions.InvalidRequest,
                                   getattr(self.memory, method), argument)
            return
        self.event(via, f'{what}: done')
        getattr(self.memory, method)(argument)

    @stateful.rule(late=st.integers(0, 1), first=st.lists(
        st.sampled_from(sorted(OPERATIONS)), min_size=1, max_size=3),
        then=st.sampled_from(['decide', 'release', 'report']),
        data=st.data())
    def race(self, late, first, then, data):
        # One etcd manager's watch is held while the other does the
        # operations *first*, and let go 0.2 s after it starts *then* on
        # that late view. (A removal is decided on the remover's view: not
        # on a late one.)
        gate = threading.Event()
        mirror = self.etcd[late].store.mirror

        def held(events):
            gate.wait()
            etcd_mirror.Mirror._apply(mirror, events)

        mirror._apply = held
        try:
            for operation in first:
                getattr(self, operation)(1 - late, data, **data.draw(
                    st.fixed_dictionaries(OPERATIONS[operation])))
            self.late = late
            threading.Timer(0.2, gate.set).start()
            getattr(self, then)(late, data, **data.draw(
                st.fixed_dictionaries(OPERATIONS[then])))
        finally:
            self.late = None
            gate.set()
            del mirror._apply

    @stateful.rule(which=st.integers(0, 1), then=st.lists(
        st.sampled_from(['release', 'remove', 'report']), min_size=1,
        max_size=3), data=st.data())
    def listing(self, which, then, data):
        # One etcd manager lists etcd again (as after an outage) and does
        # the operations *then* after its listing read etcd, before the
        # listing is swapped in: with its watch held from then on, its
        # view must hold them at once.
        mirror = self.etcd[which].store.mirror
        read, listed, go = mirror._read_copy, threading.Event(), \
            threading.Event()

        def read_then_wait():
            copy = read()
            listed.set()
            go.wait(SETTLE)
            return copy

        def held(events):
            if listed.is_set():
                go.wait(SETTLE)
                watched.wait(SETTLE)
            etcd_mirror.Mirror._apply(mirror, events)

        watched = threading.Event()
        mirror._read_copy, mirror._apply = read_then_wait, held
        try:
            mirror.history_lost('a listing of the model test')
            self.case.assertTrue(listed.wait(SETTLE))
            for operation in then:
                getattr(self, operation)(which, data, **data.draw(
                    st.fixed_dictionaries(OPERATIONS[operation])))
            go.set()
            test_etcd_store.settle(lambda: mirror.error is None,
                                   timeout=SETTLE)
            self.case.assertEqual(books(self.memory),
                                  books(self.etcd[which]))
        finally:
            go.set()
            watched.set()
            del mirror._read_copy, mirror._apply

    @stateful.rule(which=st.integers(0, 1))
    def relist(self, which):
        # A manager goes; a new one lists etcd afresh.
        hypothesis.event('relist')
        self.etcd[which].close()
        self.etcd[which] = self.build(self.conf)

    @stateful.rule(restart=st.sampled_from([False, False, True]))
    def outage(self, restart):
        # A compaction on etcd's current revision (the next watch from an
        # older one finds it gone: its manager lists etcd again), or a
        # restart on the same data, once every manager has noticed etcd
        # stopped (they follow it again by themselves). Restarts are
        # rarer: they take a second.
        _, revision = self.client.header()
        if not restart and revision > self.server.compacted:
            hypothesis.event('compaction')
            self.client.call('kv/compaction', {'revision': str(revision)})
            self.server.compacted = revision
        elif restart:
            hypothesis.event('restart')
            self.server.stop()
            for mgr in self.etcd:
                test_etcd_store.settle(lambda: not answers(mgr),
                                       timeout=SETTLE)
            self.server.start()

    @stateful.invariant()
    def same_books(self):
        same_books(self.case, self.memory, self.etcd)


class ModelTest(Model.TestCase):

    settings = hypothesis.settings(
        hypothesis.settings(), max_examples=200 if FUZZ else 20,
        stateful_step_count=40 if FUZZ else 15)

    def setUp(self):
        super().setUp()
        server = etcd.EtcdServer()
        server.setUp()
        self.addCleanup(server.cleanUp)
        server.compacted = 0
        Model.server = server
        self.addCleanup(setattr, Model, 'server', None)


class WipedEtcdTest(base.TestCase):
    """etcd restarted from an empty data directory.

    The claims are lost; once the hosts have reported again, the books are
    those of a fresh manager given the same reports.
    """

    def test_the_books_after_a_wipe_are_the_reports(self):
        server = self.useFixture(etcd.EtcdServer())
        directory = self.useFixture(fixtures.TempDir()).path
        conf = make_conf(directory, 'etcd.conf', {
            'endpoints': server.endpoint, 'timeout': 2, 'prefix': '/sora'})
        one = manager.SchedulerManager(conf)
        self.addCleanup(one.close)
        two = manager.SchedulerManager(conf)
        self.addCleanup(two.close)
        before = [{'id': host, 'memory_mb': 2048, 'cpus': 4,
                   'groups': ['web']} for host in HOSTS]
        one.update_hosts(before)
        one.select_destinations({'memory_mb': 1000, 'group': 'db',
                                 'group_policy': 'anti-affinity'}, count=3,
                                consumers=['c0', 'c1', 'c2'])
        test_etcd_store.settle(lambda: len(two.claims()) == 3)
        server.stop()
        shutil.rmtree(os.path.join(server.data, 'data'))
        server.start()
        # Reported again at once (before the managers may have noticed),
        # all but a: it is gone with the rest of etcd's data.
        after = [{'id': host, 'memory_mb': 1024, 'cpus': 2,
                  'consumers': ['c0']} for host in HOSTS[1:]]
        one.update_hosts(after)
        with manager.SchedulerManager(
                make_conf(directory, 'memory.conf')) as reference:
            reference.update_hosts(after)
            same_books(self, reference, [one, two])
            with manager.SchedulerManager(conf) as three:
                same_books(self, reference, [three])
            for mgr in (two, reference):
                self.assertEqual(['b', 'b'], mgr.select_destinations(
                    {'memory_mb': 512, 'group': 'db',
                     'group_policy': 'affinity'}, count=2,
                    consumers=['c0', 'c3']))
            same_books(self, reference, [one, two])
