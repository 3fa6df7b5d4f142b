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

"""sora-scheduler: its commands, run in process through ``main(argv)``.

``RealProcessTest`` runs the installed console script for what only a real
process shows: exit statuses, a closed pipe, SIGINT.
"""

import json
import os
import re
import signal
import subprocess
import sys

from sora.scheduler import host_state
from sora.scheduler import hosts_file
from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
EXAMPLE_HOSTS = os.path.join(ROOT, 'etc', 'sora', 'hosts.example.json')
SHIPPED_CONF = os.path.join(ROOT, 'etc', 'sora', 'sora.conf')
COMMAND = os.path.join(os.path.dirname(sys.executable), 'sora-scheduler')


class CommandTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # An empty HOME: no ~/.sora/sora.conf of the machine leaks in.
        self.command = self.useFixture(base.Command())
        self.home = self.command.home

    def run_command(self, *args, conf=SHIPPED_CONF, **streams):
        argv = (['--config-file', conf] if conf else []) + list(args)
        return self.command(*argv, **streams)


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

    def test_flags_for_hosts_and_groups(self):
        hosts = self.write_file('hosts.json', json.dumps([
            {'id': 'a', 'memory_mb': 1000, 'groups': ['web']},
            {'id': 'b', 'memory_mb': 2000},
            {'id': 'c', 'memory_mb': 3000}]))
        cases = [(['--group', 'web', '--group-policy', 'affinity'], 'a'),
                 (['--group', 'web', '--group-policy', 'anti-affinity'],
                  'c'),
                 (['--different-host', 'c', '--different-host', 'b'], 'a'),
                 (['--same-host', 'a', '--same-host', 'b'], 'b')]
        for flags, chosen in cases:
            result = self.run_command('select', '--hosts', hosts, *flags)
            self.assertEqual((0, chosen + '\n'),
                             (result.returncode, result.stdout), flags)
        for flags, message in (
                (['--group', 'web'], "group 'web' needs a group_policy"),
                (['--group-policy', 'affinity'],
                 'group_policy needs a group'),
                (['--group-policy', 'sideways'], 'invalid choice'),
                (['--group', 'web', '--request', '{}'], 'not both')):
            result = self.run_command('select', '--hosts', hosts, *flags)
            self.assertEqual(2, result.returncode, flags)
            self.assertIn(message, result.stderr)
            self.assertNotIn('Traceback', result.stderr)

    def test_only_commands_that_decide_say_which_driver_they_loaded(self):
        for args, said in ((['drivers'], False), (['weighers'], False),
                           (['--debug', 'drivers'], True),
                           (['select', '--hosts', EXAMPLE_HOSTS], True)):
            result = self.run_command(*args)
            self.assertEqual(0, result.returncode, result.stderr)
            self.assertEqual(said, 'Loaded scheduler driver' in
                             result.stderr, args)
        # The level is the command's only: the next one logs again.
        self.assertIn('Loaded scheduler driver', self.run_command(
            'select', '--hosts', EXAMPLE_HOSTS).stderr)

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
             '--top goes with --explain'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--top', '5'],
             '--top goes with --explain'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--explain', '--top', '0'],
             '--top must be at least 1'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--request',
              '{"memory_mb": 1, "memory_mb": 2}'],
             "--request is not valid JSON: key 'memory_mb' appears twice"),
            (['select'], 'select without --hosts needs a shared host store'),
            (['select', '--hosts', EXAMPLE_HOSTS, '--consumer', 'c1'],
             '--consumer names the claims made on the tracked hosts; a '
             'hosts file claims nothing'),
            (['select', '--dry-run', '--consumer', 'c1'],
             '--consumer names the claims made on the tracked hosts; '
             '--dry-run claims nothing'),
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
        self.add_plugins(
            'sora-broken', {'sora.scheduler': {'broken': 'sora_broken:X'}},
            {'sora_broken': 'raise ImportError("libfoo missing")\n'})
        result = self.run_command('drivers')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertRegex(result.stdout, r'\n\s+broken\s+sora-broken 1.0\s+'
                                        r'ERROR: ImportError: libfoo missing')
        conf = self.write_file('sora.conf',
                               '[DEFAULT]\nscheduler_driver = broken\n')
        result = self.run_command('drivers', conf=conf)
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

    def test_select_runs_the_filters_once_per_pick(self):
        self.add_plugins('sora-counting', {
            'sora.scheduler.filters': {'counting': 'sora_counting:Counting'}},
            {'sora_counting': '''
                from sora.scheduler import base

                class Counting(base.Filter):
                    """Count the runs of the filters."""
                    runs = 0

                    def filter_mask(self, hosts, request):
                        Counting.runs += 1
                        return hosts.enabled | True
                '''})
        conf = self.write_file('counting.conf', '''
            [DEFAULT]
            scheduler_driver = filter
            [filter_scheduler]
            enabled_filters = enabled,memory,cpu,disk,counting
            host_subset_size = 3
            ''')
        for flags, runs in ((['--explain'], 1), ([], 1),
                            (['--explain', '--count', '3'], 3),
                            (['--explain', '--format', 'json'], 1)):
            with self.subTest(flags=flags):
                result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                          *flags, conf=conf)
                self.assertEqual(0, result.returncode, result.stderr)
                counting = sys.modules['sora_counting'].Counting
                self.assertEqual(runs, counting.runs)
                counting.runs = 0
                if '--format' in flags:
                    data = json.loads(result.stdout)
                    chosen = data['destinations']
                    best = [entry['id'] for entry in
                            data['explanation']['ranking'][:3]]
                else:
                    lines = result.stdout.splitlines()
                    chosen = [line for line in lines
                              if not line.startswith('#')]
                    best = re.findall(r'(?m)^# \d+\s+(node-\S+)',
                                      result.stdout)[:3]
                self.assertEqual(int(flags[2]) if '--count' in flags else 1,
                                 len(chosen))
                if best:
                    # host_subset_size = 3: one of the best three at random
                    self.assertIn(chosen[0], best)
                if '--format' in flags:
                    self.assertEqual(3, data['explanation']['chosen_among'])
                elif '--explain' in flags:
                    self.assertIn('# each pick is drawn at random among the '
                                  'best 3 ([filter_scheduler] '
                                  'host_subset_size)\n', result.stdout)

    def test_explain_says_when_the_pick_is_random_among_all(self):
        # randombase weighs nothing: any candidate; the filter driver by
        # default always takes the best, and says nothing.
        for driver, line in (
                ('randombase', '# each pick is drawn at random among the '
                               '11 candidates (the driver weighs nothing)'),
                ('filter', None)):
            conf = self.write_file(
                f'{driver}.conf', f'[DEFAULT]\nscheduler_driver = {driver}\n')
            result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                      '--explain', conf=conf)
            self.assertEqual(0, result.returncode, result.stderr)
            randomly = [text for text in result.stdout.splitlines()
                        if 'at random' in text]
            self.assertEqual([line] if line else [], randomly)

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
        for kind in ('drivers', 'filters', 'weighers'):
            listing = self.run_command(kind, conf=self.conf).stdout
            self.assertNotIn('``', listing)  # summaries are plain text

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
        self.assertRegex(lines[1], r'^OK      option values: \d+ options, '
                                   r'all valid; every Sora option at its '
                                   r'default$')
        self.assertEqual('OK      option names: every option and section '
                         'set is known', lines[2])
        self.assertIn('OK      filter anti_affinity: loads (Keep the hosts '
                      "running no container of the request's group.)", lines)
        self.assertIn('OK      weigher containers: loads (Weigh hosts by how '
                      'few containers they run.)', lines)
        self.assertTrue(lines[-5].startswith(
            'OK      scheduler driver memorybase: loads (Pick the fitting'))
        self.assertEqual('OK      host store memory: answers: 0 hosts, 0 '
                         'claims', lines[-4])
        self.assertEqual('OK      hosts file: ' + EXAMPLE_HOSTS + ': 12 hosts',
                         lines[-3])
        self.assertEqual('OK      metrics: off: [metrics] bind is empty (a '
                         'service exposing the default registry exposes the '
                         'metrics)', lines[-2])
        self.assertEqual('22 of 22 checks OK', lines[-1])

    def test_options_changed_from_their_defaults_are_summed_up(self):
        conf = self.write_file('sora.conf', '''
            [DEFAULT]
            scheduler_driver = filter
            debug = true
            [filter_scheduler]
            host_subset_size = 3
            weighers = memory,disk
            ''')
        result = self.run_command('check', conf=conf)
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('OK      option values: ', result.stdout)
        self.assertIn(' options, all valid; Sora options changed from their '
                      'defaults: [DEFAULT] scheduler_driver = filter, '
                      '[filter_scheduler] weighers = memory,disk, '
                      '[filter_scheduler] host_subset_size = 3\n',
                      result.stdout)

    def test_each_broken_part_is_a_failed_line_once(self):
        conf = self.write_file('bad.conf', '''
            [DEFAULT]
            scheduler_driver = filter
            [filter_scheduler]
            enabled_filters = enabled,memory,cpu,disk,ram,max_containers
            weighers = memory,price
            memory_weight_multiplier = nan
            max_containers_per_host = lots
            host_subset_size = 0
            ''')
        bad_hosts = self.write_file('hosts.json', '[{"id": "n1"}]')
        result = self.run_command('check', '--hosts', bad_hosts, conf=conf)
        self.assertEqual(2, result.returncode)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), len(set(lines)), result.stdout)
        where = '[filter_scheduler] {} (set in ' + conf + ')'
        self.assertEqual([
            f'OK      config files: {conf}',
            # every bad value at once, each on its own line
            'FAILED  option values: ' + where.format('host_subset_size')
            + ': Should be greater than or equal to 1',
            'FAILED  option values: '
            + where.format('max_containers_per_host')
            + ": invalid literal for int() with base 10: 'lots'",
            'FAILED  option values: '
            + where.format('memory_weight_multiplier')
            + ': must be a finite number, got nan',
            'OK      option names: every option and section set is known',
        ], lines[:5])
        self.assertTrue(lines[9].startswith(
            'FAILED  filter ram: ' + where.format('enabled_filters')
            + ": no plugin named 'ram'"), lines[9])
        # it reads max_containers_per_host, reported above already
        self.assertEqual('SKIPPED filter max_containers: not checked while '
                         'option values are bad', lines[10])
        self.assertTrue(lines[12].startswith(
            'FAILED  weigher price: ' + where.format('weighers')))
        self.assertEqual('SKIPPED scheduler driver filter: not built until '
                         'the option values and plugins above are fixed',
                         lines[13])
        self.assertEqual("FAILED  hosts file: host 0 (id 'n1'): missing "
                         "required field 'memory_mb'", lines[15])
        self.assertEqual('SKIPPED weigher memory: not checked while option '
                         'values are bad', lines[11])
        self.assertEqual('8 of 17 checks OK (3 skipped)', lines[-1])

    def test_misspelt_options_and_sections_are_reported(self):
        conf = self.write_file('typo.conf', '''
            [DEFAULT]
            debugg = true
            [filter_scheduler]
            memroy_weight_multiplier = -1
            [filter_schedular]
            host_subset_size = 2
            [Filter_Scheduler]
            weighers = memory
            [database]
            connection = sqlite://
            ''')
        result = self.run_command('check', conf=conf)
        self.assertEqual(2, result.returncode)
        self.assertIn(
            f'FAILED  option names: [DEFAULT] debugg (set in {conf}) is not '
            'an option; did you mean debug?\n'
            'FAILED  option names: [filter_scheduler] '
            f'memroy_weight_multiplier (set in {conf}) is not an option; '
            'did you mean memory_weight_multiplier?\n'
            f'FAILED  option names: [filter_schedular] (in {conf}) is not a '
            'section Sora knows; did you mean [filter_scheduler]?\n',
            result.stdout)
        # oslo.config reads [Filter_Scheduler] as [filter_scheduler];
        # another service's [database] is not Sora's to judge.
        self.assertNotIn('Filter_Scheduler', result.stdout)
        self.assertNotIn('database', result.stdout)
        # the driver builds: a misspelling changes nothing it uses
        self.assertIn('OK      scheduler driver memorybase', result.stdout)

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

    def test_config_dir_and_every_form_of_config_file(self):
        conf = self.write_file('sora.conf', '[DEFAULT]\n')
        extra = self.write_file('20-driver.conf',
                                '[DEFAULT]\nscheduler_driver = filter\n')
        first = self.write_file('10-debug.conf', '[DEFAULT]\ndebug = true\n')
        os.rename(first, os.path.join(os.path.dirname(extra),
                                      '10-debug.conf'))
        first = os.path.join(os.path.dirname(extra), '10-debug.conf')
        result = self.run_command(f'--config-file={conf}', '--config-dir',
                                  os.path.dirname(extra), 'check', conf=None)
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertIn(f'OK      config files: {conf}, {first}, {extra}\n',
                      result.stdout)
        self.assertIn('OK      scheduler driver filter', result.stdout)

    def test_default_config_dir_is_read_and_listed(self):
        conf_d = os.path.join(self.home, '.sora', 'sora.conf.d')
        os.makedirs(conf_d)
        path = os.path.join(conf_d, '50-driver.conf')
        with open(path, 'w') as out:
            out.write('[DEFAULT]\nscheduler_driver = randombase\n')
        result = self.run_command('check', conf=None)
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertIn(f'OK      config files: {path}\n', result.stdout)
        self.assertIn('OK      scheduler driver randombase', result.stdout)


