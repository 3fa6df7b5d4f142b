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

"""Each option with a bad value: the manager, the command and check agree.

Every case must fail at start, naming the option and the file that set it,
through SchedulerManager, ``sora-scheduler select`` and
``sora-scheduler check`` alike.
"""

import os
import re

from sora import conf as sora_conf
from sora.conf import diagnosis
from sora.scheduler import exceptions
from sora.scheduler import host_store
from sora.scheduler import manager
from tests import base

HOSTS = os.path.join(os.path.dirname(__file__), '..', '..', 'etc', 'sora',
                     'hosts.example.json')

CASES = [
    ('DEFAULT', 'scheduler_driver', 'nosuch',
     "no plugin named 'nosuch' in namespace 'sora.scheduler'"),
    ('DEFAULT', 'scheduler_driver', 'os.path:join', "no plugin named"),
    ('DEFAULT', 'plugin_time_limit', '-1',
     'Should be greater than or equal to 0'),
    ('DEFAULT', 'plugin_time_limit', 'soon', 'could not convert string'),
    ('filter_scheduler', 'enabled_filters', 'enabled,memory,cpu,disk,nosuch',
     "no plugin named 'nosuch' in namespace 'sora.scheduler.filters'"),
    ('filter_scheduler', 'weighers', 'memory,nosuch',
     "no plugin named 'nosuch' in namespace 'sora.scheduler.weighers'"),
    ('filter_scheduler', 'memory_weight_multiplier', 'nan',
     'must be a finite number, got nan'),
    ('filter_scheduler', 'cpu_weight_multiplier', '-inf',
     'must be a finite number, got -inf'),
    ('filter_scheduler', 'disk_weight_multiplier', 'heavy',
     'could not convert string to float'),
    ('filter_scheduler', 'containers_weight_multiplier', '1e999',
     'must be a finite number, got inf'),
    ('filter_scheduler', 'max_containers_per_host', '-5',
     'Should be greater than or equal to 1'),
    ('filter_scheduler', 'max_containers_per_host', 'many',
     'invalid literal for int()'),
    ('filter_scheduler', 'host_subset_size', '0',
     'Should be greater than or equal to 1'),
    ('DEFAULT', 'scheduler_driver', '$scheduler_driver',
     'its value refers to itself with $'),
    ('DEFAULT', 'plugin_time_limit', '${scheduler_driver}',
     'could not convert string to float'),
    ('filter_scheduler', 'weighers', '$nosuch',
     'its value refers to $nosuch, which is not an option'),
    ('scheduler', 'claim_timeout', 'abc',
     'could not convert string to float'),
    ('scheduler', 'claim_timeout', '-1',
     'Should be greater than or equal to 0'),
    ('etcd', 'endpoints', '',
     'no etcd URL given: give at least one, such as http://127.0.0.1:2379'),
    ('etcd', 'endpoints', 'http://127.0.0.1:2379,127.0.0.1:2379',
     "'127.0.0.1:2379' is not an etcd URL: give http://HOST:PORT or "
     'https://HOST:PORT'),
    ('etcd', 'endpoints', 'http://127.0.0.1:99999', 'is not an etcd URL'),
    ('etcd', 'endpoints', 'ftp://127.0.0.1:2379', 'is not an etcd URL'),
    ('etcd', 'endpoints', 'http://127.0.0.1:2379/v3', 'is not an etcd URL'),
]


