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

"""No sequence of decisions ever breaks a hard rule, all rules at once.

Random hosts (memory, GPUs, zones, SSDs, taints, some disabled) take
random sequences of requests that mix fit, countable resources,
constraints, tolerations, host and zone (anti-)affinity, spread and soft
rules; each placement is checked against the rules written plainly here
(and in the rule tests beside this one). On the memory store each
decision is checked on the state before it, and a single placement is
refused only when no host passes every rule; on etcd, two managers place
from two threads at once and the claims they made are checked.
"""

import collections
import threading
import uuid

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import manager
from tests import base
from tests.unit import test_constraints
from tests.unit import test_etcd_store
from tests.unit import test_taints
from tests.unit import test_topology

MEMORY = 1000
DEDICATED = {'key': 'dedicated', 'value': 'gpu', 'effect': 'no_schedule'}
SPOT = {'key': 'spot', 'effect': 'prefer_no_schedule'}
TEMPLATES = [
    {'group': 'anti-host', 'group_policy': 'anti-affinity',
     'memory_mb': 300, 'tolerations': [{'key': 'dedicated',
                                        'op': 'exists'}]},
    {'group': 'aff-host', 'group_policy': 'affinity', 'memory_mb': 300},
    {'group': 'anti-zone', 'group_policy': 'anti-affinity',
     'topology_key': 'zone',
     'constraints': [{'key': 'zone', 'op': 'not_in', 'values': ['c']}]},
    {'group': 'aff-zone', 'group_policy': 'affinity', 'topology_key': 'zone',
     'resources': {'gpu': 1}},
    {'group': 'spread', 'spread': {'key': 'zone', 'max_skew': 1},
     'tolerations': [{'key': 'dedicated', 'value': 'gpu',
                      'effect': 'no_schedule'}]},
    {'group': 'spread-ssd', 'spread': {'key': 'zone', 'max_skew': 1},
     'constraints': [{'key': 'ssd', 'op': 'exists'}]},
    {'memory_mb': 600, 'resources': {'gpu': 1}},
    {'memory_mb': 300, 'constraints': [
        {'key': 'zone', 'op': 'in', 'values': ['a', 'b']}],
     'tolerations': [{'key': 'spot', 'op': 'exists'}]},
    {'memory_mb': 300, 'group': 'soft', 'group_policy': 'soft-anti-affinity',
     'topology_key': 'zone', 'preferences': [
         {'key': 'ssd', 'op': 'in', 'values': ['y'], 'weight': 50}]},
]
"""Each group always comes with the same rules."""

host = st.fixed_dictionaries({
    'labels': st.fixed_dictionaries({}, optional={
        'zone': st.sampled_from('abc'), 'ssd': st.sampled_from('yn')}),
    'gpu': st.integers(0, 2),
    'taints': st.sets(st.sampled_from([0, 1])),
    'enabled': st.booleans()})
hosts_strategy = st.lists(host, min_size=1, max_size=8).map(
    lambda drawn: [dict({'id': f'h{n}', 'memory_mb': MEMORY,
                         'labels': item['labels'],
                         'enabled': item['enabled'] or n == 0,
                         'taints': [[DEDICATED, SPOT][i]
                                    for i in sorted(item['taints'])]},
                        **({'resources': {'gpu': item['gpu']}}
                           if item['gpu'] else {}))
                   for n, item in enumerate(drawn)])


class Books:
    """What the placements so far hold, per host and per group."""

    def __init__(self, hosts):
        self.hosts = hosts
        self.memory = collections.Counter()
        self.gpus = collections.Counter()
        self.members = collections.defaultdict(collections.Counter)

    def place(self, host_id, request):
        self.memory[host_id] += request.get('memory_mb', 0)
        self.gpus[host_id] += request.get('resources', {}).get('gpu', 0)
        if 'group' in request:
            self.members[request['group']][host_id] += 1

    def fits(self, item, request):
        """Whether *item* passes the request's rules but its group's."""
        taints = [test_taints.taints.Taint(**dict({'value': ''}, **taint))
                  for taint in item['taints']]
        return (item['enabled']
                and self.memory[item['id']] + request.get('memory_mb', 0)
                <= MEMORY
                and self.gpus[item['id']] + request.get(
                    'resources', {}).get('gpu', 0)
                <= item.get('resources', {}).get('gpu', 0)
                and all(test_constraints.passes(item['labels'], rule)
                        for rule in request.get('constraints', ()))
                and not any(taint.effect == 'no_schedule'
                            and not test_taints.tolerated(
                                taint, request.get('tolerations', ()))
                            for taint in taints))

    def allowed(self, item, request):
        """Whether *item* may take one more container of the request."""
        if not self.fits(item, request):
            return False
        if request.get('group_policy') not in ('affinity', 'anti-affinity'):
            request = dict(request, group_policy=None)
        members = self.members[request.get('group')]
        if not request.get('topology_key'):
            if request.get('group_policy') == 'anti-affinity' and \
                    members[item['id']]:
                return False
            if request.get('group_policy') == 'affinity' and \
                    sum(members.values()) and not members[item['id']]:
                return False
        if not test_topology.allowed(item, self.hosts, members,
                                     dict(request, spread=None), []):
            return False
        if not request.get('spread'):
            return True
        candidates = [other for other in self.hosts
                      if self.fits(other, request) and test_topology.allowed(
                          other, self.hosts, members,
                          dict(request, spread=None), [])]
        return test_topology.allowed(item, self.hosts, members, request,
                                     candidates)


