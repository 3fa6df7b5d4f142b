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


"""Soft rules: preferences and the soft group policies, never refusing."""

import json

import hypothesis
from hypothesis import strategies as st
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import filtering
from sora.scheduler import fixture
from sora.scheduler import host_state
from sora.scheduler import manager
from sora.scheduler import request as sora_request
from tests import base
from tests.unit import test_constraints
from tests.unit import test_etcd_store
from tests.unit import test_properties

DRIVERS = ('filter', 'memorybase', 'randombase')
SSD = {'key': 'ssd', 'op': 'in', 'values': ['true'], 'weight': 50}
HOSTS = [{'id': 'a', 'memory_mb': 100, 'labels': {'ssd': 'true'}},
         {'id': 'b', 'memory_mb': 300, 'groups': ['web']},
         {'id': 'c', 'memory_mb': 200, 'groups': ['web', 'web'],
          'labels': {'zone': 'az1'}}]


def scheduler(test, driver, **options):
    """The manager of a fixture.Scheduler with *driver* and *options*."""
    return test.useFixture(fixture.Scheduler(config={
        'DEFAULT': {'scheduler_driver': driver},
        'filter_scheduler': options})).manager


class ParseTest(base.TestCase):

    def test_bad_preferences_say_what_is_accepted(self):
        cases = [
            ({'key': 'ssd'}, 'preferences must be a list of rules such as '
                             '{"key": "ssd", "op": "in", "values": '
                             '["true"], "weight": 50}, got'),
            (['ssd'], 'preference 0: expected an object'),
            ([SSD, dict(SSD, weight=0)],
             'preference 1: weight must be a whole number from 1 to 100, '
             'got 0 (a number)'),
            ([dict(SSD, weight=101)], 'got 101 (a number)'),
            ([dict(SSD, weight=2.5)], 'got 2.5 (a number)'),
            ([dict(SSD, weight='50')], "got '50' (a string)"),
            ([dict(SSD, weight=True)], 'got True (a boolean)'),
            ([dict(SSD, wieght=5)], "preference 0: unknown field 'wieght'; "
                                    'accepted fields: key, op, values, '
                                    'weight'),
            ([dict(SSD, op='near')], 'preference 0: op must be one of in, '
                                     'not_in, exists, not_exists, gt, lt'),
            ([{'key': 'ssd', 'op': 'in'}],
             'preference 0: in needs values: a list of label values'),
            ([{'key': 'size', 'op': 'gt', 'values': ['big']}],
             'preference 0: gt takes one number'),
            ([{'op': 'exists'}],
             'preference 0: key must be a non-empty string'),
        ]
        for preferences, message in cases:
            with self.subTest(preferences=preferences):
                error = self.assertRaises(
                    exceptions.InvalidRequest, sora_request.parse_request,
                    {'preferences': preferences})
                self.assertTrue(str(error).startswith('request: '))
                self.assertIn(message, str(error))

    def test_soft_policies_need_a_group_and_are_named_with_the_others(self):
        error = self.assertRaises(
            exceptions.InvalidRequest, sora_request.parse_request,
            {'group_policy': 'soft-affinity'})
        self.assertIn('group_policy needs a group', str(error))
        error = self.assertRaises(
            exceptions.InvalidRequest, sora_request.parse_request,
            {'group': 'web', 'group_policy': 'soft_affinity'})
        self.assertIn('group_policy must be affinity, anti-affinity, '
                      "soft-affinity or soft-anti-affinity, got "
                      "'soft_affinity'", str(error))

    def test_preferences_read_back_with_their_weights(self):
        given = [SSD, {'key': 'zone', 'op': 'exists'}]
        request = sora_request.parse_request({'preferences': given})
        self.assertEqual([SSD, {'key': 'zone', 'op': 'exists', 'weight': 1}],
                         request.to_dict()['preferences'])
        self.assertEqual(request, sora_request.parse_request(request))
        self.assertEqual(['ssd in true (weight 50)', 'zone exists (weight 1)'],
                         [str(rule) for rule in request.preferences])


class GroupCountsTest(base.TestCase):

    def test_each_pick_counts_the_ones_before_it(self):
        table = host_state.parse_hosts(HOSTS)
        request = sora_request.parse_request(
            {'group': 'web', 'group_policy': 'soft-anti-affinity'})
        self.assertEqual([0, 1, 2], list(table.group_counts('web')))
        taken = table.consume([0, 0, 2], request).consume([1], request)
        self.assertEqual([2, 2, 3], list(taken.group_counts('web')))
        self.assertEqual([0, 0, 0], list(taken.group_counts('db')))
        self.assertEqual([0, 1, 2], list(table.group_counts('web')))


