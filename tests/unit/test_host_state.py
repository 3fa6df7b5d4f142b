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

import copy
import dataclasses
import json
import math
import operator

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import hosts_file
from sora.scheduler import report_columns
from sora.scheduler import request as sora_request
from sora.scheduler import units
from sora.scheduler import validate
from tests import base

_VALID = st.one_of(st.none(), st.integers(0, 2 ** 20), st.floats(0, 1e6),
                   st.sampled_from([0.1, 0.3, 0.1 + 0.2, 2.5, 1e-12]))
NUMBERS = st.one_of(_VALID, _VALID, _VALID, _VALID, st.integers(-1, 2 ** 60),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.just('1'))
FULL_HOST = {"id": "node-1", "memory_mb": 2048, "memory_total_mb": 8192,
             "cpus": 3.5, "cpus_total": 8, "disk_gb": 120, "containers": 7,
             "labels": {"zone": "az1", "ssd": "true"}, "groups": ["web"],
             "enabled": True}


class ParseHostsTest(base.TestCase):

    def test_full_host_reads_back_through_attributes(self):
        host = host_state.parse_hosts([FULL_HOST])[0]
        self.assertEqual('node-1', host.id)
        self.assertEqual(2048, host.memory_mb)
        self.assertEqual(8192, host.memory_total_mb)
        self.assertEqual(3.5, host.cpus)
        self.assertEqual(8, host.cpus_total)
        self.assertEqual(120, host.disk_gb)
        self.assertEqual(7, host.containers)
        self.assertEqual({'zone': 'az1', 'ssd': 'true'}, dict(host.labels))
        self.assertEqual(('web',), host.groups)
        self.assertIs(True, host.enabled)
        self.assertEqual(FULL_HOST, host.to_dict())

    def test_defaults_of_a_memory_only_host(self):
        host = host_state.parse_hosts([{'id': 'a', 'memory_mb': 512}])[0]
        self.assertEqual(512, host.memory_total_mb)
        self.assertEqual(math.inf, host.cpus)
        self.assertEqual(math.inf, host.cpus_total)
        self.assertEqual(math.inf, host.disk_gb)
        self.assertEqual(0, host.containers)
        self.assertEqual({}, dict(host.labels))
        self.assertEqual((), host.groups)
        self.assertIs(True, host.enabled)
        self.assertEqual({'id': 'a', 'memory_mb': 512, 'memory_total_mb': 512,
                          'containers': 0, 'labels': {}, 'groups': [],
                          'enabled': True}, host.to_dict())

    def test_cpus_total_defaults_to_cpus(self):
        host = host_state.parse_hosts([{'id': 'a', 'memory_mb': 1,
                                        'cpus': 2}])[0]
        self.assertEqual(2, host.cpus_total)

    def test_null_optional_field_means_not_reported(self):
        host = host_state.parse_hosts([{'id': 'a', 'memory_mb': 1,
                                        'disk_gb': None}])[0]
        self.assertEqual(math.inf, host.disk_gb)

    def test_hosts_wrapper_object_and_generator(self):
        table = host_state.parse_hosts({'hosts': [FULL_HOST]})
        self.assertEqual(('node-1',), table.ids)
        table = host_state.parse_hosts(dict(FULL_HOST, id=str(i))
                                       for i in range(3))
        self.assertEqual(('0', '1', '2'), table.ids)

    def test_table_is_sorted_by_id_and_indexes_rows(self):
        table = host_state.parse_hosts(
            [{'id': name, 'memory_mb': n} for n, name in
             enumerate(['c', 'a', 'b'])])
        self.assertEqual(('a', 'b', 'c'), table.ids)
        self.assertEqual([1, 2, 0], list(table.memory_mb))
        self.assertEqual(2, table.row_of('c'))
        self.assertRaises(KeyError, table.row_of, 'zz')
        self.assertEqual(['a', 'b', 'c'], [host.id for host in table])
        self.assertEqual(['b', 'c'], [host.id for host in table[1:]])

    def test_table_and_host_objects_are_read_only(self):
        table = host_state.parse_hosts([FULL_HOST])
        self.assertRaises(ValueError, table.memory_mb.__setitem__, 0, 1)
        host = table[0]
        self.assertRaises(AttributeError, setattr, host, 'memory_mb', 1)
        self.assertRaises(TypeError, operator.setitem, host.labels, 'z', 'x')

    def test_a_table_or_host_objects_are_accepted_as_they_are(self):
        table = host_state.parse_hosts([FULL_HOST])
        self.assertIs(table, host_state.parse_hosts(table))
        self.assertEqual(table[0], host_state.parse_hosts(list(table))[0])

    def test_input_is_not_mutated(self):
        hosts = [dict(FULL_HOST, labels=dict(FULL_HOST['labels'])),
                 {'id': 'b', 'memory_mb': 1}]
        before = copy.deepcopy(hosts)
        host_state.parse_hosts(hosts)
        self.assertEqual(before, hosts)

    def test_bad_hosts_name_position_id_and_field(self):
        good = {'id': 'n', 'memory_mb': 1}
        cases = [
            ('x', 'hosts must be a list'),
            ({'nodes': []}, 'hosts must be a list'),
            (5, 'hosts must be a list'),
            ([5], "host 0: expected an object"),
            ([{}], "host 0: id must be a non-empty string, got none "
                   "(missing or null)"),
            ([{'id': ''}], "id must be a non-empty string, got ''"),
            ([{'id': 7, 'memory_mb': 1}], "id must be a non-empty string"),
            ([{'id': 'n'}], "host 0 (id 'n'): missing required field "
                            "'memory_mb'"),
            ([good, dict(good, memory_mb='1')],
             "host 1 (id 'n'): memory_mb must be a number, got '1' "
             "(a string)"),
            ([dict(good, memory_mb=True)], "memory_mb must be a number, "
                                           "got True (a boolean)"),
            ([dict(good, cpus=-1)], "cpus must be a finite number >= 0"),
            ([dict(good, disk_gb=float('nan'))], "disk_gb must be a finite"),
            ([dict(good, disk_gb=float('inf'))], "disk_gb must be a finite"),
            ([dict(good, memory_mb=10 ** 400)], "memory_mb is too large"),
            ([dict(good, memory_mb=[1])], "memory_mb must be a number"),
            ([dict(good, containers=1.5)], "containers must be a whole"),
            ([dict(good, containers=-1)], "containers must be a finite"),
            ([dict(good, enabled='true')], "enabled must be true or false"),
            ([dict(good, labels=['zone'])], "labels must map strings"),
            ([dict(good, labels={'zone': 1})], "labels must map strings"),
            ([dict(good, labels={1: 'a'})], "labels must map strings"),
            ([dict(good, groups='web')], "groups must be a list of strings"),
            ([dict(good, groups=['web', 3])], "each of groups must be a "
                                              "non-empty string, got 3"),
            ([{'id': 'n\ud800', 'memory_mb': 1}], "host 0: id is not "
             "Unicode text (it holds a lone surrogate): 'n\\ud800'"),
            ([dict(good, labels={'zone': '\udcff'})], "label 'zone' is not "
                                                      "Unicode text"),
            ([dict(good, labels={'\udcff': 'a'})], "a label is not Unicode"),
            ([dict(good, consumers=['\ud800'])], "each of consumers is "
                                                 "not Unicode text"),
            ([dict(good, memroy_mb=1)], "unknown field 'memroy_mb'; "
                                        "accepted fields: id, memory_mb"),
            ([good, {'id': 'm', 'memory_mb': 1}, good],
             "host 2 (id 'n'): duplicate id, already used by host 0"),
            ([dict(good, memory_total_mb=0.5)],
             "memory_mb (1) is more than memory_total_mb (0.5)"),
            ([dict(good, cpus=4, cpus_total=2)],
             "cpus (4) is more than cpus_total (2)"),
        ]
        for hosts, message in cases:
            with self.subTest(hosts=hosts):
                error = self.assertRaises(exceptions.InvalidHostData,
                                          host_state.parse_hosts, hosts)
                self.assertIn(message, str(error))
                self.assertIsInstance(error, exceptions.SchedulerError)
                self.assertIsInstance(error, ValueError)


