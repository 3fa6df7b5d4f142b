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

"""Diagnosis of a configuration: its files, where options are set, errors."""

import os

import fixtures
from oslo_config import cfg

from sora import conf as sora_conf
from sora.conf import diagnosis
from sora.conf import files as conf_files
from sora.scheduler import exceptions
from tests import base


class ConfigChecksTest(base.TestCase):
    """The checks of the files, names and values a conf holds."""

    def test_config_files_come_from_oslo_config(self):
        conf_d = os.path.dirname(self.write_file('20-b.conf', '[DEFAULT]\n'))
        with open(os.path.join(conf_d, '10-a.conf'), 'w') as out:
            out.write('[DEFAULT]\n')
        main = self.write_file('sora.conf', '[DEFAULT]\n')
        conf = cfg.ConfigOpts()
        conf([f'--config-file={main}', '--config-dir', conf_d],
             project='sora', default_config_files=[], default_config_dirs=[])
        self.assertEqual([main, os.path.join(conf_d, '10-a.conf'),
                          os.path.join(conf_d, '20-b.conf')],
                         conf_files.config_files(conf))
        self.assertEqual([], conf_files.config_files(cfg.ConfigOpts()))

    def test_misspelt_names_warn_once_per_conf(self):
        conf = self.make_conf('''
            [DEFAULT]
            schedular_driver = filter
            [filter_schedular]
            weighers = memory
            [databse]
            connection = sqlite://
            ''')
        sora_conf.register_opts(conf)
        path = conf.config_file[0]
        logger = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        messages = diagnosis.warn_unknown_options(conf)
        self.assertEqual([
            f'[DEFAULT] schedular_driver (set in {path}) is not an option; '
            'did you mean scheduler_driver?',
            f'[filter_schedular] (in {path}) is not a section Sora knows; '
            'did you mean [filter_scheduler]?'], messages)
        self.assertEqual([f'Ignored: {message}' for message in messages],
                         logger.output.splitlines())
        diagnosis.warn_unknown_options(conf)  # a reload: nothing new
        self.assertEqual(2, len(logger.output.splitlines()))

    def test_a_file_too_large_or_not_regular(self):
        big = self.write_file('big.conf', '[DEFAULT]\n' * 10)
        self.assertRaisesRegex(
            exceptions.InvalidConfig,
            f'^config file {big} is too large: 100 bytes, the limit is 99$',
            conf_files.check_config_file, big, limit=99)
        conf_files.check_config_file(big, limit=100)
        conf_files.check_config_file('/dev/null')
        conf_files.check_config_file('/nonexistent.conf')  # oslo.config's
        self.assertRaisesRegex(
            exceptions.InvalidConfig, 'config file /dev/zero is not a '
                                      'regular file',
            conf_files.check_config_file, '/dev/zero')

    def test_every_bad_value_once_and_the_changed_ones(self):
        conf = self.make_conf('''
            [DEFAULT]
            scheduler_driver = $scheduler_driver
            plugin_time_limit = 2.5
            [filter_scheduler]
            host_subset_size = 0
            host_subset_size = -1
            cpu_weight_multiplier = -inf
            disk_weight_multiplier = 2
            ''')
        sora_conf.register_opts(conf)
        problems = diagnosis.bad_values(conf, sora_conf.own_options())
        self.assertEqual(3, len(problems), problems)
        self.assertIn('[DEFAULT] scheduler_driver (set in ', problems[0])
        self.assertEqual(
            ['[DEFAULT] plugin_time_limit = 2.5',
             '[filter_scheduler] disk_weight_multiplier = 2.0'],
            diagnosis.changed_options(conf))

    def test_moved_names_are_still_found_in_sora_conf(self):
        # The README and the admin guide name them in sora.conf.
        self.assertIs(diagnosis.warn_unknown_options,
                      sora_conf.warn_unknown_options)
        self.assertEqual(conf_files.MAX_CONFIG_FILE_BYTES,
                         sora_conf.MAX_CONFIG_FILE_BYTES)
        for name in ('where', 'check'):
            self.assertRaises(AttributeError, getattr, sora_conf, name)
