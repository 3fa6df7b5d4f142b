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

"""The claims ledger, and the books of the tracked hosts under any history.

The state machine below interleaves node reports (which settle the claims
of the consumers they list), placements, releases, expiries and host
removals at random, and after every step checks that each host's free
resources are exactly its last report less its outstanding claims. Its
model computes units with exact fractions, independently of Sora's code.
"""

import fractions
import math
import os
import unittest

import fixtures
import hypothesis
from hypothesis import stateful
from hypothesis import strategies as st
from oslo_config import cfg

from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import host_store
from sora.scheduler import manager
from tests import base

HOSTS = ('a', 'b', 'c')
COUNTED = ('gpu', 'vf')
SCALES = {'memory_mb': 1, 'cpus': 1000, 'disk_gb': 1}
TIMEOUT = 100


def decimals(high, places):
    """Numbers written with at most *places* decimals, as JSON gives."""
    return st.integers(0, high * 10 ** places).map(
        lambda n: n / 10 ** places if places else n)


def exact(value, scale, up):
    """The units of *value*, from its decimal form, rounded up or down."""
    if value == math.inf:
        return math.inf
    scaled = fractions.Fraction(repr(value)) * scale
    return math.ceil(scaled) if up else math.floor(scaled)


class LedgerTest(base.TestCase):

    def test_oldest_first_by_consumer_and_host(self):
        ledger = claims.Ledger()
        for n, host in enumerate('aab'):
            ledger.add(claims.Entry(f'c{n}', host, (1, 100, 0), None, n))
        self.assertEqual('c0', ledger.oldest().consumer)
        self.assertEqual(['c0', 'c1'], sorted(ledger.of_host('a')))
        self.assertEqual('a', ledger.pop('c0').host)
        self.assertIsNone(ledger.pop('c0'))
        self.assertEqual(['c1'], ledger.of_host('a'))
        self.assertEqual('c1', ledger.oldest().consumer)
        self.assertEqual(
            [claims.Claim('c1', 'a', 1.0, 0.1, 0.0, None, 9.0),
             claims.Claim('c2', 'b', 1.0, 0.1, 0.0, None, 8.0)],
            ledger.listing(10))
        self.assertEqual(2, len(ledger))
        self.assertNotIn('c0', ledger)


