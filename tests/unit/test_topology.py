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

"""Topology: group policies per domain of a label, and spread."""

import collections
import json
import threading
import uuid

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import host_state
from sora.scheduler import manager
from sora.scheduler import request as sora_request
from sora.scheduler.stores import memory as memory_store
from tests import base
from tests.unit import test_etcd_store

DRIVERS = ('filter', 'memorybase', 'randombase')


def zoned(zones='abc', per_zone=3, memory=10000, **extra):
    """Hosts ``<zone>-<n>`` labelled ``zone``, ``rack`` ``<zone><n % 2>``."""
    return [dict({'id': f'{zone}-{n}', 'memory_mb': memory,
                  'labels': {'zone': zone, 'rack': f'{zone}{n % 2}'}},
                 **extra)
            for zone in zones for n in range(per_zone)]


def zone_of(host_id):
    return host_id.split('-')[0]


def placed(mgr, group):
    """{host id: containers of *group* claimed there}."""
    return collections.Counter(claim.host for claim in mgr.claims()
                               if claim.group == group)


def per_zone(hosts):
    """{zone: count} of a list (or Counter) of host ids in zoned()."""
    counts = collections.Counter()
    for host_id, times in collections.Counter(hosts).items():
        counts[zone_of(host_id)] += times
    return counts


# What the rules mean, written plainly over host mappings and the group's
# containers per host; the property tests below check decisions with it.

def zone_counts(hosts, members, key):
    counts = collections.Counter()
    for host in hosts:
        value = host['labels'].get(key)
        if value is not None:
            counts[value] += members[host['id']]
    return counts


def allowed(host, hosts, members, request, candidates):
    """Whether *host* may take one more container of the request's group.

    *members* counts the group per host id; *candidates* are the hosts
    the request's other hard rules keep (for spread's domains).
    """
    policy, key = request.get('group_policy'), request.get('topology_key')
    value = host['labels'].get(key) if key else None
    if policy == 'anti-affinity' and key:
        if not any(key in other['labels'] for other in hosts):
            return False  # no domain at all: a misspelt key
        if value is None:
            if members[host['id']]:
                return False
        elif zone_counts(hosts, members, key)[value]:
            return False
    if policy == 'affinity' and key:
        counts = zone_counts(hosts, members, key)
        if value is None or (+counts and not counts[value]):
            return False
    spread = request.get('spread')
    if spread:
        value = host['labels'].get(spread['key'])
        counts = zone_counts(hosts, members, spread['key'])
        domains = {other['labels'][spread['key']] for other in candidates
                   if spread['key'] in other['labels']}
        if value is None or counts[value] + 1 - min(
                counts[domain] for domain in domains) > spread.get(
                    'max_skew', 1):
            return False
    return True


def other_rules(host, hosts, members, request):
    """The request's hard rules but spread, for the hosts these tests use."""
    if not host.get('enabled', True) or not all(
            host['labels'].get(key) == value
            for key, value in request.get('labels', {}).items()):
        return False
    if request.get('group_policy') == 'anti-affinity' and \
            not request.get('topology_key') and members[host['id']]:
        return False
    return allowed(host, hosts, members, dict(request, spread=None), [])


