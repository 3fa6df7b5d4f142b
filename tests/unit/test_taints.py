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

"""Taints on hosts and tolerations on requests, in every layer."""

import json

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import filtering
from sora.scheduler import fixture
from sora.scheduler import host_state
from sora.scheduler import live_index
from sora.scheduler import live_table
from sora.scheduler import request as sora_request
from sora.scheduler.stores.etcd import codec
from sora.scheduler import taints
from tests import base
from tests.unit import test_etcd_store
from tests.unit import test_resources

GPU = {'key': 'dedicated', 'value': 'gpu', 'effect': 'no_schedule'}
SPOT = {'key': 'spot', 'effect': 'prefer_no_schedule'}
HOSTS = [{'id': 'gpu1', 'memory_mb': 4000, 'taints': [GPU]},
         {'id': 'spot1', 'memory_mb': 3000, 'taints': [SPOT]},
         {'id': 'plain', 'memory_mb': 1000}]


report = test_resources.report


class ReportTest(base.TestCase):

    BAD = [
        ('x', 'taints must be a list such as [{"key": "dedicated", '
              '"value": "gpu", "effect": "no_schedule"}], got '
              "'x' (a string)"),
        ({'key': 'a'}, 'taints must be a list such as'),
        (['a'], 'taint 0: expected an object (mapping), got '
                "'a' (a string)"),
        ([{'key': 'a'}], 'taint 0: effect must be one of no_schedule, '
                         'prefer_no_schedule, got None (null)'),
        ([{'key': 'a', 'effect': 'NoSchedule'}], "got 'NoSchedule'"),
        ([{'effect': 'no_schedule'}], 'taint 0: key must be a non-empty '
                                      'string, got none (missing or null)'),
        ([{'key': '', 'effect': 'no_schedule'}], 'key must be a non-empty'),
        ([{'key': 'a', 'value': 1, 'effect': 'no_schedule'}],
         'taint 0: value must be a string, got 1 (a number)'),
        ([GPU, {'key': 'a', 'effect': 'no_schedule', 'op': 'equal'}],
         "taint 1: unknown field 'op'; accepted fields: key, value, "
         'effect'),
        ([{'key': '\ud800', 'effect': 'no_schedule'}],
         'key is not Unicode text'),
        ([dict(GPU, key=f'k{n}') for n in range(33)],
         'taints lists 33, more than the 32 accepted'),
    ]

    def test_bad_taints_name_host_taint_and_what_is_accepted(self):
        for value, message in self.BAD:
            test_resources.assert_refused_on_every_path(
                self, {'taints': value}, message)

    def test_a_bad_report_changes_nothing(self):
        mgr = self.useFixture(fixture.Scheduler()).manager
        mgr.update_hosts([report('a', taints=[GPU])])
        before = [host.to_dict() for host in mgr.hosts()]
        for value, _ in self.BAD:
            with self.subTest(value=value):
                self.assertRaises(exceptions.InvalidHostData,
                                  mgr.update_hosts,
                                  [report('a', taints=[SPOT]),
                                   report('b', taints=value)])
                self.assertEqual(before,
                                 [host.to_dict() for host in mgr.hosts()])

    def test_every_parser_path_reads_taints_alike(self):
        # Row by row, column by column, checked (Host objects), and the
        # etcd codec; equal sets are one shared tuple, in sorted order.
        reports = [report(f'h{n:03}', taints=[SPOT, GPU][:n % 3])
                   for n in range(host_state.BULK)]
        bulk = host_state.parse_reports(reports)
        one_by_one = host_state.Reports.joined(
            [host_state.parse_reports([item]) for item in reports])
        checked = host_state.parse_reports(list(bulk.table()))
        self.assertEqual(bulk, one_by_one)
        self.assertEqual(bulk, checked)
        self.assertIs(bulk.taints[2], one_by_one.taints[5])
        self.assertEqual([(), ('spot:prefer_no_schedule',),
                          ('dedicated=gpu:no_schedule',
                           'spot:prefer_no_schedule')],
                         [tuple(map(str, found)) for found in bulk.taints[:3]])
        self.assertEqual([SPOT], bulk.to_dicts()[1]['taints'])
        self.assertNotIn('taints', bulk.to_dicts()[0])
        stored = codec.report_record(bulk, 2, 0.0)
        self.assertEqual(bulk.part(2, 3), codec.decode_report(
            'h002', json.loads(json.dumps(stored)))[0])

    def test_a_stored_report_with_bad_taints_is_not_a_report(self):
        record = codec.report_record(host_state.parse_reports(
            [report('a')]), 0, 0.0)
        for value in ('x', [{'key': 'a', 'effect': 'sometimes'}], [1]):
            with self.subTest(value=value):
                self.assertRaises(codec.FOREIGN, codec.decode_report, 'a',
                                  dict(record, taints=value))

    def test_tables_show_taints_and_omit_none(self):
        gpu1, plain, spot1 = host_state.parse_hosts(HOSTS)  # by id
        self.assertEqual([GPU], gpu1.to_dict()['taints'])
        self.assertEqual([SPOT], spot1.to_dict()['taints'])
        self.assertNotIn('taints', plain.to_dict())
        self.assertEqual((), plain.taints)


