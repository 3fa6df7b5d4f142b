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


"""Countable resources (GPUs, VFs, ...) from node report to claim.

Reports and requests are checked on every parser's path; placements take
each pick's resources before the next, all or nothing; claims hold them in
whole numbers until settled, released or expired; every built-in driver
honours them without configuration.
"""

import json

from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import host_state
from sora.scheduler import request as sora_request
from tests import base
from tests.unit import test_etcd_store

NAME_RULE = ('a name is 1-63 characters of lowercase letters, digits and '
             '_ - . /, starting with a letter')


def report(host_id='n', **fields):
    return dict({'id': host_id, 'memory_mb': 100}, **fields)


def assert_refused_on_every_path(case, fields, message):
    """Assert a report of *fields* is refused, row by row and in bulk.

    With *message*, naming the host by position and id.
    """
    for many in (1, host_state.BULK + 1):
        with case.subTest(fields=fields, many=many):
            reports = [report(f'h{n}') for n in range(many - 1)]
            reports.append(report('bad', **fields))
            error = case.assertRaises(exceptions.InvalidHostData,
                                      host_state.parse_reports, reports)
            case.assertIn(f"host {many - 1} (id 'bad'): ", str(error))
            case.assertIn(message, str(error))


class ReportTest(base.TestCase):

    BAD = [
        ({'resources': {'GPU': 1}}, "resources: 'GPU' (a string) is not a "
                                    f"resource name; {NAME_RULE}"),
        ({'resources': {'1gpu': 1}}, "'1gpu' (a string) is not a resource"),
        ({'resources': {'': 1}}, "'' (a string) is not a resource name"),
        ({'resources': {'g' * 64: 1}}, 'is not a resource name'),
        ({'resources': {'gpu x': 1}}, "'gpu x' (a string) is not a resource"),
        ({'resources': {'gpu': -1}}, "resources 'gpu' must be a whole "
                                     "number from 0 to 1125899906842624, "
                                     "got -1 (a number)"),
        ({'resources': {'gpu': 1.5}}, "resources 'gpu' must be a whole "
                                      "number from 0"),
        ({'resources': {'gpu': 2.0}}, "resources 'gpu' must be a whole"),
        ({'resources': {'gpu': True}}, 'got True (a boolean)'),
        ({'resources': {'gpu': '2'}}, "got '2' (a string)"),
        ({'resources': {'gpu': None}}, 'got None (null)'),
        ({'resources': {'gpu': 2 ** 50 + 1}}, "resources 'gpu' must be a "
                                              "whole number from 0 to"),
        ({'resources': ['gpu']}, 'resources must map resource names to '
                                 'whole numbers, e.g. {"gpu": 2}, got '
                                 "['gpu'] (a list)"),
        ({'resources_total': 4}, 'resources_total must map resource names'),
        ({'resources_total': {'Vf': 4}}, "resources_total: 'Vf' (a string) "
                                         'is not a resource name'),
        ({'resources': {'gpu': 3}, 'resources_total': {'gpu': 2}},
         "resources 'gpu' (3) is more than resources_total 'gpu' (2)"),
        ({'resources_total': {f'r{n}': 1 for n in range(65)}},
         'resources_total names 65 resources, more than the 64 accepted'),
    ]

    def test_bad_resources_name_host_resource_and_what_is_accepted(self):
        for fields, message in self.BAD:
            assert_refused_on_every_path(self, fields, message)

    def test_a_bad_report_changes_nothing(self):
        mgr = self.useFixture(fixture.Scheduler()).manager
        mgr.update_hosts([report('a', resources={'gpu': 1})])
        before = [host.to_dict() for host in mgr.hosts()]
        for fields, _ in self.BAD:
            with self.subTest(fields=fields):
                self.assertRaises(exceptions.InvalidHostData,
                                  mgr.update_hosts,
                                  [report('a', resources={'gpu': 4}),
                                   report('b', **fields)])
                self.assertEqual(before,
                                 [host.to_dict() for host in mgr.hosts()])

    def test_totals_default_to_free_and_a_name_only_in_totals_is_used_up(
            self):
        hosts = host_state.parse_hosts([
            report('a', resources={'gpu': 2, 'nvidia.com/gpu': 1}),
            report('b', resources={'vf': 3},
                   resources_total={'vf': 8, 'gpu': 4}),
            report('c')])
        self.assertEqual(
            [({'gpu': 2, 'nvidia.com/gpu': 1},
              {'gpu': 2, 'nvidia.com/gpu': 1}),
             ({'gpu': 0, 'vf': 3}, {'gpu': 4, 'vf': 8}), ({}, {})],
            [(host.resources, host.resources_total) for host in hosts])
        self.assertEqual({'id': 'b', 'memory_mb': 100.0,
                          'memory_total_mb': 100.0, 'containers': 0,
                          'labels': {}, 'groups': [], 'enabled': True,
                          'resources': {'gpu': 0, 'vf': 3},
                          'resources_total': {'gpu': 4, 'vf': 8}},
                         hosts[1].to_dict())
        self.assertEqual([2, 0, 0], list(hosts.free('gpu')))
        self.assertEqual([0, 0, 0], list(hosts.free('tpu')))
        self.assertNotIn('resources', hosts[2].to_dict())

    def test_every_parser_path_reads_resources_alike(self):
        reports = [report(f'h{n:03}', resources={'gpu': n % 3},
                          resources_total={'gpu': 2 + n % 2})
                   for n in range(host_state.BULK)]
        bulk = host_state.parse_reports(reports)
        one_by_one = host_state.Reports.joined(
            [host_state.parse_reports([item]) for item in reports])
        self.assertEqual(bulk, one_by_one)
        self.assertEqual(
            [{'id': 'h000', 'resources': {'gpu': 0},
              'resources_total': {'gpu': 2}},
             {'id': 'h001', 'resources': {'gpu': 1},
              'resources_total': {'gpu': 3}}],
            [{key: item[key] for key in ('id', 'resources',
                                         'resources_total')}
             for item in bulk.to_dicts()[:2]])