class ParseTest(base.TestCase):

    def test_bad_topology_and_spread_say_what_is_accepted(self):
        cases = [
            ({'topology_key': 'zone'},
             'topology_key needs a group_policy to apply to'),
            ({'group': 'g', 'spread': {'key': 'zone'},
              'topology_key': 'zone'},
             'topology_key needs a group_policy'),
            ({'group': 'g', 'group_policy': 'affinity',
              'topology_key': ''},
             "topology_key must be a non-empty string, got ''"),
            ({'group': 'g', 'group_policy': 'affinity', 'topology_key': 3},
             'topology_key must be a non-empty string, got 3'),
            ({'spread': {'key': 'zone'}}, 'spread needs a group to apply to'),
            ({'group': 'g'}, "group 'g' needs a group_policy (affinity, "
                             'anti-affinity, soft-affinity or '
                             'soft-anti-affinity) or a spread'),
            ({'group': 'g', 'spread': 'zone'},
             'spread must be an object such as {"key": "zone", '
             '"max_skew": 1}, got \'zone\''),
            ({'group': 'g', 'spread': {'max_skew': 1}},
             'spread: key must be a non-empty string, got none (missing '
             'or null)'),
            ({'group': 'g', 'spread': {'key': 'zone', 'skew': 1}},
             "spread: unknown field 'skew'; accepted fields: key, max_skew"),
        ]
        for skew in (0, -1, 1.5, True, '1', None, 2 ** 21):
            cases.append(({'group': 'g', 'spread': {'key': 'zone',
                                                    'max_skew': skew}},
                          'spread: max_skew must be a whole number from 1 '
                          'to 1048576, got'))
        for request, message in cases:
            with self.subTest(request=request):
                error = self.assertRaises(
                    exceptions.InvalidRequest, sora_request.parse_request,
                    request)
                self.assertTrue(str(error).startswith('request: '))
                self.assertIn(message, str(error))

    def test_fields_read_back_as_given(self):
        given = {'group': 'g', 'group_policy': 'anti-affinity',
                 'topology_key': 'zone',
                 'spread': {'key': 'rack', 'max_skew': 2}}
        request = sora_request.parse_request(given)
        self.assertEqual(given, {key: value for key, value in
                                 request.to_dict().items() if key in given})
        self.assertEqual(request, sora_request.parse_request(request))
        self.assertEqual(1, sora_request.parse_request(
            {'group': 'g', 'spread': {'key': 'zone'}}).spread.max_skew)
        self.assertEqual('spread rack max_skew 2', str(request.spread))


class CountTest(base.TestCase):

    def test_group_counts_follow_reports_claims_and_picks(self):
        table = host_state.parse_hosts([
            {'id': 'a', 'memory_mb': 1, 'groups': ['g', 'g', 'h']},
            {'id': 'b', 'memory_mb': 1, 'groups': ['h']},
            {'id': 'c', 'memory_mb': 1}])
        self.assertEqual([2, 0, 0], list(table.group_counts('g')))
        self.assertEqual([True, False, False], list(table.group_mask('g')))
        request = sora_request.parse_request({'group': 'g',
                                              'spread': {'key': 'zone'}})
        after = table.consume([2, 2, 1], request)
        self.assertEqual([2, 1, 2], list(after.group_counts('g')))
        self.assertEqual([1, 1, 0], list(after.group_counts('h')))
        self.assertEqual([2, 0, 0], list(table.group_counts('g')))