class ParseRequestTest(base.TestCase):

    def test_plugins_may_import_request_from_host_state(self):
        self.assertIs(sora_request.Request, host_state.Request)

    def test_fields_and_defaults(self):
        request = sora_request.parse_request(
            {'memory_mb': 512, 'cpus': 0.5, 'disk_gb': 1,
             'labels': {'zone': 'az1'}})
        self.assertEqual((512, 0.5, 1), (request.memory_mb, request.cpus,
                                         request.disk_gb))
        self.assertEqual({'zone': 'az1'}, dict(request.labels))
        empty = sora_request.parse_request({})
        self.assertEqual(sora_request.Request(), empty)
        self.assertEqual(empty, sora_request.parse_request(None))
        self.assertEqual((0, 0, 0, {}), (empty.memory_mb, empty.cpus,
                                         empty.disk_gb, dict(empty.labels)))
        self.assertEqual(request, sora_request.parse_request(request))

    def test_placement_extras(self):
        data = {'same_host': ['a', 'b'], 'different_host': ['c'],
                'group': 'web', 'group_policy': 'anti-affinity'}
        request = sora_request.parse_request(data)
        self.assertEqual(('a', 'b'), request.same_host)
        self.assertEqual(('c',), request.different_host)
        self.assertEqual(('web', 'anti-affinity'),
                         (request.group, request.group_policy))
        self.assertEqual(dict(data, memory_mb=0.0, cpus=0.0, disk_gb=0.0,
                              labels={}), request.to_dict())

    def test_request_labels_are_read_only_copies(self):
        labels = {'zone': 'az1'}
        request = sora_request.Request(labels=labels)
        labels['zone'] = 'az2'
        self.assertEqual('az1', request.labels['zone'])
        self.assertRaises(TypeError, operator.setitem, request.labels, 'a',
                          'b')

    def test_bad_requests(self):
        cases = [
            ([], 'request: expected an object'),
            ('512', 'request: expected an object'),
            ({'memory': 512}, "request: unknown field 'memory'; accepted "
                              "fields: memory_mb, cpus, disk_gb, resources, "
                              "labels"),
            ({'memory_mb': '512'}, 'memory_mb must be a number'),
            ({'cpus': False}, 'cpus must be a number, got False (a boolean)'),
            ({'cpus': -0.5}, 'cpus must be a finite number >= 0'),
            ({'disk_gb': float('nan')}, 'disk_gb must be a finite number'),
            ({'memory_mb': 1e400}, 'memory_mb must be a finite number'),
            ({'memory_mb': 2 ** 1100}, 'memory_mb is too large'),
            ({'labels': 'zone=az1'}, 'labels must map strings to strings'),
            ({'labels': {'zone': None}}, 'labels must map strings'),
            ({'same_host': 'n1'}, 'same_host must be a list of strings'),
            ({'different_host': [None]}, 'each of different_host must be'),
            ({'group': 'web'}, "group 'web' needs a group_policy (affinity, "
                               "anti-affinity, soft-affinity or "
                               "soft-anti-affinity)"),
            ({'group_policy': 'affinity'}, 'group_policy needs a group'),
            ({'group': 'web', 'group_policy': 'soft'},
             "group_policy must be affinity, anti-affinity, soft-affinity or "
             "soft-anti-affinity, got 'soft' (a string)"),
            ({'group': '', 'group_policy': 'affinity'},
             'group must be a non-empty string'),
            ({'group': '\ud800', 'group_policy': 'affinity'},
             'group is not Unicode text (it holds a lone surrogate)'),
            ({'same_host': ['\udcff']}, 'each of same_host is not Unicode'),
        ]
        for data, message in cases:
            with self.subTest(data=data):
                error = self.assertRaises(exceptions.InvalidRequest,
                                          sora_request.parse_request, data)
                self.assertIn(message, str(error))


