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

"""Invariants of every built-in driver, searched for counter-examples.

Resources are whole numbers (CPUs in quarters) so that the capacity oracle
below is exact.
"""

import copy
import math

import hypothesis
from hypothesis import strategies as st
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import filtering
from sora.scheduler import host_state
from sora.scheduler import manager
from sora.scheduler import request as sora_request
from tests import base

DRIVERS = ('memorybase', 'randombase', 'filter')
GROUPS = ('web', 'db')


@st.composite
def hosts_strategy(draw, max_size=10):
    ids = draw(st.lists(st.text(min_size=1, max_size=6), unique=True,
                        max_size=max_size))
    hosts = []
    for host_id in ids:
        host = {'id': host_id,
                'memory_mb': draw(st.integers(0, 8192)),
                'containers': draw(st.integers(0, 120)),
                'enabled': draw(st.booleans()),
                'labels': draw(st.dictionaries(
                    st.sampled_from(['zone', 'ssd']),
                    st.sampled_from(['a', 'b']))),
                'groups': draw(st.lists(st.sampled_from(GROUPS),
                                        max_size=2))}
        if draw(st.booleans()):
            host['cpus'] = draw(st.integers(0, 32)) / 4
        if draw(st.booleans()):
            host['disk_gb'] = draw(st.integers(0, 200))
        hosts.append(host)
    return hosts


@st.composite
def request_strategy(draw, ids=(), groups=True):
    request = {'memory_mb': draw(st.sampled_from([0, 256, 1024, 3000])),
               'cpus': draw(st.sampled_from([0, 0.25, 1, 2.5])),
               'disk_gb': draw(st.sampled_from([0, 10, 100])),
               'labels': draw(st.dictionaries(
                   st.sampled_from(['zone', 'ssd']),
                   st.sampled_from(['a', 'b']), max_size=1))}
    if ids and draw(st.booleans()):
        request['same_host'] = draw(st.lists(st.sampled_from(ids),
                                             max_size=3))
    if ids and draw(st.booleans()):
        request['different_host'] = draw(st.lists(st.sampled_from(ids),
                                                  max_size=3))
    if groups and draw(st.booleans()):
        request['group'] = draw(st.sampled_from(GROUPS + ('new',)))
        request['group_policy'] = 'anti-affinity'
    return request


@st.composite
def scenario(draw, groups=True):
    hosts = draw(hosts_strategy())
    ids = [host['id'] for host in hosts]
    return (hosts, draw(request_strategy(ids, groups)),
            draw(st.integers(1, 4)))


def capacity(hosts, request, limit):
    """How many copies of *request* the hosts can take, computed plainly."""
    total = 0
    for host in hosts:
        if not host.get('enabled', True) or (
                request.get('same_host') is not None
                and request['same_host']
                and host['id'] not in request['same_host']) or \
                host['id'] in request.get('different_host', ()) or \
                any(host['labels'].get(k) != v
                    for k, v in request['labels'].items()):
            continue
        copies = limit - host['containers'] if limit else math.inf
        for field in ('memory_mb', 'cpus', 'disk_gb'):
            free, need = host.get(field, math.inf), request[field]
            if need and free != math.inf:
                copies = min(copies, math.floor(free / need))
        if request.get('group_policy') == 'anti-affinity':
            copies = 0 if request['group'] in host['groups'] else \
                min(copies, 1)
        total += max(copies, 0)
    return total


def _manager(driver):
    conf = cfg.ConfigOpts()
    conf([], project='sora', default_config_files=[], default_config_dirs=[])
    manager.SchedulerManager(conf)
    conf.set_override('scheduler_driver', driver)
    return manager.SchedulerManager(conf)


class DriverPropertiesTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        # Built once: examples must not pay for loading plugins.
        super().setUpClass()
        cls.built = {name: _manager(name) for name in DRIVERS}

    def managers(self):
        return self.built

    @hypothesis.given(scenario())
    def test_choices_pass_every_filter_and_never_oversubscribe(self, case):
        hosts, request, count = case
        for name, mgr in self.managers().items():
            try:
                chosen = mgr.select_destinations(request, hosts, count)
            except exceptions.NoValidHost:
                continue
            table = host_state.parse_hosts(hosts)
            parsed = sora_request.parse_request(request)
            self.assertEqual(count, len(chosen))
            for host_id in chosen:
                row = table.row_of(host_id)
                mask, _ = filtering.run(mgr.driver.filters, table, parsed)
                self.assertTrue(mask[row], (name, host_id))
                self.assertTrue(table[row].enabled, (name, host_id))
                table = table.consume([row], parsed)
                host = table[row]
                self.assertGreaterEqual(
                    min(host.memory_mb, host.cpus, host.disk_gb), 0,
                    (name, host_id))

    @hypothesis.given(scenario())
    def test_no_valid_host_exactly_when_capacity_is_short(self, case):
        hosts, request, count = case
        limits = {'memorybase': 0, 'randombase': 0, 'filter': 110}
        for name, mgr in self.managers().items():
            placeable = capacity(hosts, request, limits[name])
            try:
                mgr.select_destinations(request, hosts, count)
                self.assertGreaterEqual(placeable, count, name)
            except exceptions.NoValidHost as error:
                self.assertLess(placeable, count, name)
                self.assertEqual(len(hosts), error.hosts_total)
                lefts = [left for _, left in error.filter_counts]
                self.assertEqual(sorted(lefts, reverse=True), lefts)
                self.assertTrue(all(left <= len(hosts) for left in lefts))
                self.assertEqual(0, lefts[-1] if lefts else len(hosts))
                self.assertEqual(error.placed, min(placeable, count))

    @hypothesis.given(scenario(groups=False))
    def test_best_by_the_drivers_own_ordering(self, case):
        hosts, request, _count = case
        managers = self.managers()
        try:
            [chosen] = managers['memorybase'].select_destinations(request,
                                                                  hosts)
        except exceptions.NoValidHost:
            return
        table = host_state.parse_hosts(hosts)
        mask, _ = filtering.run(managers['memorybase'].driver.filters,
                                table, sora_request.parse_request(request))
        best = max(table.memory_mb[mask])
        self.assertEqual(best, table[table.row_of(chosen)].memory_mb)
        self.assertEqual(chosen, min(host.id for host, ok in zip(table, mask)
                                     if ok and host.memory_mb == best))
        try:  # max_containers may leave no host to the filter driver
            [chosen] = managers['filter'].select_destinations(request, hosts)
        except exceptions.NoValidHost:
            return
        ranking = managers['filter'].explain(request, hosts,
                                             top=len(hosts))['ranking']
        self.assertEqual(chosen, ranking[0]['id'])
        self.assertEqual(ranking[0]['weight'],
                         max(entry['weight'] for entry in ranking))

    @hypothesis.given(scenario())
    def test_input_is_never_mutated(self, case):
        before = copy.deepcopy(case)
        hosts, request, count = case
        for mgr in self.managers().values():
            try:
                mgr.select_destinations(request, hosts, count)
            except exceptions.NoValidHost:
                pass
            self.assertEqual(before, (hosts, request, count))

    @hypothesis.given(scenario(), st.integers(0, 2 ** 32))
    def test_seeded_runs_repeat(self, case, seed):
        hosts, request, count = case
        results, mgr = [], self.built['randombase']
        for _ in range(2):
            mgr.driver.random.seed(seed)
            try:
                results.append(mgr.select_destinations(request, hosts, count))
            except exceptions.NoValidHost as error:
                results.append(error.filter_counts)
        self.assertEqual(results[0], results[1])
