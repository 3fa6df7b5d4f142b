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
import re

import fixtures
from oslo_config import cfg
from oslo_config import generator

from sora import conf as sora_conf
from sora.conf import etcd
from sora.conf import filter_scheduler
from sora.conf import metrics as metrics_conf
from sora.conf import opts
from sora.conf import scheduler as scheduler_conf
from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
ETC = os.path.join(ROOT, 'etc', 'sora')

# oslo-config-generator writes each section as its "[name]" line, the
# group's help, then for each namespace a "# From NAMESPACE" banner followed
# by that namespace's options.
BANNER = re.compile(r'^#\n# From (\S+)\n#\n', re.M)


def namespace_parts(sample, namespace):
    """Return [(section head, options text)] that *namespace* wrote."""
    parts = []
    for section in re.split(r'^(?=\[)', sample, flags=re.M):
        head, *blocks = BANNER.split(section)
        for name, text in zip(blocks[::2], blocks[1::2]):
            if name == namespace:
                parts.append((head.strip(), text.strip()))
    return parts


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
        listed = {(getattr(group, 'name', group), opt.dest)
                  for group, group_opts in opts.list_opts()
                  for opt in group_opts}
        self.assertEqual(registered(conf) - registered(cfg.ConfigOpts()),
                         listed)
        self.assertEqual(listed, sora_conf.own_options())
        self.assertIn(('filter_scheduler', 'host_subset_size'), listed)

    def test_list_opts_gives_groups_with_their_help(self):
        # The generator and the docs take a group's help from the OptGroup:
        # a bare group name left [filter_scheduler] undocumented.
        groups = [group for group, _ in opts.list_opts()]
        self.assertEqual(['DEFAULT', etcd.etcd_group,
                          filter_scheduler.filter_scheduler_group,
                          metrics_conf.metrics_group,
                          scheduler_conf.scheduler_group], groups)
        self.assertIn('etcd cluster', groups[1].help)
        self.assertIn('The "filter" scheduler driver', groups[2].help)
        self.assertIn('Prometheus', groups[3].help)
        self.assertIn('claims', groups[4].help)

    def test_registered_group_is_the_listed_definition(self):
        first, second = cfg.ConfigOpts(), cfg.ConfigOpts()
        sora_conf.register_opts(first)
        sora_conf.register_opts(second)
        listed = filter_scheduler.filter_scheduler_group
        for conf in first, second:
            group = conf._groups['filter_scheduler']
            self.assertIsNot(listed, group)
            self.assertEqual((listed.title, listed.help),
                             (group.title, group.help))
        self.assertIsNot(first._groups['filter_scheduler']._opts,
                         second._groups['filter_scheduler']._opts)
        self.assertEqual({}, listed._opts)

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
        # Sora's own sections must match what its options generate now.
        # The oslo.log part is whatever the installed oslo.log writes (it
        # changes between oslo.log releases; tox -e genconfig uses the
        # newest), so it is only required to be there.
        out = os.path.join(self.useFixture(fixtures.TempDir()).path, 'out')
        generator.main(['--config-file',
                        os.path.join(ETC, 'sora-config-generator.conf'),
                        '--output-file', out])
        with open(out) as fresh, \
                open(os.path.join(ETC, 'sora.conf.sample')) as shipped:
            fresh, shipped = fresh.read(), shipped.read()
        self.assertIn('#scheduler_driver = memorybase', fresh)
        self.assertIn('#debug = false', fresh)
        self.assertIn('[filter_scheduler]\n# The "filter" scheduler driver',
                      fresh)
        self.assertEqual(['[DEFAULT]', '[etcd]', '[filter_scheduler]',
                          '[metrics]', '[scheduler]'],
                         [head.splitlines()[0] for head, _ in
                          namespace_parts(fresh, 'sora')])
        self.assertEqual(namespace_parts(fresh, 'sora'),
                         namespace_parts(shipped, 'sora'),
                         'etc/sora/sora.conf.sample is stale: run '
                         'tox -e genconfig')
        self.assertIn('#debug = false', ''.join(
            text for _, text in namespace_parts(shipped, 'oslo.log')))

    def test_shipped_config_selects_memorybase(self):
        conf = cfg.ConfigOpts()
        sora_conf.register_opts(conf)
        conf(['--config-file', os.path.join(ETC, 'sora.conf')],
             project='sora', default_config_files=[])
        self.assertEqual('memorybase', conf.scheduler_driver)