class RequestTest(base.TestCase):

    def test_bad_tolerations_are_refused_saying_what_is_accepted(self):
        cases = [
            ('dedicated', 'tolerations must be a list such as [{"key": '
                          '"dedicated", "op": "equal", "value": "gpu"}]'),
            ([{'op': 'exists'}], 'toleration 0: key must be a non-empty '
                                 'string, got none (missing or null)'),
            ([{'key': 'a', 'op': 'Equal'}], 'toleration 0: op must be one '
                                            "of equal, exists, got 'Equal'"),
            ([{'key': 'a', 'op': 'exists', 'value': 'x'}],
             'toleration 0: exists takes no value (it tolerates any)'),
            ([{'key': 'a', 'effect': 'no_execute'}],
             'toleration 0: effect must be one of no_schedule, '
             "prefer_no_schedule (or none, for both), got 'no_execute'"),
            ([{'key': 'a', 'value': ['gpu']}], 'value must be a string'),
            ([{'key': 'a', 'tolerationSeconds': 5}],
             "unknown field 'tolerationSeconds'; accepted fields: key, op, "
             'value, effect'),
            ([{'key': 'a'}] * 33, 'tolerations lists 33, more than the 32'),
        ]
        for tolerations, message in cases:
            with self.subTest(tolerations=tolerations):
                error = self.assertRaises(
                    exceptions.InvalidRequest, sora_request.parse_request,
                    {'tolerations': tolerations})
                self.assertTrue(str(error).startswith('request: '))
                self.assertIn(message, str(error))

    def test_tolerations_read_back_as_given(self):
        given = [{'key': 'dedicated', 'op': 'equal', 'value': 'gpu'},
                 {'key': 'spot', 'op': 'exists',
                  'effect': 'prefer_no_schedule'}]
        request = sora_request.parse_request({'tolerations': given})
        self.assertEqual(given, request.to_dict()['tolerations'])
        self.assertEqual(request, sora_request.parse_request(request))
        self.assertEqual(['dedicated=gpu:*', 'spot:prefer_no_schedule'],
                         [str(toleration)
                          for toleration in request.tolerations])


TAINT = st.builds(taints.Taint, st.sampled_from(['a', 'b']),
                  st.sampled_from(['', 'x', 'y']), st.sampled_from(
                      taints.EFFECTS))
TOLERATION = st.one_of(
    st.fixed_dictionaries({'key': st.sampled_from(['a', 'b']),
                           'value': st.sampled_from(['x', 'y'])},
                          optional={'effect': st.sampled_from(
                              taints.EFFECTS)}),
    st.fixed_dictionaries({'key': st.sampled_from(['a', 'b']),
                           'op': st.just('exists')},
                          optional={'effect': st.sampled_from(
                              taints.EFFECTS)}))


def tolerated(taint, tolerations):
    """What a toleration means, written plainly."""
    return any(given['key'] == taint.key
               and (given.get('op') == 'exists'
                    or given.get('value', '') == taint.value)
               and given.get('effect', taint.effect) == taint.effect
               for given in tolerations)


