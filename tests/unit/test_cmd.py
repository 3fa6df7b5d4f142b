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

"""sora-scheduler, run as the installed console script."""

import json
import os
import re
import subprocess
import sys

import fixtures

from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
EXAMPLE_HOSTS = os.path.join(ROOT, 'etc', 'sora', 'hosts.example.json')
SHIPPED_CONF = os.path.join(ROOT, 'etc', 'sora', 'sora.conf')
COMMAND = os.path.join(os.path.dirname(sys.executable), 'sora-scheduler')


class CommandTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # An empty HOME: no ~/.sora/sora.conf of the machine leaks in.
        self.home = self.useFixture(fixtures.TempDir()).path

    def run_command(self, *args, stdin=None, conf=SHIPPED_CONF, path=None):
        argv = [COMMAND] + (['--config-file', conf] if conf else [])
        env = dict(os.environ, HOME=self.home)
        if path:
            env['PYTHONPATH'] = path
        result = subprocess.run(argv + list(args), input=stdin, env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertNotIn('Traceback', result.stderr)
        return result


class SelectTest(CommandTestCase):

    def test_example_hosts_on_the_shipped_config(self):
        result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                  '--memory-mb', '2048')
        self.assertEqual((0, 'node-04\n'), (result.returncode, result.stdout))
        self.assertIn('Loaded scheduler driver memorybase', result.stderr)

    def test_flags_labels_count_and_json(self):
        result = self.run_command(
            'select', '--hosts', EXAMPLE_HOSTS, '--memory-mb', '2048',
            '--cpus', '1', '--disk-gb', '10', '--label', 'zone=az3',
            '--count', '3', '--format', 'json')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual({'destinations': ['node-11', 'node-11', 'node-09']},
                         json.loads(result.stdout))

    def test_request_as_json_and_hosts_on_stdin(self):
        with open(EXAMPLE_HOSTS) as hosts:
            result = self.run_command(
                'select', '--hosts', '-', '--request',
                '{"memory_mb": 512, "labels": {"zone": "edge"}}',
                stdin=hosts.read())
        self.assertEqual((0, 'node-12\n'), (result.returncode, result.stdout))

    def test_driver_from_a_config_file(self):
        conf = self.write_file('sora.conf',
                               '[DEFAULT]\nscheduler_driver = randombase\n')
        seen = set()
        for _ in range(6):
            result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                      '--count', '4', conf=conf)
            self.assertEqual(0, result.returncode, result.stderr)
            seen.update(result.stdout.split())
        self.assertIn('Loaded scheduler driver randombase', result.stderr)
        self.assertGreater(len(seen), 3)

    def test_home_config_is_found_without_a_flag(self):
        os.mkdir(os.path.join(self.home, '.sora'))
        with open(os.path.join(self.home, '.sora', 'sora.conf'), 'w') as out:
            out.write('[DEFAULT]\nscheduler_driver = nosuchdriver\n')
        result = self.run_command('drivers', conf=None)
        self.assertEqual(2, result.returncode)
        self.assertIn("no plugin named 'nosuchdriver'", result.stderr)

    def test_no_valid_host_exits_1_with_the_explanation(self):
        result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                  '--memory-mb', '99999')
        self.assertEqual(1, result.returncode)
        self.assertEqual('', result.stdout)
        self.assertIn('sora-scheduler: error: no valid host among 12: '
                      'enabled 11, memory 0 (needs 99999 MB)', result.stderr)

    def test_debug_and_log_file(self):
        log_file = os.path.join(self.home, 'sora.log')
        result = self.run_command('--debug', '--log-file', log_file,
                                  'select', '--hosts', EXAMPLE_HOSTS)
        self.assertEqual((0, 'node-04\n'), (result.returncode, result.stdout))
        self.assertEqual('', result.stderr)
        with open(log_file) as log:
            text = log.read()
        self.assertIn('INFO sora.scheduler.manager', text)
        self.assertIn("DEBUG sora.scheduler.manager", text)
        self.assertIn("chose ['node-04']", text)

    def test_bad_input_exits_2_with_one_message(self):
        bad_hosts = self.write_file('bad.json', '[{"id": "n1"}]')
        cases = [
            (['select', '--hosts', '/nonexistent.json'],
             'cannot read hosts file /nonexistent.json'),
            (['select', '--hosts', bad_hosts],
             "host 0 (id 'n1'): missing required field 'memory_mb'"),
            (['select', '--hosts', EXAMPLE_HOSTS, '--request', '{bad'],
             '--request is not valid JSON'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--request', '[]'],
             'request: expected an object'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--request', '{}',
              '--cpus', '1'], 'not both'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--label', 'zone'],
             "--label must be KEY=VALUE, got 'zone'"),
            (['select', '--hosts', EXAMPLE_HOSTS, '--memory-mb', '-5'],
             'memory_mb must be a finite number >= 0'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--memory-mb', 'lots'],
             "argument --memory-mb: invalid float value: 'lots'"),
            (['select', '--hosts', EXAMPLE_HOSTS, '--count', '0'],
             'count must be a whole number from 1 to 1000'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--top', '3'],
             '--top must be at least 1, and goes with --explain'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--explain', '--top', '0'],
             '--top must be at least 1'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--request',
              '{"memory_mb": 1, "memory_mb": 2}'],
             "--request is not valid JSON: key 'memory_mb' appears twice"),
            (['select'], 'the following arguments are required: --hosts'),
            ([], 'the following arguments are required: command'),
            (['launch'], "invalid choice: 'launch'"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                result = self.run_command(*args)
                self.assertEqual(2, result.returncode, result.stderr)
                self.assertEqual('', result.stdout)
                self.assertIn(message, result.stderr)

    def test_bad_config_exits_2(self):
        unknown = self.write_file('unknown.conf',
                                  '[DEFAULT]\nscheduler_driver = fastest\n')
        no_section = self.write_file('nosection.conf',
                                     'scheduler_driver = memorybase\n')
        bad_value = self.write_file('badvalue.conf', '[DEFAULT]\ndebug = 7\n')
        cases = [
            (unknown, "no plugin named 'fastest' in namespace "
                      "'sora.scheduler'; installed: filter, memorybase, "
                      "randombase"),
            (no_section, 'Section must be started before assignment'),
            (bad_value, 'debug'),
            ('/nonexistent/sora.conf', 'Failed to find some config files: '
                                       '/nonexistent/sora.conf'),
        ]
        for conf, message in cases:
            with self.subTest(conf=conf):
                result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                          conf=conf)
                self.assertEqual(2, result.returncode, result.stderr)
                self.assertIn(message, result.stderr)


