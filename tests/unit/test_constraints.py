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


"""Constraints: label rules with operators, checked column by column."""

import json
import math

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import host_state
from sora.scheduler import live_index
from sora.scheduler import live_table
from sora.scheduler import request as sora_request
from tests import base
from tests.unit import test_etcd_store

VALUES = ('az1', 'az2', '8', '16', '-1', '1e3', 'inf', 'x')
labels = st.dictionaries(st.sampled_from(['zone', 'size']),
                         st.sampled_from(VALUES))
rule = st.one_of(
    st.fixed_dictionaries({'key': st.sampled_from(['zone', 'size', 'no']),
                           'op': st.sampled_from(['in', 'not_in']),
                           'values': st.lists(st.sampled_from(VALUES),
                                              min_size=1, max_size=3)}),
    st.fixed_dictionaries({'key': st.sampled_from(['zone', 'size', 'no']),
                           'op': st.sampled_from(['exists', 'not_exists'])}),
    st.fixed_dictionaries({'key': st.sampled_from(['zone', 'size', 'no']),
                           'op': st.sampled_from(['gt', 'lt']),
                           'values': st.sampled_from(
                               [['8'], ['10'], ['-2'], ['1e3']])}))


def passes(host_labels, rule):
    """What a rule means, host by host, written plainly."""
    value = host_labels.get(rule['key'])
    if rule['op'] == 'exists':
        return value is not None
    if rule['op'] == 'not_exists':
        return value is None
    if rule['op'] == 'in':
        return value in rule['values']
    if rule['op'] == 'not_in':
        return value not in rule['values']
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if not math.isfinite(number):
        return False
    limit = float(rule['values'][0])
    return number > limit if rule['op'] == 'gt' else number < limit


class MaskTest(base.TestCase):

    @hypothesis.given(st.lists(labels, min_size=1, max_size=8),
                      st.lists(labels, max_size=4),
                      st.lists(rule, min_size=1, max_size=3))
    def test_masks_mean_what_the_rules_say(self, first, later, rules):
        # On a parsed table, and on snapshots of the tracked hosts whose
        # lookups are an earlier base corrected for changed hosts.
        self.patch(live_index, 'rebase_after', lambda size: 1000)
        request = sora_request.parse_request({'constraints': rules})
        live = live_table.LiveTable()
        reports = [{'id': f'h{n}', 'memory_mb': 1, 'labels': host}
                   for n, host in enumerate(first)]
        live.update(host_state.parse_reports(reports))
        live.snapshot()
        for n, host in enumerate(later):
            n %= len(reports)
            reports[n] = dict(reports[n], labels=host)
            live.update(host_state.parse_reports([reports[n]]))
        for table in (host_state.parse_hosts(reports), live.snapshot()):
            expected = {report['id'] for report in reports
                        if all(passes(report['labels'], rule)
                               for rule in rules)}
            mask = None
            for constraint in request.constraints:
                passed = constraint.mask(table)
                mask = passed if mask is None else mask & passed
            self.assertEqual(expected, {table.ids[row] for row, ok
                                        in enumerate(mask) if ok})


class ParseTest(base.TestCase):

    def test_bad_rules_say_what_is_accepted(self):
        cases = [
            ({'key': 'zone'}, 'constraints must be a list of rules such '
                              'as {"key": "zone", "op": "in", "values": '
                              '["az1"]}'),
            ([{'key': 'zone', 'op': 'gte', 'values': ['1']}],
             'constraint 0: op must be one of in, not_in, exists, '
             "not_exists, gt, lt, got 'gte' (a string)"),
            ([{'key': 'zone', 'op': 'in'}],
             'constraint 0: in needs values: a list of label values'),
            ([{'key': 'zone', 'op': 'in', 'values': []}],
             'constraint 0: in needs values'),
            ([{'key': 'zone', 'op': 'exists', 'values': ['a']}],
             "exists takes no values, got ['a'] (a list)"),
            ([{'key': 'size', 'op': 'gt', 'values': ['big']}],
             'gt takes one number (as a string, e.g. ["16"]), got '
             "['big'] (a list)"),
            ([{'key': 'size', 'op': 'lt', 'values': ['1', '2']}],
             'lt takes one number'),
            ([{'key': 'size', 'op': 'lt', 'values': ['nan']}],
             'lt takes one number'),
            ([{'op': 'in', 'values': ['a']}],
             'constraint 0: key must be a non-empty string, '
             'got none (missing or null)'),
            ([{'key': 'zone', 'op': 'in', 'values': 'az1'}],
             "values must be a list of strings, got 'az1'"),
            ([{'key': 'zone', 'op': 'in', 'values': ['a'], 'value': 1}],
             "constraint 0: unknown field 'value'; accepted fields: key, "
             'op, values'),
            (['zone in az1'], 'constraint 0: expected an object'),
        ]
        for constraints, message in cases:
            with self.subTest(constraints=constraints):
                error = self.assertRaises(
                    exceptions.InvalidRequest, sora_request.parse_request,
                    {'constraints': constraints})
                self.assertTrue(str(error).startswith('request: '))
                self.assertIn(message, str(error))

    def test_rules_read_back_as_given(self):
        rules = [{'key': 'zone', 'op': 'not_in', 'values': ['az3']},
                 {'key': 'ssd', 'op': 'exists'},
                 {'key': 'size', 'op': 'gt', 'values': ['8']}]
        request = sora_request.parse_request({'constraints': rules})
        self.assertEqual(rules, request.to_dict()['constraints'])
        self.assertEqual(request, sora_request.parse_request(request))
        self.assertEqual(['zone not_in az3', 'ssd exists', 'size gt 8'],
                         [str(rule) for rule in request.constraints])


