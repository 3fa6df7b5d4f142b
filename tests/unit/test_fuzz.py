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

"""Arbitrary input to the parsers and to ``sora-scheduler select``.

Every outcome must be a valid decision or a SchedulerError (exit 2 with a
message): never another exception, a traceback, a hang, or a bad value
accepted silently. ``tox -e fuzz`` runs the long campaign.
"""

import json
import math
import os
import time

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import hosts_file
from sora.scheduler import request as sora_request
from tests import base

SCALARS = (st.none() | st.booleans() | st.integers() |
           st.integers(min_value=10 ** 300, max_value=10 ** 400) |
           st.floats(allow_nan=True, allow_infinity=True) |
           st.text(max_size=20) |
           st.sampled_from(['512', '', 'NaN', '-1', '1e999', 'node-1']))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) |
                    st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
FIELD_VALUES = SCALARS | JSON | st.integers(0, 10 ** 6) | \
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3) | \
    st.lists(st.text(max_size=5), max_size=3)


def near_valid(fields):
    """Mappings using the real field names, with junk or good values."""
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=10),
                           FIELD_VALUES, max_size=len(fields) + 1)


def assert_valid_table(test, table):
    test.assertEqual(len(set(table.ids)), len(table))
    for host in table:
        test.assertTrue(isinstance(host.id, str) and host.id)
        for field in ('memory_mb', 'memory_total_mb', 'disk_gb', 'cpus',
                      'cpus_total'):
            value = getattr(host, field)
            test.assertTrue(value >= 0 and not math.isnan(value), field)
        test.assertTrue(math.isfinite(host.memory_mb))
        test.assertLessEqual(host.memory_mb, host.memory_total_mb)
        test.assertTrue(all(isinstance(k, str) and isinstance(v, str)
                            for k, v in host.labels.items()))
        test.assertTrue(all(isinstance(g, str) and g for g in host.groups))
        test.assertIsInstance(host.containers, int)
        test.assertIsInstance(host.enabled, bool)


class ParserFuzzTest(base.TestCase):

    @hypothesis.given(JSON | st.lists(
        near_valid(list(host_state.HOST_FIELDS)), max_size=4))
    def test_hosts_are_a_valid_table_or_invalid_host_data(self, data):
        try:
            table = host_state.parse_hosts(data)
        except exceptions.InvalidHostData as error:
            self.assertTrue(str(error))
            return
        assert_valid_table(self, table)

    @hypothesis.given(JSON | near_valid(sora_request.REQUEST_FIELDS))
    def test_requests_are_valid_or_invalid_request(self, data):
        try:
            request = sora_request.parse_request(data)
        except exceptions.InvalidRequest as error:
            self.assertTrue(str(error))
            return
        for field in ('memory_mb', 'cpus', 'disk_gb'):
            self.assertTrue(math.isfinite(getattr(request, field)))
            self.assertGreaterEqual(getattr(request, field), 0)
        self.assertEqual(request.group is None,
                         request.group_policy is None)

    @hypothesis.given(st.binary(max_size=300) |
                      JSON.map(lambda data: json.dumps(data).encode()))
    def test_hosts_files_of_any_bytes(self, content):
        path = self.write_file('hosts.json', '')
        with open(path, 'wb') as out:
            out.write(content)
        try:
            assert_valid_table(self, hosts_file.load_hosts(path))
        except exceptions.InvalidHostData as error:
            if 'JSON' in str(error):
                self.assertIn(f'hosts file {path} is not valid JSON',
                              str(error))

    def test_deeply_nested_json_is_refused_cleanly(self):
        path = self.write_file('deep.json', '[' * 100000 + ']' * 100000)
        error = self.assertRaises(exceptions.InvalidHostData,
                                  hosts_file.load_hosts, path)
        self.assertIn('is not valid JSON', str(error))

    def test_a_100000_host_file(self):
        hosts = [{'id': f'nœud-{n}', 'memory_mb': n % 4096,
                  'labels': {'zone': f'az{n % 3}'}} for n in range(100000)]
        path = self.write_file('big.json', json.dumps(hosts))
        start = time.perf_counter()
        table = hosts_file.load_hosts(path)
        self.assertEqual(100000, len(table))
        self.assertLess(time.perf_counter() - start, 30)
        hosts[-1]['memory_mb'] = -1
        path = self.write_file('bad.json', json.dumps(hosts))
        error = self.assertRaises(exceptions.InvalidHostData,
                                  hosts_file.load_hosts, path)
        self.assertIn("host 99999 (id 'nœud-99999'): memory_mb must be a "
                      "finite number >= 0", str(error))


class CommandFuzzTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.command = self.useFixture(base.Command())

    @hypothesis.settings(max_examples=int(os.environ.get(
        'SORA_FUZZ_COMMANDS', 40)))
    @hypothesis.given(st.binary(max_size=200) |
                      JSON.map(lambda data: json.dumps(data).encode()),
                      JSON.map(json.dumps))
    def test_select_exits_0_1_or_2_without_a_traceback(self, hosts, request):
        path = self.write_file('hosts.json', '')
        with open(path, 'wb') as out:
            out.write(hosts)
        # In process: an exception other than SchedulerError would escape
        # main() and fail the test.
        result = self.command('select', '--hosts', path, '--request',
                              request)
        self.assertIn(result.returncode, (0, 1, 2), result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        if result.returncode:
            self.assertIn('sora-scheduler: error: ', result.stderr)
            self.assertEqual('', result.stdout)