class BadConfigTest(base.TestCase):

    def write_conf(self, group, name, value):
        text = '[DEFAULT]\n'
        if name != 'scheduler_driver':
            text += 'scheduler_driver = filter\n'
        if group != 'DEFAULT':
            text += f'[{group}]\n'
        return self.write_file('sora.conf', text + f'{name} = {value}\n')

    def setUp(self):
        super().setUp()
        self.run_command = self.useFixture(base.Command())

    def test_each_bad_option_fails_at_start_everywhere(self):
        for group, name, value, reason in CASES:
            with self.subTest(option=name, value=value):
                path = self.write_conf(group, name, value)
                where = f'[{group}] {name} (set in {path})'
                with open(path) as conf_file:
                    conf = self.make_conf(conf_file.read())
                error = self.assertRaises(exceptions.SchedulerError,
                                          manager.SchedulerManager, conf)
                self.assertIn(reason, str(error))
                self.assertIn(name, str(error))
                if not reason.startswith('no plugin named'):
                    self.assertIsInstance(error, exceptions.InvalidConfig)

                result = self.run_command('--config-file', path, 'select',
                                          '--hosts', HOSTS)
                self.assertEqual(2, result.returncode)
                self.assertIn(f'sora-scheduler: error: {where}',
                              result.stderr)
                self.assertIn(reason, result.stderr)
                self.assertNotIn('Traceback', result.stderr)

                result = self.run_command('--config-file', path, 'check')
                self.assertEqual(2, result.returncode)
                self.assertRegex(result.stdout,
                                 rf'FAILED  .*{re.escape(where)}: .*'
                                 rf'{re.escape(reason)}')
                # Every check is reported, none stops the command.
                self.assertRegex(result.stdout, r'\d+ of \d+ checks OK')
                self.assertEqual('', result.stderr)

    def test_a_store_that_rejects_its_options_is_invalid_config(self):
        path = self.write_file('sora.conf', '[scheduler]\nhost_store = etcd\n'
                                            '[etcd]\nendpoints = etcd:2379\n')
        with open(path) as conf_file:
            conf = self.make_conf(conf_file.read())
        sora_conf.register_opts(conf)
        error = self.assertRaises(exceptions.InvalidConfig,
                                  host_store.load, conf)
        self.assertIn("[etcd] endpoints (set in ", str(error))
        self.assertIn("'etcd:2379' is not an etcd URL", str(error))
        result = self.run_command('--config-file', path, 'check')
        self.assertIn('SKIPPED host store etcd: not checked while option '
                      'values are bad', result.stdout)

    def test_missing_unreadable_and_undecodable_config_files(self):
        binary = self.write_file('binary.conf', '')
        with open(binary, 'wb') as out:
            out.write(b'\xff\xfe[DEFAULT]\n')
        directory = os.path.dirname(binary)
        for path, message in (
                ('/nonexistent/sora.conf', 'Failed to find some config '
                                           'files: /nonexistent/sora.conf'),
                (directory, f"Is a directory: '{directory}'"),
                (binary, f'config file {binary} is not UTF-8 text')):
            for command in ('select', 'check'):
                with self.subTest(path=path, command=command):
                    result = self.run_command('--config-file', path, command,
                                              '--hosts', HOSTS)
                    self.assertEqual(2, result.returncode)
                    self.assertIn(message, result.stderr)
                    self.assertNotIn('Traceback', result.stderr)

    def test_undecodable_file_in_a_config_dir_is_named(self):
        binary = self.write_file('50-bad.conf', '')
        with open(binary, 'wb') as out:
            out.write(b'[DEFAULT]\n# \xff\n')
        result = self.run_command('--config-dir', os.path.dirname(binary),
                                  'check')
        self.assertEqual(2, result.returncode)
        self.assertIn(f'config file {binary} is not UTF-8 text',
                      result.stderr)

    def test_bad_logging_option_names_the_file(self):
        path = self.write_file('sora.conf', '[DEFAULT]\ndebug = 7\n')
        result = self.run_command('--config-file', path, 'check')
        self.assertEqual(2, result.returncode)
        self.assertIn('argument --debug: Invalid Boolean value: 7',
                      result.stderr)
        self.assertIn('sora-scheduler: error: invalid configuration '
                      f'(config files: {path})', result.stderr)

    def test_every_bad_value_is_reported_at_once(self):
        conf = self.make_conf('''
            [DEFAULT]
            plugin_time_limit = -1
            scheduler_driver = $scheduler_driver
            [filter_scheduler]
            host_subset_size = 0
            memory_weight_multiplier = nan
            ''')
        error = self.assertRaises(exceptions.InvalidConfig,
                                  manager.SchedulerManager, conf)
        self.assertEqual(4, len(str(error).split('; ')), error)
        for name in ('plugin_time_limit', 'scheduler_driver',
                     'host_subset_size', 'memory_weight_multiplier'):
            self.assertEqual(1, str(error).count(f'] {name} (set in '))


class DescribeErrorTest(base.TestCase):
    """Messages come from oslo.config's exception data, not its wording."""

    def test_a_value_error_names_the_option_file_and_reason(self):
        conf = self.make_conf('''
            [filter_scheduler]
            host_subset_size = many
            ''')
        sora_conf.register_opts(conf)
        path = conf.config_file[0]
        try:
            conf.filter_scheduler.host_subset_size
        except ValueError as error:
            raised = error
        # The reason is the option type's own ValueError: the text around
        # it may change with oslo.config's versions.
        self.assertEqual(
            f'[filter_scheduler] host_subset_size (set in {path}): invalid '
            "literal for int() with base 10: 'many'",
            diagnosis.describe_error(conf, 'filter_scheduler',
                                     'host_subset_size', raised))
        self.assertEqual(
            f'option host_subset_size (set in {path}): invalid literal for '
            "int() with base 10: 'many'",
            diagnosis.describe_error(conf, None, 'host_subset_size', raised))