class DriverTest(base.TestCase):

    def test_every_driver_prefers_what_the_request_prefers(self):
        # a: 100 MB with an SSD; b and c have more memory.
        for driver in DRIVERS:
            mgr = scheduler(self, driver)
            mgr.update_hosts(HOSTS)
            with self.subTest(driver=driver):
                self.assertEqual(['a'], mgr.select_destinations(
                    {'preferences': [SSD]}, dry_run=True))
                # Weights add up: zone (weight 60) beats ssd (50).
                self.assertEqual(['c'], mgr.select_destinations(
                    {'preferences': [SSD, {'key': 'zone', 'op': 'exists',
                                           'weight': 60}]}, dry_run=True))
                # Never a reason to refuse: the request goes where it fits.
                self.assertEqual(['b'], mgr.select_destinations(
                    {'memory_mb': 250, 'preferences': [SSD]}, dry_run=True))

    def test_every_driver_spreads_and_gathers_a_soft_group(self):
        spread = {'group': 'web', 'group_policy': 'soft-anti-affinity'}
        gather = {'group': 'web', 'group_policy': 'soft-affinity'}
        for driver in DRIVERS:
            mgr = scheduler(self, driver)
            mgr.update_hosts(HOSTS)
            with self.subTest(driver=driver):
                # web runs 0, 1, 2 times on a, b, c: each pick counts the
                # ones before it.
                chosen = mgr.select_destinations(spread, count=4,
                                                 dry_run=True)
                self.assertEqual(['a', 'a', 'b'], sorted(chosen[:3]))
                self.assertEqual(['c', 'c'], mgr.select_destinations(
                    gather, count=2, dry_run=True))
                # Too big for c: the group goes elsewhere, never NoValidHost.
                self.assertEqual(['b'], mgr.select_destinations(
                    dict(gather, memory_mb=250), dry_run=True))
                self.assertEqual(3, len(mgr.select_destinations(
                    dict(spread, memory_mb=100), count=3, dry_run=True)))

    def test_soft_policies_count_per_domain_of_the_topology_key(self):
        # web runs twice in az1 (on a1) and once in az2 (on b1).
        zones = [{'id': 'a1', 'memory_mb': 100, 'groups': ['web', 'web'],
                  'labels': {'zone': 'az1'}},
                 {'id': 'a2', 'memory_mb': 900, 'labels': {'zone': 'az1'}},
                 {'id': 'b1', 'memory_mb': 100, 'groups': ['web'],
                  'labels': {'zone': 'az2'}},
                 {'id': 'b2', 'memory_mb': 800, 'labels': {'zone': 'az2'}},
                 {'id': 'c1', 'memory_mb': 100, 'labels': {'zone': 'az3'}}]
        # The labels filter only: no filter enforces hard policies, and
        # soft ones need none, with or without a topology_key.
        for driver in DRIVERS:
            mgr = scheduler(self, driver, enabled_filters=['labels'])
            mgr.update_hosts(zones)
            spread = {'group': 'web', 'group_policy': 'soft-anti-affinity',
                      'topology_key': 'zone'}
            with self.subTest(driver=driver):
                self.assertEqual(['c1'], mgr.select_destinations(
                    spread, dry_run=True))
                # Without az3: az2 runs fewer than az1.
                self.assertIn(mgr.select_destinations(
                    spread, zones[:4])[0], ('b1', 'b2'))
                self.assertIn(mgr.select_destinations(
                    dict(spread, group_policy='soft-affinity'),
                    dry_run=True)[0], ('a1', 'a2'))

    def test_claims_carry_the_group_for_the_next_decisions(self):
        for driver in DRIVERS:
            mgr = scheduler(self, driver)
            mgr.update_hosts([{'id': f'n{n}', 'memory_mb': 1000}
                              for n in range(3)])
            request = {'memory_mb': 10, 'group': 'db',
                       'group_policy': 'soft-anti-affinity'}
            with self.subTest(driver=driver):
                chosen = [mgr.select_destinations(request)[0]
                          for _ in range(6)]
                self.assertEqual([['n0', 'n1', 'n2']] * 2,
                                 [sorted(chosen[:3]), sorted(chosen[3:])])
                self.assertEqual({'db'}, {claim.group
                                          for claim in mgr.claims()})

    def test_the_hard_group_filters_do_not_demand_or_enforce_them(self):
        mgr = scheduler(self, 'filter', enabled_filters=['labels'])
        mgr.update_hosts(HOSTS)
        self.assertEqual(['a'], mgr.select_destinations(
            {'group': 'web', 'group_policy': 'soft-anti-affinity'},
            dry_run=True))
        mgr = scheduler(self, 'filter')
        mgr.update_hosts(HOSTS)
        self.assertEqual(['c'], mgr.select_destinations(
            {'group': 'web', 'group_policy': 'soft-affinity'}, dry_run=True))
        error = self.assertRaises(
            exceptions.InvalidRequest,
            scheduler(self, 'filter', enabled_filters=['labels'])
            .select_destinations, {'group': 'web',
                                   'group_policy': 'anti-affinity'}, HOSTS)
        self.assertIn('asks for anti-affinity but no enabled filter',
                      str(error))

    def test_a_multiplier_of_0_switches_a_rule_off_for_every_driver(self):
        for driver in DRIVERS:
            mgr = scheduler(self, driver, preferences_weight_multiplier=0.0)
            with self.subTest(driver=driver):
                chosen = {mgr.select_destinations({'preferences': [SSD]},
                                                  HOSTS)[0]
                          for _ in range(30)}
                self.assertEqual({'filter': {'b'}, 'memorybase': {'b'},
                                  'randombase': {'a', 'b', 'c'}}[driver],
                                 chosen)

    def test_the_filter_driver_weighs_them_with_the_others(self):
        # With a multiplier below the memory weigher's, free memory wins.
        mgr = scheduler(self, 'filter', preferences_weight_multiplier=0.5,
                        weighers=['memory', 'preferences'])
        self.assertEqual(['b'], mgr.select_destinations(
            {'preferences': [SSD]}, HOSTS))


