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

Threads place containers under consumer ids on stable hosts and release
some, a reporter reports those hosts again and settles claims by listing
their consumers, a clock thread moves the store's clock so that claims
expire, others remove and re-add volatile hosts (which requests avoid)
and reload the configuration with another driver. At the end the books
balance exactly: every placement is outstanding, released, settled or
expired (once), each stable host's free resources equal its last report
less the claims still outstanding on it, no snapshot ever shows a host
over capacity, and no call raised anything but a SchedulerError. Runs
SORA_SOAK_SECONDS (default 2; tox -e soak runs 60 and prints the figures).
"""

import collections
import itertools
import logging
import os
import random
import re
import threading
import time

import fixtures
from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import host_store
from sora.scheduler import manager
from sora.scheduler import units
from tests import base

STABLE = [{'id': f's{n:02d}', 'memory_mb': 4096 * (1 + n % 3),
           'memory_total_mb': 16384, 'cpus': 4.1 + n % 4, 'cpus_total': 8,
           'disk_gb': 500, 'labels': {'zone': f'az{n % 2}'}}
          for n in range(24)]
VOLATILE = [{'id': f'v{n}', 'memory_mb': 16384} for n in range(4)]
REQUESTS = [{'memory_mb': 256, 'cpus': 0.1, 'disk_gb': 5},
            {'memory_mb': 1024, 'cpus': 1 / 3, 'labels': {'zone': 'az1'}},
            {'memory_mb': 512, 'group': 'web',
             'group_policy': 'anti-affinity'}]
CONFIGS = ['[DEFAULT]\nscheduler_driver = memorybase\n',
           '[DEFAULT]\nscheduler_driver = filter\n',
           '[DEFAULT]\nscheduler_driver = randombase\n',
           '[DEFAULT]\nscheduler_driver = filter\n[filter_scheduler]\n'
           'memory_weight_multiplier = -1\nhost_subset_size = 3\n']
TIMEOUT = 20.0
"""claim_timeout, in ticks of the soak's clock."""