class MemoryStoreTest(base.TestCase):

    @hypothesis.settings(max_examples=80, deadline=None)
    @hypothesis.given(hosts_strategy, st.lists(st.tuples(
        st.integers(0, len(TEMPLATES) - 1), st.integers(1, 3),
        st.sampled_from(['filter', 'memorybase', 'randombase'])),
        max_size=10))
    def test_no_decision_breaks_a_hard_rule(self, hosts, decisions):
        managers, books = {}, {}
        by_id = {item['id']: item for item in hosts}
        for template, count, driver in decisions:
            request = TEMPLATES[template]
            if driver not in managers:
                managers[driver] = self.useFixture(fixture.Scheduler(
                    config={'DEFAULT': {'scheduler_driver': driver}}
                )).manager
                managers[driver].update_hosts(hosts)
                books[driver] = Books(hosts)
            mgr, held = managers[driver], books[driver]
            try:
                chosen = mgr.select_destinations(request, count=count)
            except exceptions.NoValidHost:
                hypothesis.event('refused')
                if count == 1:
                    self.assertEqual([], [item['id'] for item in hosts
                                          if held.allowed(item, request)])
                continue
            hypothesis.event('placed')
            for host_id in chosen:
                self.assertTrue(held.allowed(by_id[host_id], request),
                                (host_id, request))
                held.place(host_id, request)


class EtcdTest(test_etcd_store.EtcdStoreTestCase):

    @hypothesis.settings(max_examples=10, deadline=None)
    @hypothesis.given(hosts_strategy, st.lists(st.tuples(
        st.integers(0, len(TEMPLATES) - 1), st.integers(1, 3)),
        min_size=2, max_size=10))
    def test_racing_managers_never_break_a_hard_rule(self, hosts,
                                                     decisions):
        # Two managers on one etcd place from two threads at once; then
        # the claims, taken in the order etcd made them, must be placements
        # the rules allow one after the other. (Spread and group rules
        # held when each claim was made, so they hold in that order:
        # counts only grow.)
        conf = self.conf(prefix=f'{self.etcd.prefix}/{uuid.uuid4().hex}')
        with manager.SchedulerManager(conf) as one, \
                manager.SchedulerManager(conf) as two:
            one.update_hosts(hosts)
            test_etcd_store.settle(lambda: len(two.hosts()) == len(hosts))
            errors = []

            def place(mgr, part):
                for template, count in part:
                    try:
                        mgr.select_destinations(
                            TEMPLATES[template], count=count,
                            consumers=[f'{template}-{uuid.uuid4().hex}'
                                       for _ in range(count)])
                    except exceptions.NoValidHost:
                        pass
                    except Exception as error:  # asserted below
                        errors.append(error)

            threads = [threading.Thread(target=place,
                                        args=(mgr, decisions[n::2]))
                       for n, mgr in enumerate((one, two))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual([], errors)
            made = one.store.client.range(
                conf.etcd.prefix + '/claims/', conf.etcd.prefix + '/claims0')
            order = {kv.key.rsplit('/', 1)[1]: kv.create_revision
                     for kv in made[1]}
            test_etcd_store.settle(lambda: len(one.claims()) == len(order))
            claims = sorted(one.claims(),
                            key=lambda claim: order[claim.consumer])
        hypothesis.event(f'{len(claims) > 2} that more than two were claimed')
        held, by_id = Books(hosts), {item['id']: item for item in hosts}
        for claim in claims:
            request = TEMPLATES[int(claim.consumer.split('-')[0])]
            self.assertTrue(held.allowed(by_id[claim.host], request),
                            (claim, request))
            held.place(claim.host, request)