HOSTS = [{'id': 'a', 'memory_mb': 100, 'labels': {'zone': 'az1',
                                                  'gpu_mem': '16'}},
         {'id': 'b', 'memory_mb': 200, 'labels': {'zone': 'az2',
                                                  'gpu_mem': 'many'}},
         {'id': 'c', 'memory_mb': 300, 'labels': {'zone': 'az3'}}]
CASES = [
    ({'key': 'zone', 'op': 'in', 'values': ['az1', 'az2']}, 'b'),
    ({'key': 'zone', 'op': 'not_in', 'values': ['az3']}, 'b'),
    ({'key': 'gpu_mem', 'op': 'exists'}, 'b'),
    ({'key': 'gpu_mem', 'op': 'not_exists'}, 'c'),
    ({'key': 'gpu_mem', 'op': 'gt', 'values': ['8']}, 'a'),
    ({'key': 'missing', 'op': 'not_in', 'values': ['x']}, 'c'),
]


class PlacementTest(base.TestCase):

    def test_every_driver_honours_every_operator(self):
        for driver in ('filter', 'memorybase', 'randombase'):
            mgr = self.useFixture(fixture.Scheduler(config={
                'DEFAULT': {'scheduler_driver': driver}})).manager
            mgr.update_hosts(HOSTS)
            for rule, chosen in CASES:
                with self.subTest(driver=driver, rule=rule):
                    hosts = mgr.select_destinations(
                        {'constraints': [rule]}, dry_run=True)
                    if driver == 'randombase':
                        self.assertEqual(1, len(hosts))
                    else:
                        self.assertEqual([chosen], hosts)

    def test_no_valid_host_names_the_rule_that_removed_the_last_hosts(self):
        mgr = self.useFixture(fixture.Scheduler()).manager
        mgr.update_hosts(HOSTS)
        error = self.assertRaises(
            exceptions.NoValidHost, mgr.select_destinations,
            {'memory_mb': 150, 'constraints': [
                {'key': 'zone', 'op': 'not_in', 'values': ['az3']},
                {'key': 'gpu_mem', 'op': 'lt', 'values': ['32']}]})
        self.assertIn('memory 2 (needs 150 MB), constraints 0 (gpu_mem lt '
                      '32: 0 of 1 hosts)', str(error))

    def test_the_filter_driver_refuses_rules_no_enabled_filter_enforces(self):
        mgr = self.useFixture(fixture.Scheduler(config={
            'DEFAULT': {'scheduler_driver': 'filter'},
            'filter_scheduler': {'enabled_filters': 'labels'}})).manager
        mgr.update_hosts(HOSTS)
        error = self.assertRaises(
            exceptions.InvalidRequest, mgr.select_destinations,
            {'constraints': [CASES[0][0]]})
        self.assertIn('the request asks for constraints but no enabled '
                      'filter enforces it', str(error))


class EtcdTest(test_etcd_store.EtcdStoreTestCase):

    def test_two_managers_and_the_command_agree(self):
        first, second = self.manager(), self.manager()
        first.update_hosts(HOSTS)
        test_etcd_store.settle(lambda: len(second.hosts()) == 3)
        for rule, chosen in CASES:
            with self.subTest(rule=rule):
                self.assertEqual([chosen], second.select_destinations(
                    {'constraints': [rule]}, dry_run=True))
        result = self.useFixture(base.Command())(
            '--config-file', self.conf_file(), 'select', '--dry-run',
            '--request', json.dumps({'constraints': [CASES[4][0]]}))
        self.assertEqual((0, 'a\n'), (result.returncode, result.stdout))
        result = self.useFixture(base.Command())(
            '--config-file', self.conf_file(), 'select', '--dry-run',
            '--request', json.dumps({'constraints': [
                {'key': 'zone', 'op': 'within', 'values': ['az1']}]}))
        self.assertEqual(2, result.returncode)
        self.assertIn("op must be one of in, not_in, exists, not_exists, "
                      "gt, lt, got 'within'", result.stderr)
        self.assertNotIn('Traceback', result.stderr)
