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

"""Sora's options, their registration and the shipped config files."""

import os

import fixtures
from oslo_config import cfg
from oslo_config import generator

from sora import conf as sora_conf
from sora.conf import opts
from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
ETC = os.path.join(ROOT, 'etc', 'sora')


class OptionsTest(base.TestCase):

    def test_scheduler_driver_option(self):
        conf = cfg.ConfigOpts()
        sora_conf.register_opts(conf)
        opt = conf._opts['scheduler_driver']['opt']
        self.assertEqual('memorybase', opt.default)
        self.assertTrue(opt.mutable)
        self.assertIsNone(opt.type.choices)
        self.assertIn('memorybase', opt.help)
        self.assertIn('randombase', opt.help)

    def test_registration_is_idempotent_and_per_conf(self):
        first, second = cfg.ConfigOpts(), cfg.ConfigOpts()
        sora_conf.register_opts(first)
        sora_conf.register_opts(first)
        self.assertRaises(cfg.NoSuchOptError, getattr, second,
                          'scheduler_driver')
        sora_conf.register_opts(second)
        self.assertEqual('memorybase', second.scheduler_driver)

    def test_overrides_stay_on_their_own_conf(self):
        # oslo.config keeps a shallow copy of a registered OptGroup; a
        # shared group object once leaked overrides between confs.
        first, second = cfg.ConfigOpts(), cfg.ConfigOpts()
        sora_conf.register_opts(first)
        sora_conf.register_opts(second)
        first.set_override('host_subset_size', 7, group='filter_scheduler')
        self.assertEqual(7, first.filter_scheduler.host_subset_size)
        self.assertEqual(1, second.filter_scheduler.host_subset_size)

    def test_list_opts_names_every_registered_option(self):
        def registered(conf):
            return ({('DEFAULT', name) for name in conf._opts}
                    | {(group, name) for group, opts in conf._groups.items()
                       for name in opts._opts})

        conf = cfg.ConfigOpts()
        sora_conf.register_opts(conf)
        listed = {(group, opt.dest) for group, group_opts in opts.list_opts()
                  for opt in group_opts}
        self.assertEqual(registered(conf) - registered(cfg.ConfigOpts()),
                         listed)
        self.assertIn(('filter_scheduler', 'host_subset_size'), listed)

    def test_project_config_files_are_found_without_a_flag(self):
        home = self.useFixture(fixtures.TempDir()).path
        os.mkdir(os.path.join(home, '.sora'))
        path = os.path.join(home, '.sora', 'sora.conf')
        with open(path, 'w') as conf_file:
            conf_file.write('[DEFAULT]\nscheduler_driver = randombase\n')
        self.useFixture(fixtures.EnvironmentVariable('HOME', home))
        self.assertIn(path, cfg.find_config_files(project='sora'))
        conf = cfg.ConfigOpts()
        sora_conf.register_opts(conf)
        conf([], project='sora')
        self.assertEqual('randombase', conf.scheduler_driver)
        self.assertIn('/etc/sora', cfg._get_config_dirs('sora'))


class ShippedConfigTest(base.TestCase):

    def test_sample_config_is_current(self):
        out = os.path.join(self.useFixture(fixtures.TempDir()).path, 'out')
        generator.main(['--config-file',
                        os.path.join(ETC, 'sora-config-generator.conf'),
                        '--output-file', out])
        with open(out) as fresh, \
                open(os.path.join(ETC, 'sora.conf.sample')) as shipped:
            fresh, shipped = fresh.read(), shipped.read()
        self.assertIn('#scheduler_driver = memorybase', fresh)
        self.assertIn('#debug = false', fresh)
        self.assertEqual(fresh, shipped,
                         'etc/sora/sora.conf.sample is stale: run '
                         'tox -e genconfig')

    def test_shipped_config_selects_memorybase(self):
        conf = cfg.ConfigOpts()
        sora_conf.register_opts(conf)
        conf(['--config-file', os.path.join(ETC, 'sora.conf')],
             project='sora', default_config_files=[])
        self.assertEqual('memorybase', conf.scheduler_driver)