class PlacementTest(base.TestCase):

    def manager(self, driver='filter', hosts=None, **config):
        mgr = self.useFixture(fixture.Scheduler(config={
            'DEFAULT': {'scheduler_driver': driver}, **config})).manager
        mgr.update_hosts(zoned() if hosts is None else hosts)
        return mgr

    def test_six_replicas_over_three_empty_zones_land_two_two_two(self):
        for driver in DRIVERS:
            with self.subTest(driver=driver):
                mgr = self.manager(driver)
                chosen = mgr.select_destinations(
                    {'group': 'web', 'spread': {'key': 'zone',
                                                'max_skew': 1}}, count=6)
                self.assertEqual({'a': 2, 'b': 2, 'c': 2}, per_zone(chosen))
                # And the next three, one decision at a time.
                for _ in range(3):
                    mgr.select_destinations({'group': 'web', 'spread': {
                        'key': 'zone'}})
                self.assertEqual({'a': 3, 'b': 3, 'c': 3},
                                 per_zone(placed(mgr, 'web')))

    def test_spread_counts_the_containers_hosts_report(self):
        hosts = zoned()
        hosts[0]['groups'] = ['web', 'web']  # a-0 runs two
        for driver in DRIVERS:
            with self.subTest(driver=driver):
                mgr = self.manager(driver, hosts)
                chosen = mgr.select_destinations(
                    {'group': 'web', 'spread': {'key': 'zone',
                                                'max_skew': 1}}, count=4)
                self.assertEqual({'b': 2, 'c': 2}, per_zone(chosen))

    def test_anti_affinity_per_zone(self):
        hosts = zoned() + [{'id': 'bare', 'memory_mb': 10000}]
        for driver in DRIVERS:
            with self.subTest(driver=driver):
                mgr = self.manager(driver, hosts)
                request = {'group': 'db', 'group_policy': 'anti-affinity',
                           'topology_key': 'zone'}
                chosen = mgr.select_destinations(request, count=4)
                self.assertEqual(['a', 'b', 'bare', 'c'],
                                 sorted(map(zone_of, chosen)))
                # A host without the label is in no domain: it passes,
                # but never takes two.
                error = self.assertRaises(exceptions.NoValidHost,
                                          mgr.select_destinations, request)
                self.assertIn(
                    'anti_affinity 0 (anti-affinity zone: 0 of 10 hosts; '
                    'group db runs in each zone they are in)', str(error))

    def test_affinity_per_zone(self):
        hosts = zoned(memory=1000) + [{'id': 'bare', 'memory_mb': 90000}]
        for driver in DRIVERS:
            with self.subTest(driver=driver):
                mgr = self.manager(driver, hosts)
                request = {'memory_mb': 400, 'group': 'db',
                           'group_policy': 'affinity',
                           'topology_key': 'zone'}
                first = mgr.select_destinations(request)
                self.assertNotEqual('bare', first[0])  # needs the label
                chosen = mgr.select_destinations(request, count=5)
                self.assertEqual({zone_of(first[0]): 5},
                                 per_zone(chosen))
                error = self.assertRaises(exceptions.NoValidHost,
                                          mgr.select_destinations, request)
                self.assertIn(
                    f'affinity 0 (affinity zone: 0 of 7 hosts; group db '
                    f'runs in zone {zone_of(first[0])})', str(error))

    def test_topology_key_rack_and_spread_on_another_label(self):
        mgr = self.manager()
        chosen = mgr.select_destinations(
            {'group': 'g', 'group_policy': 'anti-affinity',
             'topology_key': 'rack', 'spread': {'key': 'zone'}}, count=6)
        racks = [mgr.hosts()[mgr.hosts().row_of(host_id)].labels['rack']
                 for host_id in chosen]
        self.assertEqual(6, len(set(racks)))
        self.assertEqual({'a': 2, 'b': 2, 'c': 2}, per_zone(chosen))

    def test_domains_are_those_of_the_hosts_the_other_rules_keep(self):
        hosts = zoned() + [{'id': 'd-0', 'memory_mb': 10000,
                            'labels': {'zone': 'd'}, 'enabled': False}]
        mgr = self.manager(hosts=hosts)
        # Zone d (disabled) and zone c (not ssd) are no domains.
        mgr.update_hosts([dict(host, labels=dict(host['labels'], ssd='y'))
                          for host in hosts if zone_of(host['id']) in 'ab'])
        chosen = mgr.select_destinations(
            {'labels': {'ssd': 'y'}, 'group': 'g',
             'spread': {'key': 'zone'}}, count=4)
        self.assertEqual({'a': 2, 'b': 2}, per_zone(chosen))

    def test_hosts_without_the_label_are_no_candidates(self):
        mgr = self.manager(hosts=[{'id': 'bare', 'memory_mb': 100}])
        error = self.assertRaises(
            exceptions.NoValidHost, mgr.select_destinations,
            {'group': 'g', 'spread': {'key': 'zone', 'max_skew': 1}})
        self.assertIn('spread 0 (spread zone max_skew 1: 0 of 1 hosts; no '
                      "host has label 'zone')", str(error))

    def test_a_misspelt_label_is_named_with_the_closest_one(self):
        # Even anti-affinity, which hosts without the label pass, refuses
        # a label no host has: it would hold per host, not per zone.
        mgr = self.manager()
        for rule, refusal in (
                ({'group_policy': 'anti-affinity', 'topology_key': 'zonee'},
                 'anti_affinity 0 (anti-affinity zonee: 0 of 9 hosts; '),
                ({'group_policy': 'affinity', 'topology_key': 'zonee'},
                 'affinity 0 (affinity zonee: 0 of 9 hosts; '),
                ({'spread': {'key': 'zonee'}},
                 'spread 0 (spread zonee max_skew 1: 0 of 9 hosts; ')):
            with self.subTest(rule=rule):
                error = self.assertRaises(
                    exceptions.NoValidHost, mgr.select_destinations,
                    dict(rule, group='g'))
                self.assertIn(refusal + "no host has label 'zonee' (did you "
                              "mean 'zone'?))", str(error))

    def test_an_operator_limit_removes_hosts_not_domains(self):
        # max_containers_per_host keeps zone a's only host out, but zone a
        # stays a domain (the manager checks every driver's answer by the
        # request's rules alone, and agrees).
        hosts = zoned(per_zone=1)
        hosts[0]['containers'] = 5
        mgr = self.manager(hosts=hosts, filter_scheduler={
            'max_containers_per_host': 5})
        request = {'group': 'g', 'spread': {'key': 'zone'}}
        self.assertEqual({'b': 1, 'c': 1}, per_zone(
            mgr.select_destinations(request, count=2)))
        error = self.assertRaises(exceptions.NoValidHost,
                                  mgr.select_destinations, request)
        self.assertIn('max_containers 2 (limit 5 per host), spread 0 '
                      '(spread zone max_skew 1: 0 of 2 hosts)', str(error))

    def test_the_filter_driver_refuses_what_no_enabled_filter_enforces(self):
        mgr = self.manager(filter_scheduler={'enabled_filters':
                                             'affinity,anti_affinity'})
        error = self.assertRaises(
            exceptions.InvalidRequest, mgr.select_destinations,
            {'group': 'g', 'spread': {'key': 'zone'}})
        self.assertIn('the request asks for spread but no enabled filter '
                      'enforces it', str(error))
        mgr = self.manager(filter_scheduler={'enabled_filters': 'spread'})
        error = self.assertRaises(
            exceptions.InvalidRequest, mgr.select_destinations,
            {'group': 'g', 'group_policy': 'affinity',
             'topology_key': 'zone'})
        self.assertIn('asks for affinity, topology_key but no enabled',
                      str(error))

    def test_explain_and_passed_hosts(self):
        mgr = self.manager()
        request = {'group': 'g', 'spread': {'key': 'zone'}}
        explained = mgr.explain(request, count=3)
        self.assertEqual({'a': 1, 'b': 1, 'c': 1},
                         per_zone(explained['destinations']))
        self.assertEqual(('spread', 9), explained['filter_counts'][-1])
        hosts = zoned()
        hosts[0]['groups'] = ['g']
        self.assertEqual({'b': 1, 'c': 1}, per_zone(mgr.select_destinations(
            request, hosts=hosts, count=2)))


