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

"""``tools/benchmark.py --store etcd``: the shared host store, measured.

Against the etcd at ``--etcd`` (a throwaway prefix, deleted afterwards) it
prints

* claims per second that 1, 2 and 4 processes, each with its own manager
  on the etcd store, make together (each claim one decision and one etcd
  transaction; ``[filter_scheduler] host_subset_size = 8``, as several
  schedulers should run), beside the raw rate of single-key etcd
  transactions the same number of processes reach in the same run, the
  same rate while each process also follows every process's writes with
  a watch (as every manager follows every claim: what sharing costs
  whoever does it), the rate of watched transactions shaped like a claim's
  (two puts, four comparisons: what the claims' atomicity costs etcd) and
  its share of the raw rate (``it/raw``: the most a store that follows
  every write and claims this way can reach, with a decision that costs
  nothing), the share of it Sora reaches (what deciding costs), and the
  conflicts
  (decisions made again because another process got there first) per
  1,000 claims;
* the latency of one decision with a warm cache at ``--hosts`` hosts
  (decided on the manager's mirror, nothing claimed) and of a decision
  that claims, beside the in-process store's on the same hosts;
* the CPU a manager spends following another manager's single-node
  reports, per event, at 20,000 hosts; and the CPU and peak memory of a
  process that starts a manager on 100,000 hosts already in etcd and
  decides once.

Before each measured rate it compacts etcd's history up to the current
revision, as a production etcd's ``--auto-compaction-retention`` would:
without it the history the benchmark writes (about 100,000 revisions a
run) slows etcd's transactions several times over, and each figure would
depend on what ran before it. Run it against an etcd of its own.
"""

import collections
import functools
import json
import multiprocessing
import resource
import statistics
import threading
import time
import uuid

from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import manager
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import store as etcd_store
from sora.scheduler.stores.etcd import watch as etcd_watch

REQUEST = {'memory_mb': 1, 'cpus': 0.001}
CLAIM = json.dumps({'host': 'n0001', 'needs': [1, 1, 0], 'group': None,
                    'made': 1764750000.25}).encode()
SUBSET = 8


def _conf(endpoint, prefix, store='etcd'):
    conf = cfg.ConfigOpts()
    conf([], project='sora', default_config_files=[], default_config_dirs=[])
    manager.sora_conf.register_opts(conf)
    conf.set_override('scheduler_driver', 'filter')
    # As the operator guide says for several schedulers: pick at random
    # among the best few, or every scheduler goes for the same host.
    conf.set_override('host_subset_size', SUBSET, 'filter_scheduler')
    conf.set_override('host_store', store, 'scheduler')
    conf.set_override('endpoints', [endpoint], 'etcd')
    conf.set_override('prefix', prefix, 'etcd')
    return conf


class _CountingStore(etcd_store.EtcdHostStore):
    """The etcd store, counting the commits that lost a race."""

    conflicts = 0

    def commit(self, version, request, placements):
        try:
            super().commit(version, request, placements)
        except exceptions.Conflict:
            self.conflicts += 1
            raise


def _claimer(endpoint, prefix, seconds, start, results):
    conf = _conf(endpoint, prefix)
    store = _CountingStore(conf)
    mgr = manager.SchedulerManager(conf, store=store)
    claims = 0
    start.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        mgr.select_destinations(REQUEST)
        claims += 1
    results.put((claims, store.conflicts))
    mgr.close()
    store.close()  # given to the manager: the giver's to close


def _claim_shaped(client, key, aside, done):
    # The shape of a claim's transaction (etcd_store.EtcdHostStore.commit):
    # the consumer key absent, the host's report present and, with its
    # version key (outside the watched keys, as the store's are), unchanged;
    # the claim and the version key written; the three read should it fail.
    host, version = aside + '/host', aside + '/version'
    claim = f'{key}{done}'
    client.txn([ops.absent(claim), ops.present(host),
                ops.unchanged_since(host, 2 ** 62),
                ops.unchanged_since(version, 2 ** 62)],
               [ops.put(claim, CLAIM), ops.put(version, b'')],
               [ops.read(claim), ops.read(host),
                ops.read(version)])