class LoadHostsTest(base.TestCase):

    def test_reads_a_json_file(self):
        path = self.write_file('hosts.json',
                               json.dumps({'hosts': [FULL_HOST]}))
        self.assertEqual(('node-1',), hosts_file.load_hosts(path).ids)

    def test_bad_files(self):
        cases = [
            (self.write_file('empty.json', ''), 'is not valid JSON'),
            (self.write_file('bad.json', '[{"id": "a",'), 'not valid JSON'),
            (self.write_file('obj.json', '{"id": "a"}'), 'must be a list'),
            ('/nonexistent/hosts.json', 'cannot read hosts file '
                                        '/nonexistent/hosts.json'),
            (self.write_file('nan.json', '[{"id": "a", "memory_mb": NaN}]'),
             "host 0 (id 'a'): memory_mb must be a finite number"),
        ]
        binary = self.write_file('binary.json', '')
        with open(binary, 'wb') as out:
            out.write(b'\xff\xfe\x00garbage')
        cases.append((binary, 'is not valid JSON'))
        for path, message in cases:
            with self.subTest(path=path):
                error = self.assertRaises(exceptions.InvalidHostData,
                                          hosts_file.load_hosts, path)
                self.assertIn(message, str(error))


class HostTableTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.table = host_state.parse_hosts([
            {'id': 'a', 'memory_mb': 1024, 'cpus': 1, 'disk_gb': 10,
             'labels': {'zone': 'az1'}, 'groups': ['web']},
            {'id': 'b', 'memory_mb': 4096, 'labels': {'zone': 'az2',
                                                      'ssd': 'true'}},
            {'id': 'c', 'memory_mb': 8192, 'cpus': 8, 'enabled': False,
             'labels': {'zone': 'az1', 'ssd': 'true'},
             'groups': ['db', 'web']},
        ])

    def ids(self, mask):
        return [host_id for host_id, ok in zip(self.table.ids, mask) if ok]

    def test_label_and_group_masks(self):
        self.assertEqual(['a', 'c'], self.ids(self.table.label_mask(
            {'zone': 'az1'})))
        self.assertEqual(['c'], self.ids(self.table.label_mask(
            {'zone': 'az1', 'ssd': 'true'})))
        self.assertEqual([], self.ids(self.table.label_mask({'zone': 'x'})))
        self.assertEqual([], self.ids(self.table.label_mask({'gpu': 'x'})))
        self.assertEqual(['a', 'b', 'c'], self.ids(self.table.label_mask({})))
        self.assertEqual(['a', 'c'], self.ids(self.table.group_mask('web')))
        self.assertEqual(['c'], self.ids(self.table.group_mask('db')))
        self.assertEqual([], self.ids(self.table.group_mask('cache')))

    def test_consume_copies_and_reduces_rows(self):
        request = sora_request.Request(memory_mb=500, cpus=0.5, disk_gb=2,
                                       group='db', group_policy='affinity')
        after = self.table.consume([0, 0, 1], request)
        self.assertEqual([24, 3596, 8192], list(after.memory_mb))
        self.assertEqual([0, math.inf, 8], list(after.cpus))
        self.assertEqual([6, math.inf, math.inf], list(after.disk_gb))
        self.assertEqual([2, 1, 0], list(after.containers))
        self.assertEqual((('web', 'db', 'db'), ('db',), ('db', 'web')),
                         after.groups)
        self.assertEqual(['a', 'b', 'c'], self.ids(after.group_mask('db')))
        self.assertEqual([1024, 4096, 8192], list(self.table.memory_mb))
        self.assertEqual([0, 0, 0], list(self.table.containers))
        self.assertEqual(['c'], self.ids(self.table.group_mask('db')))

    def test_best_breaks_ties_by_id_whatever_the_row_order(self):
        table = host_state.parse_hosts([{'id': 'c', 'memory_mb': 1},
                                        {'id': 'a', 'memory_mb': 1},
                                        {'id': 'b', 'memory_mb': 2}])
        rows = [table.row_of(host_id) for host_id in 'cba']
        self.assertEqual([table.row_of('a')],
                         table.best(rows, [5.0, 5.0, 5.0]))
        self.assertEqual(['b', 'a', 'c'], [table.ids[row] for row in
                                           table.best(rows, [0, 1, 0], 3)])
        self.assertEqual(['a', 'c'], [table.ids[row] for row in
                                      table.best(rows[::2], [0, 0], 5)])
        self.assertEqual([], table.best([], [], 2))

    def test_consuming_is_exact(self):
        table = host_state.parse_hosts([{'id': 'a', 'memory_mb': 1,
                                         'cpus': 0.3}])
        request = sora_request.Request(cpus=0.1)
        after = table.consume([0, 0], request)
        self.assertEqual(0.1, after[0].cpus)
        self.assertEqual(0.0, after.consume([0], request)[0].cpus)
        self.assertEqual(0.0, table.consume([0, 0, 0], request)[0].cpus)
        self.assertEqual(-0.1, table.consume([0] * 4, request)[0].cpus)

    def test_columns_cannot_be_made_writeable(self):
        tables = [self.table, self.table.consume(
            [0], sora_request.Request(memory_mb=1, group='x',
                                      group_policy='affinity'))]
        for table in tables:
            for name in ('memory_mb', 'cpus', 'containers', 'enabled',
                         'id_rank'):
                column = getattr(table, name)
                self.assertRaises(ValueError, setattr, column.flags,
                                  'writeable', True)
                self.assertRaises(ValueError, column.__setitem__, 0, 1)
            self.assertRaises(TypeError, operator.setitem, table.ids, 0, 'z')