class Soak:
    """Drives one manager from several threads and keeps the books."""

    def __init__(self, mgr, clock, path, seconds):
        self.mgr, self.clock = mgr, clock
        self.path, self.seconds = path, seconds
        self.lock = threading.Lock()
        self.serial = itertools.count()
        self.placed = {}         # consumer -> (host id, request)
        self.outstanding = {}    # consumer -> host id, as far as we know
        self.released, self.settled, self.missed = set(), set(), set()
        self.last_report = {host['id']: host for host in STABLE}
        self.counts = collections.Counter()
        self.unexpected = []
        self.min_free = float('inf')

    def run(self):
        workers = [self.placer] * 4 + [self.reporter, self.ticker,
                                       self.churner, self.reloader]
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
        if rng.random() < 0.3:
            with self.lock:
                if not self.outstanding:
                    return
                consumer = rng.choice(list(self.outstanding))
                del self.outstanding[consumer]
            try:
                self.mgr.release(consumer)
            except exceptions.InvalidRequest:
                self.missed.add(consumer)   # expired meanwhile
            else:
                self.released.add(consumer)
            self.counts['releases'] += 1
            return
        request = dict(rng.choice(REQUESTS),
                       different_host=[host['id'] for host in VOLATILE])
        count = rng.choice([1, 1, 2])
        consumers = [f'c{next(self.serial)}' for _ in range(count)]
        chosen = self.mgr.select_destinations(request, count=count,
                                              consumers=consumers)
        with self.lock:
            for consumer, host_id in zip(consumers, chosen):
                self.placed[consumer] = (host_id, request)
                self.outstanding[consumer] = host_id
        self.counts['decisions'] += 1
        snapshot = self.mgr.hosts()
        self.min_free = min(self.min_free, float(snapshot.memory_mb.min()),
                            float(snapshot.cpus.min()))

    def reporter(self, rng):
        host = rng.choice(STABLE)
        with self.lock:
            # The node now runs some of the containers placed on it.
            mine = [consumer for consumer, host_id in
                    self.outstanding.items() if host_id == host['id']]
            starting = rng.sample(mine, min(len(mine), rng.randrange(3)))
            for consumer in starting:
                del self.outstanding[consumer]
            report = dict(host, consumers=starting)
            self.mgr.update_hosts([report])
            self.last_report[host['id']] = report
            self.settled.update(starting)
        self.counts['reports'] += 1
        time.sleep(0.002)

    def ticker(self, rng):
        self.clock.now += 1
        self.counts['ticks'] += 1
        time.sleep(0.002)

    def churner(self, rng):
        host = rng.choice(VOLATILE)
        try:
            self.mgr.remove_host(host['id'])
        except exceptions.InvalidRequest:
            pass
        self.mgr.update_hosts([host])
        self.counts['churn'] += 1
        time.sleep(0.002)

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
        logs = self.useFixture(fixtures.FakeLogger(
            name='sora.scheduler.claims', level=logging.WARNING))
        path = self.write_file('sora.conf', CONFIGS[0])
        conf = cfg.ConfigOpts()
        conf(['--config-file', path], project='sora',
             default_config_files=[], default_config_dirs=[])
        manager.SchedulerManager(conf)  # registers the options
        conf.set_override('claim_timeout', TIMEOUT, 'scheduler')
        clock = base.Clock()
        mgr = manager.SchedulerManager(
            conf, store=host_store.MemoryHostStore(conf, clock=clock))
        mgr.update_hosts(STABLE + VOLATILE)
        seconds = float(os.environ.get('SORA_SOAK_SECONDS', 2))
        soak = Soak(mgr, clock, path, seconds)
        soak.run()

        self.assertEqual([], soak.unexpected)
        self.assertGreater(soak.counts['decisions'], 0)
        self.assertGreater(soak.counts['reloads'], 0)
        self.assertGreaterEqual(soak.min_free, 0)
        # The books: each placement ended exactly one way, or is
        # outstanding.
        outstanding = {claim.consumer: claim for claim in mgr.claims()}
        expired = set(re.findall(r'Claim of consumer (\S+) on host',
                                 logs.output))
        ended = [set(outstanding), soak.released, expired,
                 soak.settled - expired]
        self.assertEqual(set(soak.placed), set().union(*ended))
        self.assertEqual(len(soak.placed), sum(map(len, ended)))
        self.assertLessEqual(soak.missed, expired)
        for consumer, claim in outstanding.items():
            self.assertEqual(soak.placed[consumer][0], claim.host)
        hosts = {host.id: host for host in mgr.hosts()}
        for host_id, report in soak.last_report.items():
            held = [soak.placed[consumer][1] for consumer, claim in
                    outstanding.items() if claim.host == host_id]
            host = hosts[host_id]
            for field, scale in (('memory_mb', 1), ('cpus', 1000)):
                free = units.capacity(report[field], scale) - sum(
                    units.need(request.get(field, 0), scale)
                    for request in held)
                self.assertEqual(max(free, 0) / scale, getattr(host, field))
            self.assertEqual(len(report.get('consumers', ())) + len(held),
                             host.containers)
            # A web container its last report lists counts once more
            # (unless its claim expired before that report).
            kept = any(soak.placed[consumer][1].get('group') == 'web'
                       for consumer in report.get('consumers', ())
                       if consumer not in expired)
            self.assertEqual(kept + sum(r.get('group') == 'web'
                                        for r in held),
                             host.groups.count('web'))
        for report in VOLATILE:
            if report['id'] in hosts:
                self.assertEqual(0, hosts[report['id']].containers)
        if 'SORA_SOAK_SECONDS' in os.environ:
            print(f'\nsoak: {seconds:g} s, ' + ', '.join(
                f'{count} {name}' for name, count in
                sorted(soak.counts.items())) +
                f', {len(soak.settled)} settled, {len(expired)} expired, '
                f'{len(outstanding)} claims outstanding, books balanced')