class BadInputTest(CommandTestCase):
    """Whatever the input, one error line and exit status 2."""

    def assert_fails(self, result, message, status=2):
        self.assertEqual(status, result.returncode, result.stderr)
        self.assertIn(f'sora-scheduler: error: {message}', result.stderr)
        self.assertEqual(1, result.stderr.count('sora-scheduler: error:'),
                         result.stderr)

    def test_a_count_of_containers_too_large_for_the_table(self):
        hosts = self.write_file('hosts.json', json.dumps(
            [{'id': 'n1', 'memory_mb': 1,
              'containers': 9223372036854775807}]))
        self.assert_fails(self.run_command('select', '--hosts', hosts),
                          "host 0 (id 'n1'): containers must be at most "
                          f'{host_state.MAX_CONTAINERS}')

    def test_ids_that_are_not_plain_text_are_shown_as_json_strings(self):
        ids = ['plain', 'two\nlines', '\u2028', '"quoted', 'tab\there',
               'été', '# 1 node']
        hosts = self.write_file('hosts.json', json.dumps(
            [{'id': host_id, 'memory_mb': 100} for host_id in ids]))
        result = self.run_command('select', '--hosts', hosts,
                                  '--memory-mb', '100', '--count',
                                  str(len(ids)))
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len(ids), len(lines))
        self.assertEqual(
            sorted(['plain', '"two\\nlines"', '"\\u2028"', '"\\"quoted"',
                    '"tab\\there"', 'été', '"# 1 node"']), sorted(lines))
        self.assertEqual(sorted(ids), sorted(
            json.loads(line) if line.startswith('"') else line
            for line in lines))
        result = self.run_command('select', '--hosts', hosts, '--count', '7',
                                  '--memory-mb', '100', '--format', 'json')
        self.assertEqual(sorted(ids), sorted(
            json.loads(result.stdout)['destinations']))
        conf = self.write_file('filter.conf',
                               '[DEFAULT]\nscheduler_driver = filter\n')
        result = self.run_command('select', '--hosts', hosts, '--explain',
                                  '--top', '7', conf=conf)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(1 + 1 + 7 + 1, len(result.stdout.splitlines()))

    def test_strings_that_are_not_unicode_text_are_refused(self):
        hosts = self.write_file('hosts.json', json.dumps(
            [{'id': 'n\ud800', 'memory_mb': 100}]))
        self.assert_fails(self.run_command('select', '--hosts', hosts),
                          "host 0: id is not Unicode text (it holds a lone "
                          "surrogate): 'n\\ud800' (a string)")
        hosts = self.write_file('hosts.json', '[]')
        self.assert_fails(
            self.run_command('select', '--hosts', hosts, '--request',
                             '{"group": "\\udcff", "group_policy": '
                             '"affinity"}'),
            'request: group is not Unicode text')

    def test_a_request_nested_too_deeply(self):
        hosts = self.write_file('hosts.json', '[]')
        self.assert_fails(
            self.run_command('select', '--hosts', hosts, '--request',
                             '[' * 100000),
            '--request is not valid JSON: maximum recursion depth')

    def test_an_option_that_refers_to_itself(self):
        for text, option in (
                ('[DEFAULT]\nscheduler_driver = $scheduler_driver\n',
                 '[DEFAULT] scheduler_driver'),
                ('[DEFAULT]\nlog_file = $log_dir\nlog_dir = $log_file\n',
                 '[DEFAULT] log_file'),
                ('[filter_scheduler]\nweighers = $weighers\n',
                 '[filter_scheduler] weighers')):
            conf = self.write_file('loop.conf', text)
            message = (f'{option} (set in {conf}')
            for command in ('select', 'drivers'):
                with self.subTest(text=text, command=command):
                    self.assert_fails(self.run_command(
                        command, '--hosts', EXAMPLE_HOSTS, conf=conf)
                        if command == 'select' else
                        self.run_command(command, conf=conf), message)
                    self.assertIn('refers to itself with $',
                                  self.command.last.stderr)
            result = self.run_command('check', conf=conf)
            self.assertEqual(2, result.returncode)
            if 'log_file' in text:
                # oslo.config substitutes command line options as it
                # parses: check stops there, like every command.
                self.assert_fails(result, message)
            else:
                self.assertIn(f'FAILED  option values: {message}): its '
                              'value refers to itself with $', result.stdout)

    def test_an_option_that_refers_to_an_unknown_one(self):
        conf = self.write_file('sora.conf',
                               '[DEFAULT]\nscheduler_driver = $fast\n')
        self.assert_fails(
            self.run_command('select', '--hosts', EXAMPLE_HOSTS, conf=conf),
            f'[DEFAULT] scheduler_driver (set in {conf}): its value refers '
            'to $fast, which is not an option (write $$ for a literal $)')

    def test_logging_that_cannot_be_set_up(self):
        garbage = self.write_file('logging.conf', '[loggers]\nkeys = x\n')
        cases = [
            (['--log-config-append', '/nonexistent/logging.conf'],
             'cannot set up logging: Error loading logging config '
             '/nonexistent/logging.conf'),
            (['--log-config-append', garbage],
             f'cannot set up logging: Error loading logging config '
             f'{garbage}'),
            (['--use-syslog', '--syslog-log-facility', 'LOG_NOWHERE'],
             'cannot set up logging: syslog facility must be one of'),
            (['--log-file', '/nonexistent/dir/sora.log'],
             'cannot set up logging: [Errno 2] No such file or directory'),
        ]
        try:
            import systemd.journal  # noqa: F401
        except ImportError:
            cases.append((['--use-journal'], 'cannot set up logging: '
                                             'use_journal needs the systemd '
                                             'Python bindings'))
        for flags, message in cases:
            with self.subTest(flags=flags):
                self.assert_fails(self.run_command(
                    *flags, 'select', '--hosts', EXAMPLE_HOSTS), message)

    def test_hosts_from_a_closed_stdin(self):
        self.assert_fails(
            self.run_command('select', '--hosts', '-', stdin=None),
            'cannot read standard input (--hosts -): stdin is '
            'closed')

    def test_a_closed_stdout_is_refused_before_anything_runs(self):
        self.assert_fails(
            self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                             stdout=False),
            'stdout is closed: there is nowhere to write the results')

    def test_ctrl_c_is_one_line_and_exit_130(self):
        class Interrupted:
            def read(self, size=-1):
                raise KeyboardInterrupt

        result = self.run_command('select', '--hosts', '-',
                                  stdin=Interrupted())
        self.assertEqual(130, result.returncode)
        self.assertEqual('sora-scheduler: error: interrupted\n',
                         result.stderr)

    def test_hosts_input_larger_than_the_limit_is_refused_unread(self):
        # A sparse file: its size is over the limit, its blocks are not.
        huge = self.write_file('huge.json', '')
        os.truncate(huge, hosts_file.MAX_HOSTS_FILE_BYTES + 1)
        self.assert_fails(
            self.run_command('select', '--hosts', huge),
            f'hosts file {huge} is larger than 512 MiB, the most '
            'sora-scheduler reads')
        # Endless or unsized input is read up to the limit, not further.
        self.useFixture(base.fixtures.MonkeyPatch(
            'sora.scheduler.hosts_file.MAX_HOSTS_FILE_BYTES', 4096))
        for path, stdin, name in (
                ('/dev/zero', '', 'hosts file /dev/zero'),
                ('-', ' ' * 4097, 'standard input (--hosts -)')):
            with self.subTest(path=path):
                self.assert_fails(
                    self.run_command('select', '--hosts', path, stdin=stdin),
                    f'{name} is larger than 0 MiB')
        exactly = self.write_file('limit.json', '[]'.ljust(4096))
        self.assert_fails(self.run_command('select', '--hosts', exactly),
                          'no valid host among 0', status=1)

    def test_a_million_hosts_fit_under_the_limit(self):
        host = {'id': 'node-0000001', 'memory_mb': 6144,
                'memory_total_mb': 16384, 'cpus': 5.5, 'cpus_total': 8,
                'disk_gb': 310, 'containers': 9,
                'labels': {'zone': 'az1', 'ssd': 'true'}, 'groups': ['web'],
                'enabled': True}
        size = len(json.dumps(host, indent=2)) + 2  # ",\n"
        self.assertLess(size * 10**6, hosts_file.MAX_HOSTS_FILE_BYTES / 1.5)

    def test_config_files_too_large_or_not_regular_are_refused(self):
        from sora.conf import files as conf_files

        huge = self.write_file('huge.conf', '')
        os.truncate(huge, conf_files.MAX_CONFIG_FILE_BYTES + 1)
        conf_d = os.path.dirname(self.write_file('10-huge.conf', ''))
        os.truncate(os.path.join(conf_d, '10-huge.conf'),
                    conf_files.MAX_CONFIG_FILE_BYTES + 1)
        too_large = 'is too large: 16777217 bytes, the limit is 16777216'
        for flags, message in (
                (['--config-file', huge], f'config file {huge} {too_large}'),
                ([f'--config-file={huge}'], f'config file {huge} {too_large}'),
                (['--config-dir', conf_d],
                 f'config file {conf_d}/10-huge.conf {too_large}'),
                (['--config-file', '/dev/zero'],
                 'config file /dev/zero is not a regular file')):
            with self.subTest(flags=flags):
                self.assert_fails(self.run_command(
                    *flags, 'select', '--hosts', EXAMPLE_HOSTS, conf=None),
                    message)
        result = self.run_command('--config-file', '/dev/null', 'select',
                                  '--hosts', EXAMPLE_HOSTS, conf=None)
        self.assertEqual((0, 'node-04\n'), result[:2])

    def test_a_default_config_file_too_large_is_refused(self):
        os.mkdir(os.path.join(self.home, '.sora'))
        path = os.path.join(self.home, '.sora', 'sora.conf')
        with open(path, 'w') as out:
            out.truncate(32 * 2**20)
        self.assert_fails(self.run_command('drivers', conf=None),
                          f'config file {path} is too large')