class DriversTest(CommandTestCase):

    def test_lists_installed_drivers_and_marks_the_configured_one(self):
        result = self.run_command('drivers')
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertRegex(lines[1], r'^\s+filter\s+sora \S+\s+Filter and '
                                   r'weigh hosts')
        self.assertRegex(lines[2], r'^\*\s+memorybase\s+sora \S+\s+Pick the '
                                   r'fitting host with the most free memory')
        self.assertRegex(lines[3], r'^\s+randombase\s+sora \S+\s+Pick a host '
                                   r'uniformly at random')
        self.assertIn('* used by scheduler driver memorybase ([DEFAULT] '
                      'scheduler_driver)',
                      result.stdout)

    def test_a_broken_plugin_is_listed_with_its_error(self):
        plugins = self.add_plugins(
            'sora-broken', {'sora.scheduler': {'broken': 'sora_broken:X'}},
            {'sora_broken': 'raise ImportError("libfoo missing")\n'})
        result = self.run_command('drivers', path=plugins.root)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertRegex(result.stdout, r'\n\s+broken\s+sora-broken 1.0\s+'
                                        r'ERROR: ImportError: libfoo missing')
        conf = self.write_file('sora.conf',
                               '[DEFAULT]\nscheduler_driver = broken\n')
        result = self.run_command('drivers', conf=conf, path=plugins.root)
        self.assertEqual(2, result.returncode)
        self.assertIn('*  broken', result.stdout)
        self.assertIn(f"sora-scheduler: error: [DEFAULT] scheduler_driver "
                      f"(set in {conf}): could not load sora.scheduler "
                      "plugin 'broken' (sora_broken:X) from sora-broken 1.0: "
                      "ImportError: libfoo missing", result.stderr)


class FilterDriverCommandTest(CommandTestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.write_file('filter.conf',
                                    '[DEFAULT]\nscheduler_driver = filter\n')

    def test_explain_shows_counts_and_ranking_then_the_choice(self):
        result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                  '--memory-mb', '2048', '--dry-run',
                                  '--explain', '--top', '3', conf=self.conf)
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual('# 12 hosts; after each filter: enabled 11, '
                         'memory 10, max_containers 10', lines[0])
        self.assertEqual(['#', 'HOST', 'WEIGHT', 'MEMORY', 'CPU',
                          'CONTAINERS'], lines[1].split())
        self.assertEqual(['#', '1', 'node-04', '2.368', '1.000', '1.000',
                          '0.368'], lines[2].split())
        self.assertEqual(3, len([line for line in lines
                                 if re.match(r'# \d+\s+node-', line)]))
        self.assertEqual('node-04', lines[-1])

    def test_explain_as_json(self):
        result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                  '--label', 'zone=az3', '--explain',
                                  '--format', 'json', conf=self.conf)
        data = json.loads(result.stdout)
        self.assertEqual(['node-11'], data['destinations'])
        explanation = data['explanation']
        self.assertEqual(12, explanation['hosts_total'])
        self.assertEqual([['enabled', 11], ['labels', 3],
                          ['max_containers', 3]],
                         explanation['filter_counts'])
        self.assertEqual(['node-11', 'node-09', 'node-10'],
                         [entry['id'] for entry in explanation['ranking']])

    def test_filters_and_weighers_listings(self):
        result = self.run_command('filters', conf=self.conf)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertRegex(result.stdout, r'\n\*\s+anti_affinity\s+sora ')
        result = self.run_command('weighers', conf=self.conf)
        self.assertRegex(result.stdout, r'\n\*\s+containers\s+sora ')
        self.assertRegex(result.stdout, r'\n\s+disk\s+sora ')
        self.assertIn('* used by scheduler driver filter', result.stdout)
        result = self.run_command('weighers')
        self.assertNotRegex(result.stdout, r'\n\*\s+\w+\s+sora ')

    def test_unknown_filter_in_config(self):
        conf = self.write_file('bad.conf', '[DEFAULT]\n'
                                           'scheduler_driver = filter\n'
                                           '[filter_scheduler]\n'
                                           'enabled_filters = enabled,memory,'
                                           'cpu,disk,ram\n')
        result = self.run_command('filters', conf=conf)
        self.assertEqual(2, result.returncode)
        self.assertIn(f"[filter_scheduler] enabled_filters (set in {conf}): "
                      "no plugin named 'ram'", result.stderr)