class UnitsTest(base.TestCase):

    def test_requests_round_up_and_hosts_down(self):
        self.assertEqual(100, units.need(0.1, 1000))
        self.assertEqual(101, units.need(0.1001, 1000))
        self.assertEqual(1, units.need(1e-9, 1000))
        self.assertEqual(300, units.capacity(0.1 + 0.2, 1000))
        self.assertEqual(300, units.capacity(0.3009, 1000))
        self.assertEqual(2048, units.capacity(2048.9, 1))
        self.assertEqual(units.UNLIMITED, units.capacity(math.inf, 1000))
        self.assertEqual(units.MAX, units.capacity(1e300, 1))
        self.assertEqual(units.MAX + 1, units.need(1e300, 1))
        self.assertEqual(math.inf, units.documented(units.UNLIMITED - 5, 1))

    def test_fractions_of_a_cpu_add_up_exactly(self):
        hosts = host_state.parse_hosts([{'id': 'a', 'memory_mb': 1,
                                         'cpus': 0.3}])
        request = sora_request.parse_request({'cpus': 0.1})
        self.assertEqual(0.1, request.cpus)
        self.assertEqual((0, 100, 0), request.units)
        self.assertEqual(0.0, hosts.consume([0] * 3, request)[0].cpus)
        odd = sora_request.parse_request({'cpus': 1 / 3, 'memory_mb': 0.5})
        self.assertEqual((1, 334, 0), odd.units)
        self.assertEqual((1.0, 0.334), (odd.memory_mb, odd.cpus))

    @hypothesis.given(st.floats(0, 1e9), st.sampled_from([1, 1000]))
    def test_rounding_is_safe_and_vectorised_agrees(self, value, scale):
        have, need = units.capacity(value, scale), units.need(value, scale)
        self.assertLessEqual(have, need)
        self.assertLessEqual(need - have, 1)
        self.assertLessEqual(units.documented(have, scale), value * (
            1 + 1e-12))
        self.assertEqual(have, int(units.capacities([value], scale)[0]))
        self.assertEqual(have, units.of(units.documented(have, scale),
                                        scale))