class CommandLineTest(CommandTestCase):

    def test_a_global_option_after_the_command(self):
        for args, flag in (
                (['select', '--config-file', SHIPPED_CONF, '--hosts',
                  EXAMPLE_HOSTS], '--config-file'),
                (['check', '--debug'], '--debug'),
                (['drivers', f'--log-file={self.home}/x.log'], '--log-file'),
                (['claims', '--debug'], '--debug')):
            with self.subTest(args=args):
                result = self.run_command(*args, conf=None)
                self.assertEqual(2, result.returncode)
                self.assertEqual(
                    f'sora-scheduler: error: {flag} is a global option: '
                    'global options go before the command, e.g. '
                    f'sora-scheduler {flag} ... {args[0]} ...',
                    result.stderr.splitlines()[-1])
                self.assertEqual(1, result.stderr.count('error:'),
                                 result.stderr)
                self.assertNotIn('config files:', result.stderr)

    def test_a_misspelt_option_is_a_warning_at_start(self):
        conf = self.write_file('typo.conf', '''
            [DEFAULT]
            schedular_driver = filter
            [filter_schedular]
            host_subset_size = 2
            ''')
        result = self.run_command('select', '--hosts', EXAMPLE_HOSTS,
                                  conf=conf)
        self.assertEqual((0, 'node-04\n'), result[:2])
        warnings = [line for line in result.stderr.splitlines()
                    if ' WARNING ' in line]
        self.assertEqual(2, len(warnings), result.stderr)
        self.assertIn(f'WARNING sora.conf [-] Ignored: [DEFAULT] '
                      f'schedular_driver (set in {conf}) is not an option; '
                      'did you mean scheduler_driver?', warnings[0])
        self.assertIn(f'Ignored: [filter_schedular] (in {conf}) is not a '
                      'section Sora knows; did you mean [filter_scheduler]?',
                      warnings[1])

    def test_help_and_version_exit_0(self):
        for flag in ('--help', '--version'):
            with self.subTest(flag=flag):
                result = self.run_command(flag, conf=None)
                self.assertEqual(0, result.returncode, result.stderr)

    def test_main_can_run_again_in_one_process(self):
        conf = self.write_file('sora.conf',
                               '[DEFAULT]\nscheduler_driver = filter\n')
        first = self.run_command('--debug', 'select', '--hosts',
                                 EXAMPLE_HOSTS, conf=conf)
        second = self.run_command('select', '--hosts', EXAMPLE_HOSTS)
        self.assertIn('Loaded scheduler driver filter', first.stderr)
        self.assertIn('Loaded scheduler driver memorybase', second.stderr)
        self.assertIn('DEBUG', first.stderr)
        self.assertNotIn('DEBUG', second.stderr)


