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

"""The cluster summary computed from hosts, claims and report ages."""

from sora.cmd import output
from sora.cmd import status
from sora.scheduler import claims
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import summary
from tests import base


def table(*hosts):
    return host_state.parse_reports(list(hosts)).table()


def claim(consumer, age, host='a'):
    return claims.Claim(consumer, host, 1.0, 0.0, 0.0, None, age)


class SummaryTest(base.TestCase):

    def test_hosts_up_disabled_silent_and_of_unknown_age(self):
        hosts = table({'id': 'a', 'memory_mb': 1},
                      {'id': 'b', 'memory_mb': 1, 'enabled': False},
                      {'id': 'c', 'memory_mb': 1},
                      {'id': 'd', 'memory_mb': 1, 'enabled': False},
                      {'id': 'e', 'memory_mb': 1})
        result = summary.summarize(
            hosts, [], {'a': 10.0, 'c': 61.0, 'd': 61.0, 'e': 60.0}, 60)
        self.assertEqual({
            'total': 5, 'up': 2,  # a, e (at the threshold, not over)
            'disabled': [{'id': 'b', 'reason': None},
                         {'id': 'd', 'reason': None}],
            'silent': [{'id': 'c', 'age': 61.0}, {'id': 'd', 'age': 61.0}],
            'age_unknown': 1}, result['hosts'])
        # The oldest report: among equal ages, the lowest id.
        self.assertEqual({'host': 'c', 'age': 61.0}, result['oldest_report'])
        # Ages of hosts the table no longer has are not counted.
        self.assertIsNone(summary.summarize(
            table(), [], {'gone': 5.0}, 60)['oldest_report'])

    def test_capacity_of_the_enabled_hosts_in_exact_units(self):
        hosts = table(
            {'id': 'a', 'memory_mb': 100, 'memory_total_mb': 400,
             'cpus': 0.1, 'cpus_total': 0.3, 'disk_gb': 5,
             'resources': {'gpu': 1}, 'resources_total': {'gpu': 2}},
            {'id': 'b', 'memory_mb': 50, 'cpus': 0.2, 'cpus_total': 0.3,
             'resources_total': {'vf': 8}},
            {'id': 'c', 'memory_mb': 1000, 'cpus': 64, 'enabled': False,
             'resources': {'gpu': 8}})
        self.assertEqual({'enabled_hosts': 2, 'resources': {
            'memory_mb': {'free': 150.0, 'total': 450.0},
            'cpus': {'free': 0.3, 'total': 0.6},
            'disk_gb': {'free': 5.0, 'total': None},
            'gpu': {'free': 1, 'total': 2},
            'vf': {'free': 0, 'total': 8}}},
            summary.summarize(hosts, [], {}, 60)['capacity'])
        self.assertEqual({'enabled_hosts': 0, 'resources': {
            'memory_mb': {'free': 0.0, 'total': 0.0}}},
            summary.capacity([]))

    def test_by_label_one_row_per_value_then_the_hosts_without_it(self):
        hosts = table(
            {'id': 'a', 'memory_mb': 1, 'labels': {'zone': 'az2'}},
            {'id': 'b', 'memory_mb': 2, 'labels': {'zone': 'az1'}},
            {'id': 'c', 'memory_mb': 4, 'labels': {'rack': 'r1'}},
            {'id': 'd', 'memory_mb': 8, 'labels': {'zone': 'az1'},
             'enabled': False})
        rows = summary.summarize(hosts, [], {}, 60, by='zone')['by']
        self.assertEqual('zone', rows['label'])
        self.assertEqual(
            [('az1', 1, 2.0, 2.0), ('az2', 1, 1.0, 1.0), (None, 1, 4.0, 4.0)],
            [(row['value'], row['enabled_hosts'],
              row['resources']['memory_mb']['free'],
              row['resources']['memory_mb']['total'])
             for row in rows['rows']])
        self.assertNotIn('by', summary.summarize(hosts, [], {}, 60))
        error = self.assertRaises(exceptions.InvalidRequest,
                                  summary.summarize, hosts, [], {}, 60,
                                  by='zome')
        self.assertEqual("no host has the label 'zome'; the hosts have "
                         "'rack', 'zone'", str(error))
        error = self.assertRaises(exceptions.InvalidRequest,
                                  summary.summarize, table(), [], {}, 60,
                                  by='zone')
        self.assertIn('the hosts have no labels', str(error))

    def test_claims_by_age(self):
        result = summary.summarize(table(), [
            claim('c1', 0.0), claim('c2', 59.9), claim('c3', 60.0),
            claim('c4', 599.0), claim('c5', 600.0, 'b'), claim('c6', 5.0)],
            {}, 60)['claims']
        self.assertEqual({'total': 6, 'under_1_min': 3, 'under_10_min': 2,
                          'older': 1, 'oldest': {'consumer': 'c5',
                                                 'host': 'b', 'age': 600.0}},
                         result)
        self.assertEqual({'total': 0, 'under_1_min': 0, 'under_10_min': 0,
                          'older': 0, 'oldest': None},
                         summary.summarize(table(), [], {}, 60)['claims'])


class RenderingTest(base.TestCase):

    def test_bars_are_fixed_width_ascii_and_never_overstate(self):
        self.assertEqual('[....................]   0%', status._bar(8, 8))
        self.assertEqual('[##########..........]  50%', status._bar(4, 8))
        self.assertEqual('[###################.]  99%',
                         status._bar(0.4, 100))
        self.assertEqual('[####################] 100%', status._bar(0, 8))
        self.assertEqual('[....................]   0%',
                         status._bar(9, 8))  # more free than total
        self.assertEqual('-', status._bar(0, 0))
        self.assertEqual('-', status._bar(5, None))

    def test_ages_and_amounts(self):
        self.assertEqual(['0s', '59s', '1m00s', '59m59s', '1h00m', '23h59m',
                          '1d00h', '12d03h'],
                         [status._age(seconds) for seconds in (
                             0.4, 59.9, 60, 3599, 3600, 86399, 86400,
                             12 * 86400 + 3 * 3600 + 59)])
        # Never an exponent: hosts and claims show amounts so too.
        self.assertEqual(['-', '0', '12144', '9.5', '0.125', '1234567',
                          '1048576.5'],
                         [output.amount(value) for value in (
                             None, 0.0, 12144.0, 9.5, 0.125, 1234567.0,
                             1048576.5)])