class RequestTest(base.TestCase):

    def test_bad_resources_are_refused_saying_what_is_accepted(self):
        cases = [
            ({'gpu': 0}, "request: resources 'gpu' must be a whole number "
                         "from 1 to 1125899906842624, got 0 (a number)"),
            ({'gpu': 1.0}, "resources 'gpu' must be a whole number"),
            ({'gpu': False}, 'got False (a boolean)'),
            ({'Gpu': 1}, f"'Gpu' (a string) is not a resource name; "
                         f'{NAME_RULE}'),
            ('gpu', "resources must map resource names to whole numbers"),
            ([['gpu', 1]], "resources must map resource names"),
        ]
        for resources, message in cases:
            with self.subTest(resources=resources):
                error = self.assertRaises(
                    exceptions.InvalidRequest, sora_request.parse_request,
                    {'resources': resources})
                self.assertIn(message, str(error))

    def test_resources_read_back_as_given(self):
        request = sora_request.parse_request(
            {'memory_mb': 1, 'resources': {'vf': 2, 'gpu': 1}})
        self.assertEqual({'gpu': 1, 'vf': 2}, request.resources)
        self.assertEqual({'gpu': 1, 'vf': 2}, request.to_dict()['resources'])
        self.assertEqual(request,
                         sora_request.parse_request(request.to_dict()))
        self.assertNotIn('resources', sora_request.Request().to_dict())


