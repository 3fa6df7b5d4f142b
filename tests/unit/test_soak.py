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

"""Concurrency soak: every manager method from many threads at once.

Threads place and release containers on stable hosts while others report
those hosts again, remove and re-add volatile hosts (which requests
avoid), and reload the configuration with another driver. At the end each
stable host's free resources must equal its report less the claims still
outstanding, no snapshot may ever show a host over capacity, and no call
may have raised anything but a SchedulerError. Runs SORA_SOAK_SECONDS
(default 2; tox -e soak runs 60 and prints the figures).
"""

import collections
import itertools
import os
import random
import threading
import time

from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager
from tests import base

STABLE = [{'id': f's{n:02d}', 'memory_mb': 4096 * (1 + n % 3),
           'memory_total_mb': 16384, 'cpus': 4.0 + n % 4, 'cpus_total': 8,
           'disk_gb': 500, 'labels': {'zone': f'az{n % 2}'}}
          for n in range(24)]
VOLATILE = [{'id': f'v{n}', 'memory_mb': 16384} for n in range(4)]
REQUESTS = [{'memory_mb': 256, 'cpus': 0.25, 'disk_gb': 5},
            {'memory_mb': 1024, 'cpus': 1, 'labels': {'zone': 'az1'}},
            {'memory_mb': 512, 'group': 'web',
             'group_policy': 'anti-affinity'}]
CONFIGS = ['[DEFAULT]\nscheduler_driver = memorybase\n',
           '[DEFAULT]\nscheduler_driver = filter\n',
           '[DEFAULT]\nscheduler_driver = randombase\n',
           '[DEFAULT]\nscheduler_driver = filter\n[filter_scheduler]\n'
           'memory_weight_multiplier = -1\nhost_subset_size = 3\n']


class Soak:
    """Drives one manager from several threads and keeps a ledger."""

    def __init__(self, mgr, path, seconds):
        self.mgr, self.path, self.seconds = mgr, path, seconds
        self.lock = threading.Lock()
        self.claims = collections.defaultdict(list)   # host id -> requests
        self.counts = collections.Counter()
        self.unexpected = []
        self.min_free = float('inf')

    def run(self):
        workers = [self.placer] * 4 + [self.reporter, self.churner,
                                       self.reloader]
        threads = [threading.Thread(target=self.guarded, args=(work, n))
                   for n, work in enumerate(workers)]
        self.deadline = time.monotonic() + self.seconds
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def guarded(self, work, seed):
        # Each worker runs at least once, however busy the machine.
        rng = random.Random(seed)
        for round_ in itertools.count():
            if round_ and time.monotonic() >= self.deadline:
                break
            try:
                work(rng)
            except exceptions.NoValidHost:
                self.counts['no valid host'] += 1
            except exceptions.SchedulerError as error:
                self.counts[type(error).__name__] += 1
            except Exception as error:  # the soak's failure, asserted
                self.unexpected.append(error)

    def placer(self, rng):
        request = dict(rng.choice(REQUESTS),
                       different_host=[host['id'] for host in VOLATILE])
        if self.claims and rng.random() < 0.45:
            with self.lock:
                host_id = rng.choice(list(self.claims))
                if not self.claims[host_id]:
                    return
                request = self.claims[host_id].pop()
            self.mgr.release(host_id, request)
            self.counts['releases'] += 1
            return
        chosen = self.mgr.select_destinations(request,
                                              count=rng.choice([1, 1, 2]))
        with self.lock:
            for host_id in chosen:
                self.claims[host_id].append(request)
        self.counts['decisions'] += 1
        snapshot = self.mgr.hosts()
        self.min_free = min(self.min_free, float(snapshot.memory_mb.min()),
                            float(snapshot.cpus.min()))

    def reporter(self, rng):
        self.mgr.update_hosts(rng.sample(STABLE, 6))
        self.counts['reports'] += 1

    def churner(self, rng):
        host = rng.choice(VOLATILE)
        try:
            self.mgr.remove_host(host['id'])
        except exceptions.InvalidRequest:
            pass
        self.mgr.update_hosts([host])
        self.counts['churn'] += 1

    def reloader(self, rng):
        config = rng.choice(CONFIGS)
        with open(self.path, 'w') as conf_file:
            conf_file.write(config)
        self.mgr.reload()
        wanted = config.split('scheduler_driver = ')[1].split()[0]
        if self.mgr.driver_name != wanted:
            self.unexpected.append(f'reloaded {config!r} but the driver is '
                                   f'{self.mgr.driver_name}')
        self.counts['reloads'] += 1
        time.sleep(0.01)


class SoakTest(base.TestCase):

    def test_soak(self):
        path = self.write_file('sora.conf', CONFIGS[0])
        conf = cfg.ConfigOpts()
        conf(['--config-file', path], project='sora',
             default_config_files=[], default_config_dirs=[])
        mgr = manager.SchedulerManager(conf)
        mgr.update_hosts(STABLE + VOLATILE)
        seconds = float(os.environ.get('SORA_SOAK_SECONDS', 2))
        soak = Soak(mgr, path, seconds)
        soak.run()

        self.assertEqual([], soak.unexpected)
        self.assertGreater(soak.counts['decisions'], 0)
        self.assertGreater(soak.counts['reloads'], 0)
        self.assertGreaterEqual(soak.min_free, 0)
        hosts = {host.id: host for host in mgr.hosts()}
        for report in STABLE:
            outstanding = soak.claims[report['id']]
            host = hosts[report['id']]
            self.assertEqual(report['memory_mb'] - sum(
                r.get('memory_mb', 0) for r in outstanding), host.memory_mb)
            self.assertAlmostEqual(report['cpus'] - sum(
                r.get('cpus', 0) for r in outstanding), host.cpus)
            self.assertEqual(len(outstanding), host.containers)
            self.assertEqual(sum(r.get('group') == 'web'
                                 for r in outstanding),
                             host.groups.count('web'))
        for report in VOLATILE:
            if report['id'] in hosts:
                self.assertEqual(0, hosts[report['id']].containers)
        if 'SORA_SOAK_SECONDS' in os.environ:
            print(f'\nsoak: {seconds:g} s, ' + ', '.join(
                f'{count} {name}' for name, count in
                sorted(soak.counts.items())) +
                f', {sum(map(len, soak.claims.values()))} claims '
                'outstanding, invariants held')