class ObjectsAreValidatedTest(base.TestCase):
    """Objects passed where mappings are accepted are checked as strictly."""

    def test_request_objects(self):
        error = self.assertRaises(exceptions.InvalidRequest,
                                  sora_request.Request, memory_mb=-4000)
        self.assertIn('memory_mb must be a finite number >= 0', str(error))
        self.assertRaises(exceptions.InvalidRequest, sora_request.Request,
                          cpus=math.nan)
        self.assertRaises(exceptions.InvalidRequest, sora_request.Request,
                          group='web')
        request = sora_request.Request(memory_mb=1)
        object.__setattr__(request, 'memory_mb', -4000.0)
        self.assertRaises(exceptions.InvalidRequest,
                          sora_request.parse_request, request)
        object.__setattr__(request, 'memory_mb', 1)
        object.__setattr__(request, 'labels', {'zone': 7})
        self.assertRaises(exceptions.InvalidRequest,
                          sora_request.parse_request, request)

    def test_host_objects(self):
        host = host_state.parse_hosts([FULL_HOST])[0]
        for field, value in (('memory_mb', math.nan), ('cpus', -1.0),
                             ('containers', 1.5), ('labels', {'a': 1}),
                             ('enabled', 'yes')):
            with self.subTest(field=field):
                bad = dataclasses.replace(host, **{field: value})
                error = self.assertRaises(exceptions.InvalidHostData,
                                          host_state.parse_hosts, [bad])
                self.assertIn(field, str(error))


