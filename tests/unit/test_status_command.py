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

"""``sora-scheduler status`` through the command, on both stores.

On the real etcd, two managers with clocks of their own report hosts,
disable one and claim at several ages; the command, reading the store
with the wall clock held still, prints what they did.
"""

import json
import time

import fixtures

from tests import base
from tests.unit import test_etcd_store

settle = test_etcd_store.settle
FILE_HOSTS = [
    {'id': 'node-1', 'memory_mb': 2048, 'memory_total_mb': 8192, 'cpus': 3.5,
     'cpus_total': 8, 'disk_gb': 120, 'labels': {'zone': 'az1'},
     'resources': {'gpu': 1}, 'resources_total': {'gpu': 4}},
    {'id': 'node-2', 'memory_mb': 6000, 'memory_total_mb': 8192, 'cpus': 6,
     'cpus_total': 8, 'labels': {'zone': 'az2'}},
    {'id': 'node-3', 'memory_mb': 1000, 'memory_total_mb': 4096,
     'enabled': False, 'labels': {'zone': 'az1'}},
    {'id': 'node-4', 'memory_mb': 4096}]


class StatusFromAFileTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.run = self.useFixture(base.Command())
        self.hosts = self.write_file('hosts.json', json.dumps(FILE_HOSTS))

    def status(self, *args, conf=''):
        return self.run('--config-file', self.write_file('sora.conf', conf),
                        'status', '--hosts', self.hosts, *args)

    def test_text(self):
        result = self.status('--by', 'zone')
        self.assertEqual((0, ''), result[::2])
        self.assertEqual([
            'hosts: 4, up 3, disabled 1, silent 0 (no report for over '
            '300s), report time unknown 4',
            '  disabled node-3: the node reports itself disabled',
            'oldest report: unknown',
            'claims: 0 outstanding: 0 under 1 min, 0 under 10 min, 0 older',
            '',
            'ZONE       ENABLED  RESOURCE   FREE   TOTAL  USED',
            '(all)      3        memory_mb  12144  20480  '
            '[########............]  40%',
            '(all)      3        cpus       9.5    16     '
            '[########............]  40%',
            '(all)      3        disk_gb    120    -      -',
            '(all)      3        gpu        1      4      '
            '[###############.....]  75%',
            'az1        1        memory_mb  2048   8192   '
            '[###############.....]  75%',
            'az1        1        cpus       3.5    8      '
            '[###########.........]  56%',
            'az1        1        disk_gb    120    -      -',
            'az1        1        gpu        1      4      '
            '[###############.....]  75%',
            'az2        1        memory_mb  6000   8192   '
            '[#####...............]  26%',
            'az2        1        cpus       6      8      '
            '[#####...............]  25%',
            '(no zone)  1        memory_mb  4096   4096   '
            '[....................]   0%'], result.stdout.splitlines())

    def test_json(self):
        # [etcd] host_ttl, when set, is the silent threshold.
        result = self.status('--format', 'json',
                             conf='[etcd]\nhost_ttl = 90\n')
        self.assertEqual({
            'hosts': {'total': 4, 'up': 3,
                      'disabled': [{'id': 'node-3', 'reason': None}],
                      'silent': [], 'age_unknown': 4},
            'silent_after': 90,
            'oldest_report': None,
            'capacity': {'enabled_hosts': 3, 'resources': {
                'memory_mb': {'free': 12144.0, 'total': 20480.0},
                'cpus': {'free': 9.5, 'total': 16.0},
                'disk_gb': {'free': 120.0, 'total': None},
                'gpu': {'free': 1, 'total': 4}}},
            'claims': {'total': 0, 'under_1_min': 0, 'under_10_min': 0,
                       'older': 0, 'oldest': None}},
            json.loads(result.stdout))
        self.assertEqual(7.5, json.loads(self.status(
            '--format', 'json', '--silent-after', '7.5',
            conf='[etcd]\nhost_ttl = 90\n').stdout)['silent_after'])

    def test_bad_input_is_one_line_and_exit_2(self):
        for args, message in (
                (['--by', 'rack'], "no host has the label 'rack'; the "
                                   "hosts have 'zone'"),
                (['--silent-after', '0'], '--silent-after must be a number '
                                          'of seconds above 0, got 0'),
                (['--silent-after', '-5'], 'got -5'),
                (['--silent-after', 'nan'], 'got nan'),
                (['--silent-after', 'inf'], 'got inf'),
                (['--silent-after', 'soon'], "invalid float value: 'soon'"),
                (['--format', 'yaml'], "invalid choice: 'yaml'")):
            result = self.status(*args)
            self.assertEqual((2, ''), result[:2], args)
            self.assertIn(message, result.stderr)
            self.assertNotIn('Traceback', result.stderr)
        result = self.run('--config-file', self.write_file('sora.conf', ''),
                          'status')
        self.assertEqual(2, result.returncode)
        self.assertIn('status without --hosts needs a shared host store',
                      result.stderr)