class SharedStoreTest(base.TestCase):

    def test_a_decision_on_members_that_moved_is_made_again(self):
        # Two managers share one memory store; another's placement in the
        # group commits between one's decision and its commit, on another
        # host of the zone one chose.
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = memorybase\n')
        store = memory_store.MemoryHostStore(conf)
        one, two = (manager.SchedulerManager(conf, store=store)
                    for _ in range(2))
        self.addCleanup(one.close)
        self.addCleanup(two.close)
        one.update_hosts([{'id': 'a-0', 'memory_mb': 3000,
                           'labels': {'zone': 'a'}},
                          {'id': 'a-1', 'memory_mb': 2000,
                           'labels': {'zone': 'a'}},
                          {'id': 'b-0', 'memory_mb': 1000,
                           'labels': {'zone': 'b'}}])
        request = {'group': 'g', 'group_policy': 'anti-affinity',
                   'topology_key': 'zone'}
        commit = store.commit

        def another_first(*args):
            store.commit = commit
            self.assertEqual(['a-1'], two.select_destinations(
                dict(request, same_host=['a-1'])))
            return commit(*args)

        store.commit = another_first
        self.assertEqual(['b-0'], one.select_destinations(request))


class CommandTest(base.TestCase):

    def test_select_takes_topology_and_spread_as_json(self):
        hosts = self.write_file('hosts.json', json.dumps(zoned()))
        command = self.useFixture(base.Command())
        result = command('select', '--hosts', hosts, '--count', '6',
                         '--request', json.dumps({
                             'group': 'g', 'spread': {'key': 'zone'}}))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual({'a': 2, 'b': 2, 'c': 2},
                         per_zone(result.stdout.split()))
        for request, message in [
                ({'group': 'g', 'spread': {'key': 'zone', 'max_skew': 0}},
                 'spread: max_skew must be a whole number from 1'),
                ({'topology_key': 'zone'},
                 'topology_key needs a group_policy')]:
            result = command('select', '--hosts', hosts, '--request',
                             json.dumps(request))
            self.assertEqual(2, result.returncode)
            self.assertIn(message, result.stderr)
            self.assertNotIn('Traceback', result.stderr)
        result = command('select', '--hosts', hosts, '--count', '4',
                         '--request', json.dumps({
                             'group': 'g', 'group_policy': 'anti-affinity',
                             'topology_key': 'zone'}))
        self.assertEqual(1, result.returncode)
        self.assertIn('anti-affinity zone: 0 of 9 hosts', result.stderr)


ZONES = ('a', 'b', 'c')
host_labels = st.fixed_dictionaries(
    {}, optional={'zone': st.sampled_from(ZONES),
                  'ssd': st.sampled_from(['y', 'n'])})