class Books(stateful.RuleBasedStateMachine):
    """Random histories of one manager, checked against exact books."""

    def __init__(self):
        super().__init__()
        # Assertions only (a plain TestCase needs no test method); the
        # config file lives in a directory of its own.
        self.case = unittest.TestCase()
        self.files = fixtures.TempDir()
        self.files.setUp()
        path = os.path.join(self.files.path, 'sora.conf')
        with open(path, 'w') as conf_file:
            conf_file.write(f'[scheduler]\nclaim_timeout = {TIMEOUT}\n'
                            + self.options())
        conf = cfg.ConfigOpts()
        conf(['--config-file', path], project='sora',
             default_config_files=[], default_config_dirs=[])
        self.clock = base.Clock()
        self.store = self.make_store(conf)
        self.mgr = manager.SchedulerManager(conf, store=self.store)
        self.reported = {}     # host -> {field: units} and containers
        self.claims = {}       # consumer -> (host, {field: units}, made)
        self.serial = 0

    def options(self):
        """More of the config file: the store's options."""
        return ''

    def make_store(self, conf):
        """The host store the manager keeps its books in."""
        return host_store.MemoryHostStore(conf, clock=self.clock)

    def teardown(self):
        self.mgr.close()
        self.store.close()
        self.files.cleanUp()

    @stateful.rule(host=st.sampled_from(HOSTS),
                   memory=decimals(4096, 1), cpus=st.one_of(
                       st.none(), decimals(4, 3), decimals(4, 5)),
                   disk=st.one_of(st.none(), decimals(100, 0)),
                   resources=st.fixed_dictionaries({}, optional={
                       name: st.sampled_from([2, 4, 1, 0])
                       for name in COUNTED}),
                   settle=st.lists(st.integers(0, 50), max_size=3),
                   data=st.data())
    def report(self, host, memory, cpus, disk, resources, settle, data):
        outstanding = sorted(self.claims)
        listed = [outstanding[n % len(outstanding)] for n in settle
                  if outstanding] + data.draw(st.lists(
                      st.sampled_from(['gone', 'unknown']), max_size=1))
        report = {'id': host, 'memory_mb': memory, 'cpus': cpus,
                  'disk_gb': disk, 'consumers': sorted(set(listed)),
                  'resources': resources}
        self.mgr.update_hosts([report])
        self.reported[host] = {
            'memory_mb': exact(memory, 1, up=False),
            'cpus': exact(math.inf if cpus is None else cpus, 1000,
                          up=False),
            'disk_gb': exact(math.inf if disk is None else disk, 1,
                             up=False),
            'containers': len(report['consumers']),
            'resources': resources}
        for consumer in listed:
            self.claims.pop(consumer, None)

    @stateful.rule(memory=st.sampled_from([0, 1, 100.5, 512, 1000]),
                   cpus=st.sampled_from([0, 0.1, 0.25, 1 / 3, 0.00001, 0.7]),
                   disk=st.sampled_from([0, 1, 2.5]),
                   resources=st.dictionaries(st.sampled_from(COUNTED),
                                             st.integers(1, 2)),
                   count=st.integers(1, 3))
    def place(self, memory, cpus, disk, resources, count):
        request = {'memory_mb': memory, 'cpus': cpus, 'disk_gb': disk,
                   'resources': resources}
        consumers = [f'c{self.serial + n}' for n in range(count)]
        self.serial += count
        try:
            chosen = self.mgr.select_destinations(request, count=count,
                                                  consumers=consumers)
        except exceptions.NoValidHost:
            return
        needs = {field: exact(request[field], scale, up=True)
                 for field, scale in SCALES.items()}
        needs.update(resources)
        for consumer, host in zip(consumers, chosen):
            self.claims[consumer] = (host, needs, self.clock.now)

    @stateful.rule(resources=st.sampled_from([{'gpu': 1}, {'vf': 2},
                                              {'gpu': 1, 'vf': 1}]),
                   count=st.integers(1, 3))
    def place_counted(self, resources, count):
        # Only countable resources: whether they fit decides.
        self.place(0, 0, 0, resources, count)

    @stateful.rule(data=st.data())
    def release(self, data):
        if not self.claims:
            self.case.assertRaises(exceptions.InvalidRequest,
                                   self.mgr.release, 'nobody')
            return
        consumer = data.draw(st.sampled_from(sorted(self.claims)))
        self.mgr.release(consumer)
        del self.claims[consumer]

    @stateful.rule(seconds=st.sampled_from([1, 30, 99, 100]))
    def tick(self, seconds):
        self.clock.now += seconds

    @stateful.rule(host=st.sampled_from(HOSTS))
    def remove(self, host):
        if host not in self.reported:
            self.case.assertRaises(exceptions.InvalidRequest,
                                   self.mgr.remove_host, host)
            return
        self.mgr.remove_host(host)
        del self.reported[host]
        self.claims = {consumer: claim for consumer, claim in
                       self.claims.items() if claim[0] != host}

    @stateful.invariant()
    def books_balance_exactly(self):
        self.claims = {consumer: claim for consumer, claim in
                       self.claims.items()
                       if claim[2] + TIMEOUT > self.clock.now}
        hosts = {host.id: host for host in self.mgr.hosts()}
        self.case.assertEqual(set(self.reported), set(hosts))
        for host_id, reported in self.reported.items():
            held = [needs for host, needs, _ in self.claims.values()
                    if host == host_id]
            for field, scale in SCALES.items():
                free = reported[field] - sum(needs[field] for needs in held)
                self.case.assertEqual(
                    max(free, 0) / scale, getattr(hosts[host_id], field),
                    (host_id, field))
            self.case.assertEqual(reported['containers'] + len(held),
                                  hosts[host_id].containers)
            self.case.assertEqual(
                {name: max(0, amount - sum(needs.get(name, 0)
                                           for needs in held))
                 for name, amount in reported['resources'].items()},
                hosts[host_id].resources, host_id)
        # Oldest first; claims made at one time in no particular order.
        listed = self.mgr.claims()
        ages = [claim.age for claim in listed]
        self.case.assertEqual(sorted(ages, reverse=True), ages)
        self.case.assertEqual(
            sorted(self.claims, key=lambda c: (self.claims[c][2], c)),
            [claim.consumer for claim in sorted(
                listed, key=lambda claim: (-claim.age, claim.consumer))])


Books.TestCase.settings = hypothesis.settings(
    hypothesis.settings(), stateful_step_count=30)
BooksTest = Books.TestCase