class ReportsTest(base.TestCase):

    def test_consumers_count_the_containers(self):
        reports = host_state.parse_reports([
            {'id': 'a', 'memory_mb': 1, 'consumers': ['c1', 'c2']},
            {'id': 'b', 'memory_mb': 1, 'consumers': ['c3'],
             'containers': 5}])
        self.assertEqual([('c1', 'c2'), ('c3',)], reports.consumers)
        self.assertEqual([2, 5], reports.containers)
        self.assertEqual([{'id': 'a', 'memory_mb': 1.0,
                           'memory_total_mb': 1.0, 'containers': 2,
                           'labels': {}, 'groups': [], 'enabled': True,
                           'consumers': ['c1', 'c2']}],
                         reports.to_dicts()[:1])
        for consumers, message in (('c1', 'consumers must be a list'),
                                   ([''], 'each of consumers must be a '
                                          'non-empty string')):
            error = self.assertRaises(
                exceptions.InvalidHostData, host_state.parse_reports,
                [{'id': 'a', 'memory_mb': 1, 'consumers': consumers}])
            self.assertIn(message, str(error))

    def test_huge_container_counts_are_refused(self):
        error = self.assertRaises(
            exceptions.InvalidHostData, host_state.parse_reports,
            [{'id': 'a', 'memory_mb': 1, 'containers': 2 ** 63 - 1}])
        self.assertIn('containers must be at most', str(error))

    @hypothesis.given(st.lists(st.fixed_dictionaries({
        'memory_mb': NUMBERS}, optional={
        'memory_total_mb': NUMBERS, 'cpus': NUMBERS,
        'cpus_total': NUMBERS, 'disk_gb': NUMBERS,
        'containers': st.one_of(st.none(), st.integers(-1, 2 ** 32),
                                st.booleans()),
        'enabled': st.one_of(st.none(), st.booleans(), st.just(1)),
        'labels': st.one_of(st.none(), st.dictionaries(
            st.sampled_from(['zone', 'ssd']),
            st.one_of(st.sampled_from(['a', 'b', '\udcff']),
                      st.integers()))),
        'groups': st.one_of(st.none(), st.lists(st.sampled_from(
            ['web', '', 'w\ud800']))),
        'consumers': st.one_of(st.none(), st.lists(st.sampled_from(
            ['c1', 'c2', '\udc80']), unique=True))}),
        min_size=1, max_size=4), st.sampled_from(['h', '\ud800']))
    def test_checking_in_bulk_agrees_with_one_by_one(self, hosts, name):
        padding = [{'id': f'pad{n}', 'memory_mb': n, 'cpus': n / 10,
                    'labels': {'zone': 'a'}} for n in range(
                        host_state.BULK)]
        data = padding + [dict(host, id=f'{name}{n}')
                          for n, host in enumerate(hosts)]
        try:
            expected = host_state.Reports._of_rows(
                [host_state._quick(item) or host_state._checked(item, at)
                 for at, item in enumerate(data)])
        except exceptions.InvalidHostData:
            expected = None
        self.assertEqual(expected, report_columns.parse(data) or expected)
        if expected is None:
            self.assertRaises(exceptions.InvalidHostData,
                              host_state.parse_reports, data)
        else:
            self.assertEqual(expected, host_state.parse_reports(data))


