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
  whoever does it), and the conflicts (decisions made again because
  another process got there first) per 1,000 claims;
* the latency of one decision with a warm cache at ``--hosts`` hosts
  (decided on the manager's mirror, nothing claimed) and of a decision
  that claims, beside the in-process store's on the same hosts.
"""

import collections
import functools
import multiprocessing
import statistics
import threading
import time
import uuid

from oslo_config import cfg

from sora.scheduler import etcd_client
from sora.scheduler import etcd_store
from sora.scheduler import manager

REQUEST = {'memory_mb': 1, 'cpus': 0.001}
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
        done = super().commit(version, request, placements)
        self.conflicts += not done
        return done


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


def _raw(endpoint, prefix, seconds, start, results, watch=False):
    # With *watch*, a thread follows every process's writes, as each
    # manager's watch follows every claim.
    client = etcd_client.Client([endpoint], 5.0)
    key = f'{prefix}/raw/{uuid.uuid4().hex}'
    if watch:
        _, revision, _ = client.txn([], [])
        follower = client.watch(f'{prefix}/raw/', revision + 1)
        thread = threading.Thread(target=collections.deque,
                                  args=(follower, 0), daemon=True)
        thread.start()
    start.wait()
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        client.txn([etcd_client.absent(key + str(done))],
                   [etcd_client.put(key + str(done), b'x')])
        done += 1
    results.put((done, 0))
    if watch:
        follower.close()
        thread.join()


def _rate(target, processes, endpoint, prefix, seconds):
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
        print(f'{"processes":>9} {"claims/s":>9} {"raw txn/s":>10} '
              f'{"sora/raw":>9} {"watched raw/s":>14} {"sora/watched":>13} '
              f'{"conflicts/1000":>15}')
        kinds = (_claimer, _raw, functools.partial(_raw, watch=True))
        for processes in (1, 2, 4):
            runs = [[_rate(kind, processes, endpoint, prefix, seconds)
                     for kind in kinds] for _ in range(rounds)]
            claims, raw, watched = (statistics.median(
                figures[k][0] for figures in runs) for k in range(3))
            per_1000 = 1000 * sum(figures[0][1] for figures in runs) / max(
                1, sum(figures[0][0] for figures in runs) * seconds)
            print(f'{processes:>9} {claims:>9.0f} {raw:>10.0f} '
                  f'{claims / raw:>9.0%} {watched:>14.0f} '
                  f'{claims / watched:>13.0%} {per_1000:>15.1f}', flush=True)
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