class CheckTest(CommandTestCase):

    def test_shipped_config_and_example_hosts_pass(self):
        result = self.run_command('check', '--hosts', EXAMPLE_HOSTS)
        self.assertEqual(0, result.returncode, result.stdout)
        lines = result.stdout.splitlines()
        self.assertEqual(f'OK      config files: {SHIPPED_CONF}', lines[0])
        self.assertEqual('OK      option values: 10 options read', lines[1])
        self.assertTrue(lines[3].startswith(
            'OK      scheduler driver memorybase: loads (Pick the fitting'))
        self.assertIn('OK      filter anti_affinity: loads (Keep the hosts '
                      "running no container of the request's group.)", lines)
        self.assertIn('OK      weigher containers: loads (Weigh hosts by how '
                      'few containers they run.)', lines)
        self.assertEqual('OK      option names: every option set is known',
                         lines[2])
        self.assertEqual('OK      hosts file: ' + EXAMPLE_HOSTS + ': 12 hosts',
                         lines[-2])
        self.assertEqual('14 of 14 checks OK', lines[-1])

    def test_each_broken_part_is_a_failed_line(self):
        conf = self.write_file('bad.conf', '''
            [DEFAULT]
            scheduler_driver = filter
            [filter_scheduler]
            enabled_filters = memory,ram
            weighers = memory,price
            memory_weight_multiplier = nan
            ''')
        bad_hosts = self.write_file('hosts.json', '[{"id": "n1"}]')
        result = self.run_command('check', '--hosts', bad_hosts, conf=conf)
        self.assertEqual(2, result.returncode)
        lines = result.stdout.splitlines()
        self.assertEqual([
            f'OK      config files: {conf}',
            f'FAILED  option values: [filter_scheduler] '
            f'memory_weight_multiplier (set in {conf}): must be a finite '
            'number, got nan',
            'OK      option names: every option set is known',
            f'FAILED  scheduler driver filter: [filter_scheduler] '
            f'memory_weight_multiplier (set in {conf}): must be a finite '
            'number, got nan',
            'OK      filter memory: loads (Keep the hosts with at least the '
            "request's free memory.)",
        ], lines[:5])
        self.assertTrue(lines[5].startswith(
            f"FAILED  filter ram: [filter_scheduler] enabled_filters (set in "
            f"{conf}): no plugin named 'ram'"))
        self.assertTrue(lines[7].startswith(
            "FAILED  weigher price: [filter_scheduler] weighers (set in "))
        self.assertEqual("FAILED  hosts file: host 0 (id 'n1'): missing "
                         "required field 'memory_mb'", lines[8])
        self.assertEqual('4 of 9 checks OK', lines[-1])

    def test_misspelt_options_are_reported(self):
        conf = self.write_file('typo.conf', '''
            [DEFAULT]
            debugg = true
            [filter_scheduler]
            memroy_weight_multiplier = -1
            [database]
            connection = sqlite://
            ''')
        result = self.run_command('check', conf=conf)
        self.assertEqual(2, result.returncode)
        self.assertIn('FAILED  option names: [DEFAULT] debugg (set in '
                      f'{conf}) is not an option; did you mean debug?; '
                      '[filter_scheduler] memroy_weight_multiplier (set in '
                      f'{conf}) is not an option; did you mean '
                      'memory_weight_multiplier?\n', result.stdout)

    def test_out_of_range_and_non_numeric_values(self):
        for text, message in (
                ('[filter_scheduler]\nhost_subset_size = 0\n',
                 'host_subset_size (set in {}): Should be greater than or '
                 'equal to 1'),
                ('[filter_scheduler]\nmax_containers_per_host = lots\n',
                 "max_containers_per_host (set in {}): invalid literal for "
                 "int() with base 10: 'lots'"),
                ('[filter_scheduler]\ncpu_weight_multiplier = inf\n',
                 'cpu_weight_multiplier (set in {}): must be a finite '
                 'number, got inf')):
            with self.subTest(text=text):
                conf = self.write_file('sora.conf', text)
                result = self.run_command('check', conf=conf)
                self.assertEqual(2, result.returncode)
                self.assertIn(message.format(conf), result.stdout)