class SeedDataTest(base.TestCase):

    def test_seed_shape_becomes_hosts(self):
        table = host_state.hosts_from_seed(
            {13: 'id1', 324: 'id2', 434: 'id3', 'memory': [13, 324, 434]})
        self.assertEqual(('id1', 'id2', 'id3'), table.ids)
        self.assertEqual([13, 324, 434], list(table.memory_mb))

    def test_repeated_memory_values_are_one_node(self):
        table = host_state.hosts_from_seed({13: 'id1', 'memory': [13, 13]})
        self.assertEqual(('id1',), table.ids)

    def test_bad_seed_data(self):
        cases = [
            ([13], 'seed data must map free memory to node id'),
            ({13: 'id1'}, 'seed data must map free memory'),
            ({13: 'id1', 'memory': '13'}, 'seed data must map'),
            ({13: 'id1', 'memory': [14]}, "lists memory 14 (a number) under "
                                          "'memory' but maps no node id"),
            ({13: 'id1', 'memory': [[13]]}, 'maps no node id'),
            ({13: 5, 'memory': [13]}, 'id must be a non-empty string'),
            ({-1: 'id1', 'memory': [-1]}, 'memory_mb must be a finite'),
        ]
        for data, message in cases:
            with self.subTest(data=data):
                error = self.assertRaises(exceptions.InvalidHostData,
                                          host_state.hosts_from_seed, data)
                self.assertIn(message, str(error))


class JsonTest(base.TestCase):

    def test_repeated_keys_are_refused(self):
        self.assertEqual({'a': [{'b': 1}]}, validate.loads_json(
            '{"a": [{"b": 1}]}'))
        error = self.assertRaises(ValueError, validate.loads_json,
                                  '[{"id": "a", "memory_mb": 1, '
                                  '"memory_mb": 2}]')
        self.assertEqual("key 'memory_mb' appears twice in one object",
                         str(error))
        path = self.write_file('hosts.json', '{"hosts": [], "hosts": []}')
        error = self.assertRaises(exceptions.InvalidHostData,
                                  hosts_file.load_hosts, path)
        self.assertIn("is not valid JSON: key 'hosts' appears twice",
                      str(error))

    def test_table_repr_names_a_few_hosts(self):
        table = host_state.parse_hosts(
            [{'id': f'n{i}', 'memory_mb': 1} for i in range(7)])
        self.assertEqual('<HostTable of 7 hosts: n0, n1, n2, n3, n4, ...>',
                         repr(table))

    def test_a_resource_reported_with_a_total_only_has_none_free(self):
        # A table built from reports has a column for every countable
        # resource a host reports, free or total only.
        [host] = host_state.parse_reports([{
            'id': 'a', 'memory_mb': 1, 'resources_total': {'vf': 8}}]).table()
        self.assertEqual(({'vf': 0}, {'vf': 8}),
                         (dict(host.resources), dict(host.resources_total)))