class StatusOfEtcdTest(test_etcd_store.EtcdStoreTestCase):

    def test_two_managers_and_the_command(self):
        now = float(int(time.time()))
        reports, decisions = base.Clock(time.time()), base.Clock(time.time())
        one = self.clocked(self.conf(), reports)
        two = self.clocked(self.conf(), decisions)
        reports.now = now - 3600
        one.update_hosts([{'id': 'n5', 'memory_mb': 1000,
                           'labels': {'zone': 'az2'}}])
        reports.now = now - 30
        one.update_hosts([
            {'id': 'n1', 'memory_mb': 4096, 'memory_total_mb': 8192,
             'cpus': 4, 'cpus_total': 8, 'labels': {'zone': 'az1'},
             'resources': {'gpu': 4}},
            {'id': 'n2', 'memory_mb': 8192, 'labels': {'zone': 'az1'}},
            {'id': 'n3', 'memory_mb': 2048, 'memory_total_mb': 4096,
             'labels': {'zone': 'az2'}},
            {'id': 'n4', 'memory_mb': 1024},
            {'id': 'n6', 'memory_mb': 500, 'enabled': False,
             'labels': {'zone': 'az1'}}])
        settle(lambda: len(two.hosts()) == 6)
        two.disable_host('n2', 'kernel upgrade')
        for age, consumer, request in (
                (700, 'old', {'memory_mb': 256, 'same_host': ['n4']}),
                (300, 'mid', {'memory_mb': 1024, 'same_host': ['n3']}),
                (10, 'fresh', {'memory_mb': 512, 'resources': {'gpu': 1}})):
            decisions.now = now - age
            two.select_destinations(request, consumers=[consumer])
        settle(lambda: len(one.claims()) == 3)
        run = self.useFixture(base.Command())
        conf = self.conf_file()
        self.useFixture(fixtures.MonkeyPatch('time.time', lambda: now))
        shown = json.loads(run('--config-file', conf, 'status', '--by',
                               'zone', '--format', 'json').stdout)

        def memory(free, total):
            return {'memory_mb': {'free': free, 'total': total}}

        self.assertEqual({
            'hosts': {'total': 6, 'up': 3,
                      'disabled': [{'id': 'n2', 'reason': 'kernel upgrade'},
                                   {'id': 'n6', 'reason': None}],
                      'silent': [{'id': 'n5', 'age': 3600.0}],
                      'age_unknown': 0},
            'silent_after': 300,
            'oldest_report': {'host': 'n5', 'age': 3600.0},
            'capacity': {'enabled_hosts': 4, 'resources': {
                **memory(6376.0, 14312.0),
                'cpus': {'free': 4.0, 'total': 8.0},
                'gpu': {'free': 3, 'total': 4}}},
            'claims': {'total': 3, 'under_1_min': 1, 'under_10_min': 1,
                       'older': 1, 'oldest': {'consumer': 'old', 'host': 'n4',
                                              'age': 700.0}},
            'by': {'label': 'zone', 'rows': [
                {'value': 'az1', 'enabled_hosts': 1, 'resources': {
                    **memory(3584.0, 8192.0),
                    'cpus': {'free': 4.0, 'total': 8.0},
                    'gpu': {'free': 3, 'total': 4}}},
                {'value': 'az2', 'enabled_hosts': 2,
                 'resources': memory(2024.0, 5096.0)},
                {'value': None, 'enabled_hosts': 1,
                 'resources': memory(768.0, 1024.0)}]}}, shown)
        lines = run('--config-file', conf, 'status', '--silent-after',
                    '3600').stdout.splitlines()
        self.assertEqual([
            'hosts: 6, up 4, disabled 2, silent 0 (no report for over '
            '3600s)',
            '  disabled n2: kernel upgrade',
            '  disabled n6: the node reports itself disabled',
            'oldest report: n5, 1h00m ago',
            'claims: 3 outstanding: 1 under 1 min, 1 under 10 min, 1 older; '
            'oldest old on n4, 11m40s',
            '',
            'ENABLED  RESOURCE   FREE  TOTAL  USED',
            '4        memory_mb  6376  14312  [###########.........]  55%',
            '4        cpus       4     8      [##########..........]  50%',
            '4        gpu        3     4      [#####...............]  25%'],
            lines)
        lines = run('--config-file', conf, 'status').stdout.splitlines()
        self.assertEqual(['hosts: 6, up 3, disabled 2, silent 1 (no report '
                          'for over 300s)',
                          '  silent n5: last report 1h00m ago'],
                         [lines[0], lines[3]])