class PlacementTest(base.TestCase):

    DRIVERS = ('filter', 'memorybase', 'randombase')

    def manager(self, driver='filter'):
        return self.useFixture(fixture.Scheduler(
            config={'DEFAULT': {'scheduler_driver': driver}})).manager

    def gpus(self, mgr):
        return {host.id: dict(host.resources) for host in mgr.hosts()}

    def test_every_driver_takes_each_pick_s_resources_before_the_next(self):
        for driver in self.DRIVERS:
            with self.subTest(driver=driver):
                mgr = self.manager(driver)
                mgr.update_hosts([report('a', memory_mb=900,
                                         resources={'gpu': 2}),
                                  report('b', memory_mb=10,
                                         resources={'gpu': 1}),
                                  report('c', memory_mb=5000)])
                before = self.gpus(mgr)
                error = self.assertRaises(
                    exceptions.NoValidHost, mgr.select_destinations,
                    {'resources': {'gpu': 1}}, count=4)
                self.assertIn('for container 4 of 4 (all or nothing', str(
                    error))
                self.assertEqual(before, self.gpus(mgr))
                self.assertEqual([], mgr.claims())
                self.assertEqual(['a', 'a', 'b'], sorted(
                    mgr.select_destinations({'resources': {'gpu': 1}},
                                            count=3)))
                self.assertEqual({'a': {'gpu': 0}, 'b': {'gpu': 0}, 'c': {}},
                                 self.gpus(mgr))

    def test_claim_then_release_leaves_no_residue(self):
        mgr = self.manager()
        mgr.update_hosts([report('a', resources={'gpu': 8, 'vf': 64},
                                 resources_total={'gpu': 8, 'vf': 64})])
        before = self.gpus(mgr)
        consumers = [f'c{n}' for n in range(7)]
        mgr.select_destinations({'resources': {'gpu': 1, 'vf': 9}},
                                count=7, consumers=consumers)
        self.assertEqual({'a': {'gpu': 1, 'vf': 1}}, self.gpus(mgr))
        first = mgr.claims()[0].to_dict()
        self.assertEqual(('c0', 'a', {'gpu': 1, 'vf': 9}),
                         (first['consumer'], first['host'],
                          first['resources']))
        for consumer in consumers:
            mgr.release(consumer)
        self.assertEqual(before, self.gpus(mgr))

    def test_a_report_settles_the_claim_it_lists(self):
        mgr = self.manager()
        mgr.update_hosts([report('a', resources={'gpu': 2})])
        mgr.select_destinations({'resources': {'gpu': 1}}, consumers=['c'])
        # The node started it: its report counts it, and the claim ends.
        mgr.update_hosts([report('a', resources={'gpu': 1},
                                 resources_total={'gpu': 2},
                                 consumers=['c'])])
        self.assertEqual([], mgr.claims())
        self.assertEqual({'a': {'gpu': 1}}, self.gpus(mgr))

    def test_a_host_reporting_less_than_its_claims_is_full(self):
        mgr = self.manager()
        mgr.update_hosts([report('a', resources={'gpu': 2})])
        mgr.select_destinations({'resources': {'gpu': 2}}, consumers=['c'])
        mgr.update_hosts([report('a', resources={'gpu': 1})])
        self.assertEqual({'a': {'gpu': 0}}, self.gpus(mgr))
        mgr.update_hosts([report('a')])
        self.assertEqual({'a': {}}, self.gpus(mgr))
        mgr.release('c')
        mgr.update_hosts([report('a', resources={'gpu': 1})])
        self.assertEqual({'a': {'gpu': 1}}, self.gpus(mgr))

    def test_no_valid_host_counts_the_hosts_each_resource_removed(self):
        mgr = self.manager()
        mgr.update_hosts([report('a', resources={'gpu': 1, 'vf': 2}),
                          report('b', resources={'gpu': 2}),
                          report('c', memory_mb=1, resources={'gpu': 4}),
                          report('d')])
        cases = [
            ({'resources': {'gpu': 2, 'vf': 1}},
             'resources 0 (gpu: 2 of 4 hosts have 2 free; vf: 1 of 4 hosts '
             'have 1 free)'),
            ({'memory_mb': 50, 'resources': {'gpu': 3}},
             'memory 3 (needs 50 MB), resources 0 (gpu: 0 of 3 hosts have '
             '3 free)'),
            ({'resources': {'gpus': 1}},
             "resources 0 (no host reports 'gpus' (did you mean 'gpu'?))"),
            ({'resources': {'tpu': 1, 'fpga': 1}},
             "(no host reports 'fpga'; no host reports 'tpu' (did you mean "
             "'gpu'?))"),
        ]
        for request, message in cases:
            with self.subTest(request=request):
                error = self.assertRaises(exceptions.NoValidHost,
                                          mgr.select_destinations, request)
                self.assertIn(message, str(error))
        error = self.assertRaises(exceptions.NoValidHost,
                                  mgr.select_destinations,
                                  {'resources': {'gpu': 1}}, count=8)
        self.assertIn('for container 8 of 8', str(error))
        self.assertIn('gpu: 0 of 4 hosts have 1 free', str(error))
        explanation = mgr.explain({'resources': {'gpu': 2}})
        self.assertEqual([('enabled', 4), ('resources', 2)],
                         explanation['filter_counts'][:2])