class ExplainTest(base.TestCase):

    def test_explanations_name_the_soft_weighers(self):
        request = {'group': 'web', 'group_policy': 'soft-anti-affinity',
                   'preferences': [SSD]}
        for driver in DRIVERS:
            mgr = scheduler(self, driver)
            explanation = mgr.explain(request, HOSTS, count=1)
            with self.subTest(driver=driver):
                self.assertEqual(['a'], explanation['destinations'])
                best = explanation['ranking'][0]
                self.assertEqual(('a', 10.0, 10.0), (
                    best['id'], best['weighers']['preferences'],
                    best['weighers']['soft_anti_affinity']))
                self.assertEqual(['a', 'b', 'c'], [
                    entry['id'] for entry in explanation['ranking']])
        # Requests without soft rules leave their weighers out.
        self.assertEqual({'memory', 'cpu', 'containers'}, set(
            scheduler(self, 'filter').explain({}, HOSTS)['ranking'][0][
                'weighers']))

    def test_the_command_shows_their_columns(self):
        hosts = self.write_file('hosts.json', json.dumps(HOSTS))
        result = self.useFixture(base.Command())(
            '--config-file', self.write_file(
                'sora.conf', '[DEFAULT]\nscheduler_driver = filter\n'),
            'select', '--hosts', hosts, '--explain', '--request',
            json.dumps({'group': 'web', 'group_policy': 'soft-anti-affinity',
                        'preferences': [SSD]}))
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(['#', 'HOST', 'WEIGHT', 'MEMORY', 'CPU', 'CONTAINERS',
                          'PREFERENCES', 'SOFT_ANTI_AFFINITY'],
                         lines[1].split())
        self.assertEqual(['#', '1', 'a', '20.000', '0.000', '0.000', '0.000',
                          '10.000', '10.000'], lines[2].split())
        self.assertEqual('a', lines[-1])


class CommandTest(base.TestCase):

    def test_select_takes_them_and_refuses_bad_ones(self):
        hosts = self.write_file('hosts.json', json.dumps(HOSTS))
        command = self.useFixture(base.Command())
        for driver in DRIVERS:
            conf = self.write_file('sora.conf',
                                   f'[DEFAULT]\nscheduler_driver = {driver}\n')
            with self.subTest(driver=driver):
                result = command('--config-file', conf, 'select', '--hosts',
                                 hosts, '--request', json.dumps(
                                     {'preferences': [SSD]}))
                self.assertEqual((0, 'a\n'),
                                 (result.returncode, result.stdout))
                result = command('--config-file', conf, 'select', '--hosts',
                                 hosts, '--group', 'web', '--group-policy',
                                 'soft-affinity', '--count', '2')
                self.assertEqual((0, 'c\nc\n'),
                                 (result.returncode, result.stdout))
        result = command('select', '--hosts', hosts, '--request', json.dumps(
            {'preferences': [dict(SSD, weight=500)]}))
        self.assertEqual(2, result.returncode)
        self.assertIn('request: preference 0: weight must be a whole number '
                      'from 1 to 100, got 500', result.stderr)
        self.assertNotIn('Traceback', result.stderr)