class MeaningTest(base.TestCase):

    @hypothesis.given(st.lists(st.lists(TAINT, max_size=3), min_size=1,
                               max_size=6),
                      st.lists(st.tuples(st.integers(0, 5),
                                         st.lists(TAINT, max_size=2)),
                               max_size=6),
                      st.lists(TOLERATION, max_size=3))
    def test_hosts_refused_and_avoided_are_what_the_taints_say(
            self, first, later, tolerations):
        # On a parsed table, and on snapshots of the tracked hosts whose
        # taint codes are given back and taken again as hosts change.
        self.patch(live_index, 'rebase_after', lambda size: 1000)
        request = sora_request.parse_request({'tolerations': tolerations})
        live = live_table.LiveTable()
        reports = [report(f'h{n}', taints=[taint.to_dict()
                                           for taint in host])
                   for n, host in enumerate(first)]
        live.update(host_state.parse_reports(reports))
        old, old_reports = live.snapshot(), list(reports)
        for step, (n, host) in enumerate(later):
            listed = [taint.to_dict() for taint in host]
            if n < len(reports):
                reports[n] = dict(reports[n], taints=listed)
            elif n % 2 and reports:
                live.remove(reports.pop()['id'])
                continue
            else:  # in the slot of a removed host, if any
                n = len(reports)
                reports.append(report(f'new{step}', taints=listed))
            live.update(host_state.parse_reports([reports[n]]))
        for table, given in ((host_state.parse_hosts(reports), reports),
                             (live.snapshot(), reports),
                             (old, old_reports)):
            expected = {}
            for item in given:
                kept_off = [taints.Taint(**dict({'value': ''}, **taint))
                            for taint in item['taints']]
                expected[item['id']] = tuple(
                    any(taint.effect == effect and not tolerated(
                        taint, tolerations) for taint in kept_off)
                    for effect in taints.EFFECTS)
            found = {}
            for effect in taints.EFFECTS:
                mask = taints.refused(table, request.tolerations, effect)
                for row, host_id in enumerate(table.ids):
                    found.setdefault(host_id, ())
                    found[host_id] += (bool(mask is not None and mask[row]),)
            self.assertEqual(expected, found)
            self.assertEqual(
                {item['id']: sorted(set(map(str, (taints.Taint(
                    **dict({'value': ''}, **taint))
                    for taint in item['taints']))))
                 for item in given},
                {host.id: sorted(map(str, host.taints)) for host in table})

    def test_a_code_no_host_holds_is_given_to_the_next_new_set(self):
        live = live_table.LiveTable()
        live.update(host_state.parse_reports([report('a', taints=[GPU]),
                                              report('b', taints=[GPU])]))
        self.assertEqual(3, len(set(live.snapshot().taint_sets) | {None}))
        live.remove('a')
        live.update(host_state.parse_reports([report('b', taints=[SPOT])]))
        # GPU's code is free again, and SPOT took the next one.
        spot = taints.Taint('spot', '', 'prefer_no_schedule')
        self.assertEqual(((), None, (spot,)), live.snapshot().taint_sets)
        live.update(host_state.parse_reports([report('c', taints=[GPU])]))
        table = live.snapshot()
        self.assertEqual([1, 2], [int(table.taint_set[row])
                                  for row in table.rows_of(['c', 'b'])])