def _single_key(client, key, aside, done):
    client.txn([ops.absent(f'{key}{done}')],
               [ops.put(f'{key}{done}', b'x')])


def _raw(endpoint, prefix, seconds, start, results, watch=False,
         shape=_single_key):
    # With *watch*, a thread follows every process's writes, as each
    # manager's watch follows every claim.
    client = etcd_client.Client([endpoint], 5.0)
    key = f'{prefix}/raw/{uuid.uuid4().hex}'
    aside = f'{prefix}/aside/{uuid.uuid4().hex}'
    client.txn([], [ops.put(aside + '/host', b'{}')])
    if watch:
        _, revision, _ = client.txn([], [])
        follower = etcd_watch.Watch(client, f'{prefix}/raw/', revision + 1)
        thread = threading.Thread(target=collections.deque,
                                  args=(follower, 0), daemon=True)
        thread.start()
    start.wait()
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        shape(client, key, aside, done)
        done += 1
    results.put((done, 0))
    if watch:
        follower.close()
        thread.join()


def _compact(endpoint):
    # Drop the history so far, waiting until etcd has (physical).
    client = etcd_client.Client([endpoint], 30.0)
    try:
        _, revision, _ = client.txn([], [])
        client.call('kv/compaction', {'revision': str(revision),
                                      'physical': True})
    finally:
        client.close()