class EtcdTest(test_etcd_store.EtcdStoreTestCase):

    def test_managers_sharing_etcd_count_each_others_soft_groups(self):
        first, second = self.manager(), self.manager()
        first.update_hosts([{'id': f'n{n}', 'memory_mb': 1000,
                             'labels': {'ssd': 'true'} if n == 2 else {}}
                            for n in range(3)])
        test_etcd_store.settle(lambda: len(second.hosts()) == 3)
        spread = {'memory_mb': 10, 'group': 'web',
                  'group_policy': 'soft-anti-affinity'}
        chosen = []
        for n in range(4):
            mgr = (first, second)[n % 2]
            chosen += mgr.select_destinations(spread)
            test_etcd_store.settle(
                lambda: len(first.claims()) == len(second.claims()) == n + 1)
        self.assertEqual(['n0', 'n1', 'n2', 'n0'],
                         sorted(chosen[:3]) + chosen[3:])
        self.assertEqual({'web'}, {claim.group for claim in second.claims()})
        self.assertEqual(['n2'], second.select_destinations(
            {'preferences': [SSD]}, dry_run=True))
        result = self.useFixture(base.Command())(
            '--config-file', self.conf_file(), 'select', '--dry-run',
            '--request', json.dumps({'preferences': [
                {'key': 'ssd', 'op': 'not_exists', 'weight': 100}],
                'group': 'web', 'group_policy': 'soft-affinity'}))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('n0\n', result.stdout)


def _manager(driver, **options):
    conf = cfg.ConfigOpts()
    conf([], project='sora', default_config_files=[], default_config_dirs=[])
    manager.SchedulerManager(conf)
    conf.set_override('scheduler_driver', driver)
    for name, value in options.items():
        conf.set_override(name, value, 'filter_scheduler')
    return manager.SchedulerManager(conf)


preference = test_constraints.rule.map(
    lambda rule: dict(rule, key=rule['key'].replace('size', 'ssd')))


labelled_hosts = st.lists(st.fixed_dictionaries({
    'memory_mb': st.sampled_from([512, 2048]),
    'labels': st.dictionaries(st.sampled_from(['zone', 'size']),
                              st.sampled_from(test_constraints.VALUES),
                              min_size=1)}), min_size=2, max_size=8).map(
    lambda hosts: [dict(host, id=f'h{n}') for n, host in enumerate(hosts)])


@st.composite
def soft_rules(draw, request):
    """*request* with preferences and, unless it has a group, a soft one."""
    soft = dict(request, preferences=[
        dict(rule, weight=draw(st.integers(1, 100)))
        for rule in draw(st.lists(preference, min_size=1, max_size=3))])
    if 'group' not in request:
        soft['group'] = draw(st.sampled_from(test_properties.GROUPS
                                             + ('new',)))
        soft['group_policy'] = draw(st.sampled_from(
            sora_request.SOFT_POLICIES))
    return soft


class PropertiesTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        # Built once: examples must not pay for loading plugins.
        super().setUpClass()
        cls.built = {name: _manager(name) for name in DRIVERS}
        cls.preferring = _manager('filter', weighers=['preferences'])

    @hypothesis.given(test_properties.scenario(), st.data())
    def test_soft_rules_never_change_whether_a_request_is_placed(
            self, case, data):
        hosts, request, count = case
        soft = data.draw(soft_rules(request))
        for name, mgr in self.built.items():
            outcomes = []
            for asked in (request, soft):
                try:
                    outcomes.append(len(mgr.select_destinations(
                        asked, hosts, count)))
                except exceptions.NoValidHost as error:
                    outcomes.append(('no valid host', error.placed))
            self.assertEqual(outcomes[0], outcomes[1], name)

    @hypothesis.given(labelled_hosts, st.sampled_from([0, 1024]),
                      test_constraints.rule)
    def test_a_preference_some_candidate_meets_is_met(self, hosts, memory,
                                                      rule):
        soft = {'memory_mb': memory, 'preferences': [rule]}
        parsed = sora_request.parse_request(soft)
        table = host_state.parse_hosts(hosts)
        mask, _ = filtering.run(self.preferring.driver.filters, table,
                                parsed)
        meets = mask & parsed.preferences[0].mask(table)
        if not meets.any():
            return
        [chosen] = self.preferring.select_destinations(soft, hosts)
        self.assertTrue(meets[table.row_of(chosen)], chosen)