hosts_strategy = st.lists(
    st.tuples(host_labels, st.booleans()), min_size=1, max_size=10).map(
        lambda drawn: [{'id': f'h{n}', 'memory_mb': 10 ** 6,
                        'labels': labels, 'enabled': enabled or n == 0}
                       for n, (labels, enabled) in enumerate(drawn)])
decision = st.tuples(
    st.sampled_from([
        {'group': 'anti', 'group_policy': 'anti-affinity',
         'topology_key': 'zone'},
        {'group': 'aff', 'group_policy': 'affinity', 'topology_key': 'zone'},
        {'group': 'spread', 'spread': {'key': 'zone', 'max_skew': 1}},
        {'group': 'wide', 'spread': {'key': 'zone', 'max_skew': 2}},
        {'group': 'ssd', 'labels': {'ssd': 'y'},
         'spread': {'key': 'zone'}},
        {'group': 'both', 'group_policy': 'anti-affinity',
         'spread': {'key': 'zone'}},
        {'group': 'mixed', 'group_policy': 'anti-affinity',
         'topology_key': 'zone', 'spread': {'key': 'ssd'}},
    ]),
    st.integers(1, 3), st.sampled_from(DRIVERS))


class PropertyTest(base.TestCase):

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(hosts_strategy, st.lists(decision, max_size=8))
    def test_no_decision_breaks_a_rule(self, hosts, decisions):
        # Each placement is checked against the rules' definitions on the
        # state before it (the picks of its own decision included); a
        # single placement is refused only when no host is allowed.
        managers = {}
        for request, count, driver in decisions:
            if driver not in managers:
                managers[driver] = mgr = self.useFixture(fixture.Scheduler(
                    config={'DEFAULT': {'scheduler_driver': driver}}
                )).manager
                mgr.update_hosts(hosts)
            mgr = managers[driver]
            members = placed(mgr, request['group'])
            try:
                chosen = mgr.select_destinations(request, count=count)
            except exceptions.NoValidHost:
                if count == 1:
                    candidates = [host for host in hosts if other_rules(
                        host, hosts, members, request)]
                    self.assertEqual([], [
                        host['id'] for host in candidates if allowed(
                            host, hosts, members, request, candidates)])
                continue
            by_id = {host['id']: host for host in hosts}
            for host_id in chosen:
                candidates = [host for host in hosts if other_rules(
                    host, hosts, members, request)]
                self.assertIn(by_id[host_id], candidates)
                self.assertTrue(allowed(by_id[host_id], hosts, members,
                                        request, candidates),
                                (host_id, dict(members)))
                members[host_id] += 1


RULES = [{'group_policy': 'anti-affinity', 'topology_key': 'zone'},
         {'group_policy': 'affinity', 'topology_key': 'zone'},
         {'spread': {'key': 'zone', 'max_skew': 1}},
         {'spread': {'key': 'zone', 'max_skew': 2}}]