class RealProcessTest(base.TestCase):
    """The installed console script, where only a real process will do."""

    def setUp(self):
        super().setUp()
        self.env = dict(os.environ, HOME=os.path.dirname(
            self.write_file('.keep', '')))

    def start(self, *args, **kwargs):
        return subprocess.Popen(
            [COMMAND, '--config-file', SHIPPED_CONF] + list(args),
            env=self.env, stderr=subprocess.PIPE, text=True, **kwargs)

    def test_exit_statuses(self):
        for args, status, out in (
                (['--hosts', EXAMPLE_HOSTS], 0, 'node-04\n'),
                (['--hosts', EXAMPLE_HOSTS, '--memory-mb', '99999'], 1, ''),
                (['--hosts', '/nonexistent.json'], 2, '')):
            with self.subTest(args=args):
                process = self.start('select', *args, stdout=subprocess.PIPE)
                stdout, stderr = process.communicate(timeout=60)
                self.assertEqual((status, out), (process.returncode, stdout))
                self.assertNotIn('Traceback', stderr)

    def test_a_closed_pipe_is_silent(self):
        # As "sora-scheduler ... | head -0": nobody reads stdout.
        reader, writer = os.pipe()
        os.close(reader)
        try:
            process = self.start('select', '--hosts', EXAMPLE_HOSTS,
                                 '--count', '3', stdout=writer)
        finally:
            os.close(writer)
        _out, stderr = process.communicate(timeout=60)
        self.assertEqual(141, process.returncode, stderr)
        self.assertNotIn('Broken pipe', stderr)
        self.assertNotIn('Exception ignored', stderr)
        self.assertNotIn('error', stderr)

    def test_sigint_is_one_line_and_exit_130(self):
        # check reads the hosts from stdin last, after logging the driver.
        # A shell running the tests in the background ignores SIGINT, and
        # its children inherit that: the command gets the default back.
        process = subprocess.Popen(
            [sys.executable, '-c', 'import os, signal, sys; '
             'signal.signal(signal.SIGINT, signal.SIG_DFL); '
             'os.execv(sys.argv[1], sys.argv[1:])', COMMAND,
             '--config-file', SHIPPED_CONF, 'check', '--hosts', '-'],
            env=self.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        try:
            for line in process.stderr:
                if 'Loaded scheduler driver' in line:
                    break
            process.send_signal(signal.SIGINT)
            rest = process.stderr.read()
            process.wait(timeout=60)
        finally:
            process.stdin.close()
            process.stderr.close()
        self.assertEqual(130, process.returncode)
        self.assertEqual('sora-scheduler: error: interrupted\n', rest)