class PlacementTest(base.TestCase):

    def manager(self, driver='filter'):
        return self.useFixture(fixture.Scheduler(config={
            'DEFAULT': {'scheduler_driver': driver}})).manager

    def test_every_driver_keeps_off_hosts_whose_taints_it_does_not_accept(
            self):
        # (request, where a small container may go, the first of them
        # having the most memory, where one that fits only on gpu1 and
        # spot1 goes)
        cases = [
            ({}, ['plain'], 'spot1'),
            ({'tolerations': [{'key': 'dedicated', 'value': 'gpu'}]},
             ['gpu1', 'plain'], 'gpu1'),
            ({'tolerations': [{'key': 'dedicated', 'op': 'exists',
                               'effect': 'no_schedule'}]},
             ['gpu1', 'plain'], 'gpu1'),
            # The wrong value, or the other effect, accepts nothing.
            ({'tolerations': [{'key': 'dedicated', 'value': 'cpu'}]},
             ['plain'], 'spot1'),
            ({'tolerations': [{'key': 'dedicated', 'op': 'exists',
                               'effect': 'prefer_no_schedule'}]},
             ['plain'], 'spot1'),
            ({'tolerations': [{'key': 'spot', 'op': 'exists'}]},
             ['spot1', 'plain'], 'spot1'),
        ]
        for driver in ('filter', 'memorybase', 'randombase'):
            mgr = self.manager(driver)
            mgr.update_hosts(HOSTS)
            for request, small, large in cases:
                with self.subTest(driver=driver, request=request):
                    chosen = mgr.select_destinations(
                        dict(request, memory_mb=500), dry_run=True)[0]
                    self.assertIn(chosen, small)
                    if driver != 'randombase':
                        self.assertEqual(small[0], chosen)
                    self.assertEqual([large], mgr.select_destinations(
                        dict(request, memory_mb=2000), dry_run=True))

    def test_avoided_hosts_are_used_once_the_others_are_full(self):
        for driver in ('filter', 'memorybase', 'randombase'):
            with self.subTest(driver=driver):
                mgr = self.manager(driver)
                mgr.update_hosts(HOSTS)
                self.assertEqual(['plain', 'plain', 'spot1'],
                                 mgr.select_destinations(
                                     {'memory_mb': 500}, count=3))

    def test_no_valid_host_names_the_taints_that_kept_hosts_off(self):
        mgr = self.manager()
        mgr.update_hosts(HOSTS + [{'id': 'gpu2', 'memory_mb': 4000,
                                   'taints': [GPU, dict(SPOT, key='x')]}])
        error = self.assertRaises(
            exceptions.NoValidHost, mgr.select_destinations,
            {'memory_mb': 3500})
        self.assertIn('memory 2 (needs 3500 MB), taints 0 (taint '
                      'dedicated=gpu:no_schedule: 2 hosts)', str(error))

    def test_explain_says_how_many_hosts_were_avoided(self):
        mgr = self.manager()
        mgr.update_hosts(HOSTS)
        explanation = mgr.explain({'memory_mb': 500}, count=1)
        self.assertEqual(1, explanation['avoided'])
        self.assertEqual(['plain'], [entry['id'] for entry
                                     in explanation['ranking']])
        self.assertEqual(['plain'], explanation['destinations'])

    def test_preferred_keeps_every_host_when_all_would_be_avoided(self):
        hosts = host_state.parse_hosts(HOSTS[1:2])
        request = sora_request.parse_request({})
        mask = hosts.enabled.copy()
        self.assertIs(mask, filtering.preferred(hosts, request, mask))


class CommandTest(test_etcd_store.EtcdStoreTestCase):
    """Two managers on one etcd, and the operator's command."""

    def test_taints_are_shared_and_shown(self):
        first, second = self.manager(), self.manager()
        first.update_hosts(HOSTS)
        test_etcd_store.settle(lambda: len(second.hosts()) == 3)
        self.assertEqual([[GPU], [SPOT], None],
                         [host.to_dict().get('taints')
                          for host in second.hosts()])
        self.assertEqual(['gpu1'], second.select_destinations(
            {'memory_mb': 500, 'tolerations': [{'key': 'dedicated',
                                                'op': 'exists'}]},
            dry_run=True))
        command = self.useFixture(base.Command())
        config = self.conf_file()
        result = command('--config-file', config, 'hosts')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(
            ['TAINTS', 'dedicated=gpu:no_schedule', 'plain',
             'spot:prefer_no_schedule'],
            sorted(line.split()[-1] if not line.startswith('plain')
                   else 'plain' for line in result.stdout.splitlines()))
        result = command('--config-file', config, 'select', '--dry-run',
                         '--explain', '--request', json.dumps(
                             {'memory_mb': 500}))
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('# 1 of them avoided: a prefer_no_schedule taint the '
                      'request does not tolerate', result.stdout)
        self.assertEqual('plain', result.stdout.splitlines()[-1])
        result = command('--config-file', config, 'select', '--dry-run',
                         '--request', json.dumps({'tolerations': [
                             {'key': 'dedicated', 'op': 'any'}]}))
        self.assertEqual(2, result.returncode)
        self.assertIn("op must be one of equal, exists, got 'any'",
                      result.stderr)
        self.assertNotIn('Traceback', result.stderr)
