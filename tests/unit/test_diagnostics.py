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

"""The checks and listings of a configuration, without the command."""

from sora import conf as sora_conf
from sora.scheduler import diagnostics
from sora.scheduler import exceptions
from tests import base


class DiagnosticsTest(base.TestCase):

    def conf(self, text):
        conf = self.make_conf(text)
        sora_conf.register_opts(conf)
        return conf

    def test_check_gives_one_line_per_check_and_skips_the_driver(self):
        conf = self.conf('''
            [DEFAULT]
            scheduler_driver = filter
            [filter_scheduler]
            enabled_filters = memory,nosuch
            weighers = memory
            ''')
        check = diagnostics.Check(conf)
        lines = list(check)
        self.assertEqual(
            [('OK', 'config files'), ('OK', 'option values'),
             ('OK', 'option names'), ('OK', 'filter memory'),
             ('FAILED', 'filter nosuch'), ('OK', 'weigher memory'),
             ('SKIPPED', 'scheduler driver filter'),
             ('OK', 'host store memory'), ('OK', 'metrics')],
            [(line.status, line.name) for line in lines])
        self.assertIn("no plugin named 'nosuch'", lines[4].detail)
        self.assertTrue(str(lines[4]).startswith('FAILED  filter nosuch: '))
        self.assertFalse(check.ok)
        self.assertEqual('7 of 9 checks OK (1 skipped)', check.summary())

    def test_listing_marks_what_the_driver_uses(self):
        conf = self.conf('[DEFAULT]\nscheduler_driver = filter\n'
                         '[filter_scheduler]\nweighers = cpu\n')
        entries, error = diagnostics.listing(conf, 'weighers')
        self.assertIsNone(error)
        self.assertEqual(['cpu'], [entry.name for entry in entries
                                   if entry.used])
        self.assertIn('memory', [entry.name for entry in entries])

    def test_listing_a_broken_driver_lists_everything_then_its_error(self):
        conf = self.conf('[DEFAULT]\nscheduler_driver = nosuch\n')
        entries, error = diagnostics.listing(conf, 'drivers')
        self.assertIsInstance(error, exceptions.PluginNotFound)
        self.assertLessEqual({'memorybase', 'randombase', 'filter'},
                             {entry.name for entry in entries})
        self.assertFalse(any(entry.used for entry in entries))