class CommandTest(test_etcd_store.EtcdStoreTestCase):
    """Through the operator's command, on a shared etcd store."""

    HOSTS = [{'id': 'g1', 'memory_mb': 100, 'resources': {'gpu': 2},
              'resources_total': {'gpu': 4, 'vf': 8}},
             {'id': 'p1', 'memory_mb': 500}]

    def setUp(self):
        super().setUp()
        self.command = self.useFixture(base.Command())
        self.config = self.conf_file()
        self.hosts = self.write_file('hosts.json', json.dumps(self.HOSTS))

    def sora(self, *args):
        return self.command('--config-file', self.config, *args)

    def test_report_select_hosts_and_claims_carry_resources(self):
        self.assertEqual(0, self.sora('report', '--hosts', self.hosts)
                         .returncode)
        result = self.sora('select', '--resource', 'gpu=1', '--count', '2',
                           '--consumer', 'c1', '--consumer', 'c2')
        self.assertEqual((0, 'g1\ng1\n'), (result.returncode, result.stdout))
        result = self.sora('hosts')
        self.assertEqual(0, result.returncode, result.stderr)
        header, g1, p1 = result.stdout.splitlines()
        self.assertEqual(['HOST', 'MEMORY_MB', 'CPUS', 'DISK_GB',
                          'RESOURCES', 'CONTAINERS'], header.split()[:6])
        self.assertEqual('gpu=0/4,vf=0/8', g1.split()[4])
        self.assertEqual('-', p1.split()[4])
        hosts = json.loads(self.sora('hosts', '--format', 'json').stdout)
        self.assertEqual([({'gpu': 0, 'vf': 0}, {'gpu': 4, 'vf': 8}),
                          (None, None)],
                         [(host.get('resources'), host.get('resources_total'))
                          for host in hosts['hosts']])
        result = self.sora('claims')
        self.assertEqual(['c1', 'g1', 'gpu=1'],
                         [result.stdout.splitlines()[1].split()[i]
                          for i in (0, 1, 5)])
        claims = json.loads(self.sora('claims', '--format', 'json').stdout)
        self.assertEqual([{'gpu': 1}, {'gpu': 1}],
                         [claim['resources'] for claim in claims['claims']])
        result = self.sora('select', '--resource', 'gpu=1', '--dry-run')
        self.assertEqual(1, result.returncode)
        self.assertIn('resources 0 (gpu: 0 of 2 hosts have 1 free)',
                      result.stderr)

    def test_select_from_a_hosts_file_and_bad_resources(self):
        result = self.sora('select', '--hosts', self.hosts, '--resource',
                           'vf=1', '--format', 'json')
        self.assertEqual(1, result.returncode)
        self.assertIn('vf: 0 of 2 hosts have 1 free', result.stderr)
        self.assertEqual('g1\n', self.sora('select', '--hosts', self.hosts,
                                           '--resource', 'gpu=2').stdout)
        for args, message in (
                (['--resource', 'gpu'], "--resource must be NAME=N with N a "
                                        "whole number, e.g. gpu=1, got 'gpu'"),
                (['--resource', 'gpu=-1'], 'must be NAME=N'),
                (['--resource', 'gpu=1.5'], 'must be NAME=N'),
                (['--resource', 'gpu=1', '--resource', 'gpu=2'],
                 "--resource names 'gpu' twice"),
                (['--resource', 'gpu=0'], "resources 'gpu' must be a whole "
                                          'number from 1'),
                (['--resource', 'GPU=1'], "'GPU' (a string) is not a "
                                          'resource name'),
                (['--resource', 'gpu=1', '--request', '{}'],
                 'not both')):
            with self.subTest(args=args):
                result = self.sora('select', '--hosts', self.hosts, *args)
                self.assertEqual(2, result.returncode, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertNotIn('Traceback', result.stderr)
