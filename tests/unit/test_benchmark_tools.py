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

"""The benchmark's own counting, against the real etcd."""

import importlib.util
import os
import queue
import threading

from sora.scheduler import request as sora_request
from tests import base
from tests.unit import test_etcd_store

TOOLS = os.path.join(os.path.dirname(__file__), '..', '..', 'tools')


def load_tool(name):
    """Import ``tools/<name>.py`` (tools is not a package)."""
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EtcdBenchmarkTest(test_etcd_store.EtcdStoreTestCase):

    def test_a_lone_claimer_counts_claims_and_no_conflict(self):
        bench = load_tool('etcd_benchmark')
        self.manager().update_hosts([{'id': f'n{i}', 'memory_mb': 10 ** 6,
                                      'cpus': 1000} for i in range(4)])
        start, results = threading.Event(), queue.Queue()
        start.set()
        bench._claimer(self.etcd.endpoint, self.etcd.prefix, 0.5, start,
                       results)
        claims, conflicts = results.get(timeout=10)
        self.assertGreater(claims, 0)
        self.assertEqual(0, conflicts, claims)


class ResourceBenchmarkTest(base.TestCase):

    def test_a_tenth_report_gpus_and_five_names_are_in_the_cluster(self):
        bench = load_tool('resource_benchmark')
        hosts = [{'id': f'n{i}', 'memory_mb': 100} for i in range(2000)]
        counted = bench.with_resources(hosts, 1)
        gpus = [host for host in counted
                if 'gpu' in host.get('resources', {})]
        self.assertLess(abs(len(gpus) / len(hosts) - 0.1), 0.02)
        self.assertEqual(set(bench.NAMES), {
            name for host in counted for name in host.get('resources', {})})
        self.assertTrue(all(1 <= host['resources']['gpu'] <= 8
                            for host in gpus))
        self.assertNotIn('resources', hosts[0])


class SoftBenchmarkTest(base.TestCase):

    def test_a_tenth_run_the_group_and_the_request_prefers_and_spreads(self):
        bench = load_tool('soft_benchmark')
        hosts = [{'id': f'n{i}', 'memory_mb': 100} for i in range(2000)]
        grouped = [host for host in bench.with_group(hosts, 1)
                   if 'groups' in host]
        self.assertLess(abs(len(grouped) / len(hosts) - 0.1), 0.02)
        self.assertEqual({1, 2, 3}, {len(host['groups'])
                                     for host in grouped})
        request = sora_request.parse_request(bench.soft({'memory_mb': 1}))
        self.assertEqual(('web', 'soft-anti-affinity', 1),
                         (request.group, request.group_policy,
                          len(request.preferences)))
        self.assertNotIn('groups', hosts[0])