class EtcdTest(test_etcd_store.EtcdStoreTestCase):

    def setUp(self):
        super().setUp()
        self.one, self.two = self.manager(), self.manager()

    def report(self, hosts):
        self.one.update_hosts(hosts)
        test_etcd_store.settle(lambda: all(
            {host.id: dict(host.labels) for host in mgr.hosts()}.items() >=
            {host['id']: host.get('labels', {}) for host in hosts}.items()
            for mgr in (self.one, self.two)))

    def test_two_managers_and_the_command_agree(self):
        self.report(zoned())
        request = {'group': 'g', 'spread': {'key': 'zone'}}
        self.one.select_destinations(request, count=2)
        self.two.select_destinations(request, count=4)
        test_etcd_store.settle(lambda: len(self.one.claims()) == 6)
        self.assertEqual({'a': 2, 'b': 2, 'c': 2},
                         per_zone(placed(self.one, 'g')))
        result = self.useFixture(base.Command())(
            '--config-file', self.conf_file(), 'select', '--request',
            json.dumps({'group': 'h', 'group_policy': 'anti-affinity',
                        'topology_key': 'zone'}))
        self.assertEqual(0, result.returncode, result.stderr)

    def test_a_stale_view_never_breaks_spread_or_anti_affinity(self):
        # two's watch is held back: it decides on a view without one's
        # placements, and must decide again once it sees them.
        self.report(zoned(per_zone=2))
        for request in ({'group': 'anti', 'group_policy': 'anti-affinity',
                         'topology_key': 'zone'},
                        {'group': 'spread', 'spread': {'key': 'zone'}}):
            with self.subTest(request=request):
                gate = self.hold_watch(self.two)
                self.one.select_destinations(request, count=2)
                threading.Timer(0.3, gate.set).start()
                self.two.select_destinations(request)
                self.assertEqual({'a': 1, 'b': 1, 'c': 1},
                                 per_zone(self.placed(request['group'], 3)))

    def placed(self, group, count):
        """What one sees of *group* once it sees *count* placements."""
        test_etcd_store.settle(
            lambda: sum(placed(self.one, group).values()) == count)
        return placed(self.one, group)

    def test_a_report_moving_a_member_to_another_zone_beats_a_decision(self):
        # a-0 runs the group's only container; one reports a-0 moved to
        # zone b while two, which has not seen that, places another: it
        # would choose zone b, where the container now is.
        self.report([{'id': 'a-0', 'memory_mb': 100,
                      'labels': {'zone': 'a'}},
                     {'id': 'a-1', 'memory_mb': 100,
                      'labels': {'zone': 'a'}},
                     {'id': 'b-0', 'memory_mb': 1000,
                      'labels': {'zone': 'b'}}])
        request = {'group': 'g', 'group_policy': 'anti-affinity',
                   'topology_key': 'zone'}
        self.assertEqual(['a-0'], self.one.select_destinations(
            dict(request, same_host=['a-0'])))
        test_etcd_store.settle(lambda: len(self.two.claims()) == 1)
        gate = self.hold_watch(self.two)
        self.one.update_hosts([{'id': 'a-0', 'memory_mb': 100,
                                'labels': {'zone': 'b'}}])
        threading.Timer(0.3, gate.set).start()
        self.assertEqual(['a-1'], self.two.select_destinations(request))

    def test_a_report_moving_a_host_waits_for_claims_it_has_not_seen(self):
        # two claims on a-0 in group g; one, whose watch has not shown the
        # claim, reports a-0 in another zone: the report must rewrite g's
        # version key, so it waits to see the claim.
        self.report([{'id': 'a-0', 'memory_mb': 1000,
                      'labels': {'zone': 'a'}}])
        gate = self.hold_watch(self.one)
        self.two.select_destinations({'group': 'g', 'spread': {
            'key': 'zone'}})
        threading.Timer(0.3, gate.set).start()
        self.one.update_hosts([{'id': 'a-0', 'memory_mb': 1000,
                                'labels': {'zone': 'b'}}])
        client, prefix = self.etcd.client, self.etcd.prefix
        _, [group] = client.range(f'{prefix}/versions-of-groups/g')
        _, [report] = client.range(f'{prefix}/hosts/a-0')
        self.assertEqual(report.mod_revision, group.mod_revision)

    @hypothesis.settings(max_examples=8, deadline=None)
    @hypothesis.given(st.sampled_from(RULES),
                      st.lists(st.integers(1, 3), min_size=2, max_size=6))
    def test_racing_managers_never_break_a_rule(self, rule, counts):
        # Both managers place replicas of one group at once, from threads;
        # the claims they made are checked against the rule.
        if not self.one.hosts():
            self.report(zoned(per_zone=2) + [{'id': 'bare',
                                              'memory_mb': 10 ** 6}])
        # A group of its own, even when hypothesis runs an example again.
        request = dict(rule, group=uuid.uuid4().hex)
        errors, made = [], []

        def place(mgr, counts):
            for count in counts:
                try:
                    made.extend(mgr.select_destinations(request,
                                                        count=count))
                except exceptions.NoValidHost:
                    pass
                except Exception as error:  # asserted below
                    errors.append(error)

        threads = [threading.Thread(target=place, args=(mgr, counts[n::2]))
                   for n, mgr in enumerate((self.one, self.two))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        members = self.placed(request['group'], len(made))
        zones = per_zone(host_id for host_id in members.elements()
                         if host_id != 'bare')
        if 'spread' in rule:
            self.assertLessEqual(max(zones.get(zone, 0) for zone in 'abc') -
                                 min(zones.get(zone, 0) for zone in 'abc'),
                                 rule['spread']['max_skew'])
            self.assertNotIn('bare', members)
        elif rule['group_policy'] == 'anti-affinity':
            self.assertLessEqual(max(zones.values(), default=0), 1)
            self.assertLessEqual(members['bare'], 1)
        else:
            self.assertLessEqual(len(zones), 1)
            self.assertNotIn('bare', members)