def _rate(target, processes, endpoint, prefix, seconds):
    _compact(endpoint)
    context = multiprocessing.get_context('spawn')
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=target, args=(
        endpoint, prefix, seconds, start, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(2 + processes)  # each builds its manager and mirror first
    start.set()
    totals = [results.get(timeout=120 + seconds) for _ in workers]
    for worker in workers:
        worker.join()
    return (sum(done for done, _ in totals) / seconds,
            sum(conflicts for _, conflicts in totals))


def _follower(endpoint, prefix, ready, target, results):
    # Follow etcd with one manager and report the process's CPU seconds
    # spent until its copy reached the revision the parent sends.
    mgr = manager.SchedulerManager(_conf(endpoint, prefix))
    mirror = mgr.store.mirror
    before = time.process_time()
    ready.set()
    revision = target.get(timeout=600)
    with mirror.changed:
        mirror.changed.wait_for(lambda: mirror.revision >= revision)
    results.put(time.process_time() - before)
    mgr.close()


def _starter(endpoint, prefix, results):
    # List the hosts in etcd and decide once: CPU seconds and peak memory.
    before = time.process_time()
    mgr = manager.SchedulerManager(_conf(endpoint, prefix))
    mgr.select_destinations(REQUEST, dry_run=True)
    results.put((time.process_time() - before,
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    mgr.close()


def follow_and_start(endpoint, followed_hosts=20000, events=3000,
                     started_hosts=100000):
    """Print what following and starting cost a manager.

    Following: CPU per event of single-node reports at *followed_hosts*.
    Starting: CPU and peak memory on *started_hosts* hosts in etcd.
    """
    context = multiprocessing.get_context('spawn')
    prefix = f'/sora-bench-{uuid.uuid4().hex}'
    client = etcd_client.Client([endpoint], 30.0)
    try:
        writer = manager.SchedulerManager(_conf(endpoint, prefix))
        reports = [{'id': f'n{i:06d}', 'memory_mb': 4096, 'cpus': 8,
                    'labels': {'zone': f'az{i % 3}'}}
                   for i in range(max(followed_hosts, started_hosts))]
        writer.update_hosts(reports[:followed_hosts])
        ready, target, results = (context.Event(), context.Queue(),
                                  context.Queue())
        follower = context.Process(target=_follower, args=(
            endpoint, prefix, ready, target, results))
        follower.start()
        ready.wait(timeout=600)
        for i in range(events):
            writer.update_hosts([dict(reports[i % followed_hosts],
                                      memory_mb=4096 - i % 512)])
        target.put(writer.store.mirror.revision)
        cpu = results.get(timeout=600)
        follower.join()
        print(f'\nfollowing {events} single-node reports at '
              f'{followed_hosts} hosts: {cpu / events * 1e6:.0f} us of CPU '
              'per event (target 50)', flush=True)
        writer.update_hosts(reports[followed_hosts:started_hosts])
        writer.close()
        starter = context.Process(target=_starter, args=(
            endpoint, prefix, results))
        starter.start()
        cpu, peak = results.get(timeout=600)
        starter.join()
        print(f'starting on {started_hosts} hosts in etcd (list, decide): '
              f'{cpu:.2f} s of CPU (target 3), peak {peak:.0f} MB '
              '(target 400)', flush=True)
    finally:
        client.delete(prefix)
        client.close()


def _latency(call, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(endpoint, host_count, seconds, hosts, rounds=3):
    """Print the figures above; *hosts* makes the synthetic hosts.

    Each rate is the median of *rounds* runs of *seconds*, the three kinds
    taking turns, so that etcd's own drift (its disk's sync time varies by
    the second on shared machines) falls on each alike.
    """
    prefix = f'/sora-bench-{uuid.uuid4().hex}'
    client = etcd_client.Client([endpoint], 30.0)
    try:
        setup = manager.SchedulerManager(_conf(endpoint, prefix))
        setup.update_hosts([{'id': f'n{i:04d}', 'memory_mb': 10 ** 6,
                             'cpus': 1000} for i in range(100)])
        setup.close()
        print(f'{"":>9} {"":>9} {"single-key txn/s":>16} {"":>9} '
              f'{"claim-shaped, watched":>23}')
        print(f'{"processes":>9} {"claims/s":>9} {"raw":>6} {"watched":>8} '
              f'{"sora/raw":>9} {"txn/s":>6} {"it/raw":>7} {"sora/it":>8} '
              f'{"conflicts/1000":>15}')
        kinds = (_claimer, _raw, functools.partial(_raw, watch=True),
                 functools.partial(_raw, watch=True, shape=_claim_shaped))
        for processes in (1, 2, 4):
            runs = [[_rate(kind, processes, endpoint, prefix, seconds)
                     for kind in kinds] for _ in range(rounds)]
            claims, raw, watched, shaped = (statistics.median(
                figures[k][0] for figures in runs) for k in range(4))
            per_1000 = 1000 * sum(figures[0][1] for figures in runs) / max(
                1, sum(figures[0][0] for figures in runs) * seconds)
            print(f'{processes:>9} {claims:>9.0f} {raw:>6.0f} '
                  f'{watched:>8.0f} {claims / raw:>9.0%} {shaped:>6.0f} '
                  f'{shaped / raw:>7.0%} {claims / shaped:>8.0%} '
                  f'{per_1000:>15.1f}', flush=True)
        table = hosts(host_count, 1)
        print(f'\n{host_count} hosts, median ms: {"decide":>8} '
              f'{"decide+claim":>13}')
        for store in ('memory', 'etcd'):
            mgr = manager.SchedulerManager(
                _conf(endpoint, prefix + '/latency', store))
            mgr.update_hosts(table)
            mgr.select_destinations(REQUEST, dry_run=True)  # warm
            decide = _latency(
                lambda: mgr.select_destinations(REQUEST, dry_run=True), 200)
            claim = _latency(lambda: mgr.select_destinations(REQUEST), 200)
            print(f'{store + " store":>24} {decide:>8.3f} {claim:>13.3f}',
                  flush=True)
            mgr.close()
    finally:
        client.delete(prefix)
        client.close()
