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

"""Four scheduler processes sharing one etcd: races, a kill, an outage."""

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time

from oslo_config import cfg

from sora.scheduler import manager
from tests import base
from tests import etcd

PLACER = os.path.join(os.path.dirname(__file__), 'etcd_placer.py')
NODES = [{'id': f'node-{n:02d}', 'memory_mb': 1024} for n in range(50)]
PER_NODE = 4  # 1024 MB / 256 MB


class Placer:
    """One etcd_placer.py process and what it printed."""

    def __init__(self, conf_path, name, request=None):
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, PLACER, conf_path, name]
            + ([json.dumps(request)] if request else []),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.split())
            if line.startswith('ready'):
                self.ready.set()

    def placed(self):
        return {words[1]: words[2] for words in self.lines
                if words[0] == 'placed'}

    def unavailable(self):
        return [words[1] for words in self.lines
                if words[0] == 'unavailable']

    def wait(self, timeout=120):
        self.process.wait(timeout)
        self.reader.join(10)


class EtcdProcessesTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(etcd.EtcdServer())
        self.conf_path = self.write_file('sora.conf', (
            '[DEFAULT]\nscheduler_driver = filter\n'
            '[filter_scheduler]\nhost_subset_size = 8\n'
            '[scheduler]\nhost_store = etcd\n'
            f'[etcd]\nendpoints = {self.server.endpoint}\ntimeout = 1\n'))
        self.observer = self.manager()
        self.observer.update_hosts(NODES)

    def manager(self):
        conf = cfg.ConfigOpts()
        conf(['--config-file', self.conf_path], project='sora',
             default_config_files=[], default_config_dirs=[])
        mgr = manager.SchedulerManager(conf)
        self.addCleanup(mgr.close)
        return mgr

    def start(self, count=4, request=None):
        placers = [Placer(self.conf_path, f'p{n}', request)
                   for n in range(count)]
        for placer in placers:
            self.addCleanup(placer.process.kill)
        for placer in placers:
            self.assertTrue(placer.ready.wait(60), placer.name)
        return placers

    def assertBooksBalance(self, placed):
        """Every node within capacity; the claims are what was placed."""
        claims = {claim.consumer: claim.host
                  for claim in self.manager().claims()}
        self.assertLessEqual(set(placed.items()), set(claims.items()))
        per_node = collections.Counter(claims.values())
        self.assertLessEqual(max(per_node.values()), PER_NODE)
        free = {host.id: host.memory_mb for host in self.manager().hosts()}
        for node in NODES:
            self.assertEqual(1024 - 256 * per_node[node['id']],
                             free[node['id']])
        return claims

    def test_four_processes_fill_fifty_nodes_exactly(self):
        placers = self.start()
        for placer in placers:
            placer.wait()
            self.assertEqual(0, placer.process.returncode)
        placed = {}
        for placer in placers:
            self.assertEqual([], sorted(set(placer.placed()) & set(placed)))
            placed.update(placer.placed())
        self.assertEqual(len(NODES) * PER_NODE, len(placed))
        self.assertEqual(placed, self.assertBooksBalance(placed))

    def test_four_processes_racing_for_gpus_never_oversubscribe_one(self):
        # A few GPU nodes among the fifty: every GPU is taken once.
        gpus = {'node-00': 1, 'node-01': 2, 'node-02': 4, 'node-03': 8}
        self.observer.update_hosts([
            dict(node, resources={'gpu': gpus[node['id']]})
            for node in NODES if node['id'] in gpus])
        placers = self.start(request={'resources': {'gpu': 1}})
        placed = {}
        for placer in placers:
            placer.wait()
            self.assertEqual(0, placer.process.returncode)
            self.assertEqual([], sorted(set(placer.placed()) & set(placed)))
            placed.update(placer.placed())
        self.assertEqual(gpus, dict(collections.Counter(placed.values())))
        claims = {claim.consumer: (claim.host, claim.resources)
                  for claim in self.manager().claims()}
        self.assertEqual({consumer: (host, {'gpu': 1})
                          for consumer, host in placed.items()}, claims)
        self.assertEqual({node: {'gpu': 0} for node in gpus},
                         {host.id: host.resources
                          for host in self.manager().hosts()
                          if host.resources})

    def test_four_processes_placing_one_group_keep_one_per_zone(self):
        # Anti-affinity over three zones: three placements in all, one in
        # each zone, however the processes' decisions interleave.
        self.observer.update_hosts([
            dict(node, labels={'zone': f'z{n % 3}'})
            for n, node in enumerate(NODES)])
        placers = self.start(request={
            'memory_mb': 256, 'group': 'g', 'group_policy': 'anti-affinity',
            'topology_key': 'zone'})
        placed = {}
        for placer in placers:
            placer.wait()
            self.assertEqual(0, placer.process.returncode)
            placed.update(placer.placed())
        self.assertEqual(placed, {claim.consumer: claim.host
                                  for claim in self.manager().claims()})
        self.assertEqual(['z0', 'z1', 'z2'], sorted(
            f'z{int(host[-2:]) % 3}' for host in placed.values()))

    def test_a_process_killed_mid_race_leaves_no_half_claim(self):
        placers = self.start()
        victim = placers[0]
        deadline = time.monotonic() + 60
        while len(victim.placed()) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.process.send_signal(signal.SIGKILL)
        for placer in placers:
            placer.wait()
        placed = {}
        for placer in placers:
            placed.update(placer.placed())
        claims = self.assertBooksBalance(placed)
        # The victim's claim in flight is committed whole or absent.
        self.assertLessEqual(len(set(claims) - set(placed)), 1)
        self.assertEqual(len(NODES) * PER_NODE, len(claims))

    def test_etcd_stopped_and_started_mid_run(self):
        placers = self.start()
        deadline = time.monotonic() + 60
        while sum(len(p.placed()) for p in placers) < 40 and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        self.server.stop()
        time.sleep(2)
        self.server.start()
        for placer in placers:
            placer.wait()
            self.assertEqual(0, placer.process.returncode)
        self.assertGreater(sum(len(p.unavailable()) for p in placers), 0)
        placed = {}
        for placer in placers:
            placed.update(placer.placed())
        claims = self.assertBooksBalance(placed)
        # A call that failed during the outage may have committed first.
        unsure = {consumer for placer in placers
                  for consumer in placer.unavailable()}
        self.assertLessEqual(set(claims) - set(placed), unsure)
        self.assertEqual(len(NODES) * PER_NODE, len(claims))
