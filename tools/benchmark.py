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

"""Measure the scheduler on synthetic hosts.

By default, for each host count and each built-in driver (default options)
it prints, in milliseconds, the median and 95th percentile latency of one
decision:

* tracked: on the hosts the manager tracks (decide and claim);
* passed: with ``hosts=`` given as node-report mappings (validation and
  parsing included, nothing claimed);

and the decisions per second 4 threads calling one manager achieve on
tracked hosts. Then, for each host count, the median tracked decision of
the ``filter`` driver with its metrics counted and without (the same call
undecorated), measured in alternating rounds, and what counting adds.

``--live`` measures a live cluster instead, for one driver (``--driver``,
default ``filter``): N tracked hosts whose nodes keep reporting. For each
host count it prints

* the cost of parsing N node reports at once, of one single-node report,
  of adding and of removing a host, and of settling a claim;
* decision latency (decide and claim, under a consumer id) with no
  reports, and of the first labelled decision after a report;
* decision p50/p99 while another thread sends single-node reports at
  ``--rate`` per second and each placement is settled by a report of its
  node listing the consumer (before consumer ids existed: released);
* the highest report rate tried (doubling from 250/s) that the reporter
  sustains while the decisions' p99 stays within ``--p99-factor`` times
  their p99 under 100 reports/s (which already pays for sharing the
  interpreter with a second thread);
* placements per second of 1 and of 4 threads sharing one manager (each
  placement released again at once), their ratio, and the ratio 4 threads
  reach when each operation holds one lock around pure-Python work of the
  same length: CPython's ceiling for decisions that take turns.

``--resources`` measures what countable resources cost instead (see
``tools/resource_benchmark.py``), ``--soft`` what soft rules cost (see
``tools/soft_benchmark.py``), ``--topology`` what topology rules cost
(see ``tools/topology_benchmark.py``).

Hosts come from a seeded generator, so runs compare.

    python tools/benchmark.py [--hosts 1000,10000,100000] [--seed 1]
    python tools/benchmark.py --live [--driver filter] [--rate 1000]
        [--seconds 3] [--p99-factor 2]
    python tools/benchmark.py --resources [--hosts 10000]
    python tools/benchmark.py --soft [--hosts 1000,10000]
    python tools/benchmark.py --topology [--hosts 10000]
    python tools/benchmark.py --store etcd [--etcd URL] [--hosts 10000]
        [--seconds 3] [--rounds 3]
"""

import argparse
import collections
import inspect
import itertools
import random
import statistics
import sys
import threading
import time

from oslo_config import cfg

from sora.scheduler import host_state
from sora.scheduler import manager

import etcd_benchmark  # noqa: H306 (tools/, beside this file)
import resource_benchmark  # noqa: H306
import soft_benchmark  # noqa: H306
import topology_benchmark  # noqa: H306

DRIVERS = ('memorybase', 'randombase', 'filter')
REQUEST = {'memory_mb': 256, 'cpus': 0.25, 'disk_gb': 1,
           'labels': {'zone': 'az2'}}


def synthetic_hosts(count, seed):
    """Return *count* node reports drawn from a seeded generator."""
    rng = random.Random(seed)
    hosts = []
    for n in range(count):
        memory_total = rng.choice((16384, 32768, 65536, 131072))
        cpus_total = rng.choice((8, 16, 32, 64))
        hosts.append({
            'id': f'node-{n:06d}',
            'memory_mb': rng.randrange(memory_total // 4, memory_total),
            'memory_total_mb': memory_total,
            'cpus': round(rng.uniform(cpus_total / 4, cpus_total), 2),
            'cpus_total': cpus_total,
            'disk_gb': rng.randrange(100, 2000),
            'containers': rng.randrange(0, 80),
            'labels': {'zone': f'az{rng.randrange(1, 4)}',
                       'ssd': rng.choice(('true', 'false'))},
            'enabled': rng.random() > 0.02,
        })
    return hosts


def timed(call, repeat):
    """Return the latencies of *repeat* calls, in milliseconds."""
    latencies = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def metrics_cost(mgr, repeat, rounds=30):
    """Return the tracked decision (ms) with metrics, without, and the cost.

    Without: ``select_destinations`` undecorated, which counts nothing.
    Short rounds alternate, so that both see the same machine; each
    round's medians are compared, and the medians of all are returned.
    """
    plain = manager.SchedulerManager.select_destinations.__wrapped__
    on, off, ratios = [], [], []
    for _ in range(rounds):
        on.append(statistics.median(timed(
            lambda: mgr.select_destinations(REQUEST), repeat)))
        off.append(statistics.median(timed(lambda: plain(mgr, REQUEST),
                                           repeat)))
        ratios.append(on[-1] / off[-1])
    return (statistics.median(on), statistics.median(off),
            statistics.median(ratios) - 1)


def summary(latencies):
    """Return (median, p95) of *latencies*."""
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))))]
    return statistics.median(ordered), p95


def in_threads(work, threads):
    """Run ``work(n)`` in *threads* threads at once; return the seconds."""
    workers = [threading.Thread(target=work, args=(n,))
               for n in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def threaded_rate(mgr, threads, per_thread):
    """Return decisions per second of *threads* threads on one manager."""
    def work(_n):
        for _ in range(per_thread):
            mgr.select_destinations(REQUEST)

    return threads * per_thread / in_threads(work, threads)


def build_manager(driver, hosts):
    conf = cfg.ConfigOpts()
    conf([], project='sora', default_config_files=[],
         default_config_dirs=[])
    manager.SchedulerManager(conf)  # registers the options
    conf.set_override('scheduler_driver', driver)
    mgr = manager.SchedulerManager(conf)
    mgr.update_hosts(hosts)
    return mgr


def percentile(values, fraction):
    """Return the *fraction* percentile of *values* (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class LiveCluster:
    """One manager tracking N hosts whose nodes keep reporting.

    Placements are claimed under a consumer id and settled by a report of
    their node listing it; with a scheduler that predates consumer ids they
    are released by host and request instead.
    """

    def __init__(self, driver, hosts):
        self.hosts = {host['id']: host for host in hosts}
        self.ids = list(self.hosts)
        self.mgr = build_manager(driver, hosts)
        self.consumers = 'consumers' in inspect.signature(
            self.mgr.select_destinations).parameters
        self.serial = itertools.count()
        self.outstanding = collections.deque()

    def report(self, rng, host_id=None, consumers=()):
        """Send one node's report: new free memory and container count."""
        host = dict(self.hosts[host_id or rng.choice(self.ids)])
        host['memory_mb'] = rng.randrange(host['memory_total_mb'] // 4,
                                          host['memory_total_mb'])
        host['containers'] = rng.randrange(0, 80)
        if consumers:
            host['consumers'] = list(consumers)
        self.mgr.update_hosts([host])

    def place(self, request=REQUEST):
        """Decide and claim one container; remember it to settle it."""
        if self.consumers:
            consumer = f'bench-{next(self.serial)}'
            [host_id] = self.mgr.select_destinations(request,
                                                     consumers=[consumer])
            self.outstanding.append((host_id, consumer))
        else:
            [host_id] = self.mgr.select_destinations(request)
            self.outstanding.append((host_id, request))

    def settle(self, rng):
        """Settle the oldest placement: its node reports the container."""
        host_id, token = self.outstanding.popleft()
        if self.consumers:
            self.report(rng, host_id, consumers=[token])
        else:
            self.mgr.release(host_id, token)

    def costs(self, rng, repeat):
        """Return {name: latencies in microseconds} of single operations."""
        costs = collections.defaultdict(list)
        for n in range(repeat):
            start = time.perf_counter()
            self.report(rng)
            costs['report'].append(time.perf_counter() - start)
        for n in range(min(repeat, 200)):
            host = dict(rng.choice(list(self.hosts.values())),
                        id=f'added-{n:04d}')
            start = time.perf_counter()
            self.mgr.update_hosts([host])
            costs['add'].append(time.perf_counter() - start)
        for n in range(min(repeat, 200)):
            start = time.perf_counter()
            self.mgr.remove_host(f'added-{n:04d}')
            costs['remove'].append(time.perf_counter() - start)
        for n in range(min(repeat, 200)):
            self.place()
            start = time.perf_counter()
            self.settle(rng)
            costs['settle'].append(time.perf_counter() - start)
        return {name: [value * 1e6 for value in values]
                for name, values in costs.items()}

    def decisions(self, repeat):
        """Return decision latencies (ms) with no report in between."""
        rng = random.Random(0)
        latencies = []
        for _ in range(repeat):
            start = time.perf_counter()
            self.place()
            latencies.append((time.perf_counter() - start) * 1000)
            self.settle(rng)
        return latencies

    def labelled_after_report(self, rng, repeat):
        """Return latencies (ms) of a labelled decision just after a report."""
        latencies = []
        for _ in range(repeat):
            self.report(rng)
            start = time.perf_counter()
            self.place()
            latencies.append((time.perf_counter() - start) * 1000)
            self.settle(rng)
        return latencies

    def under_stream(self, rate, seconds):
        """Decide for *seconds* while a thread reports *rate* nodes/s.

        Returns (decision latencies in ms, reports per second achieved).
        """
        stop = threading.Event()
        sent = [0]

        def reporter():
            rng = random.Random(rate)
            start = time.perf_counter()
            while not stop.is_set():
                due = int((time.perf_counter() - start) * rate)
                while sent[0] < due and not stop.is_set():
                    self.report(rng)
                    sent[0] += 1
                time.sleep(0.001)

        thread = threading.Thread(target=reporter)
        rng = random.Random(1)
        latencies = []
        start = time.perf_counter()
        thread.start()
        try:
            while time.perf_counter() - start < seconds:
                began = time.perf_counter()
                self.place()
                latencies.append((time.perf_counter() - began) * 1000)
                if len(self.outstanding) > 10:
                    self.settle(rng)
        finally:
            stop.set()
            thread.join()
        elapsed = time.perf_counter() - start
        return latencies, sent[0] / elapsed

    def placement_rate(self, threads, seconds):
        """Return placements per second of *threads* threads.

        Each thread places a container and releases it again, so the
        cluster stays as full as it was.
        """
        done = [0] * threads
        failed = []
        deadline = time.perf_counter() + seconds

        def work(n):
            try:
                while time.perf_counter() < deadline:
                    if self.consumers:
                        consumer = f'rate-{next(self.serial)}'
                        self.mgr.select_destinations(REQUEST,
                                                     consumers=[consumer])
                        self.mgr.release(consumer)
                    else:
                        [host_id] = self.mgr.select_destinations(REQUEST)
                        self.mgr.release(host_id, REQUEST)
                    done[n] += 1
            except Exception as error:  # reported with the figures
                failed.append(error)

        elapsed = in_threads(work, threads)
        if failed:
            raise failed[0]
        return sum(done) / elapsed


def _busy(steps):
    total = 0
    for step in range(steps):
        total += step
    return total


def turn_ceiling(per_op, threads, seconds):
    """Return the rate of *threads* threads over one's, taking turns.

    Each operation holds one lock around pure-Python work lasting *per_op*
    seconds: the most that CPython's threads can reach for decisions that
    take turns (handing the lock and the interpreter lock from thread to
    thread costs what it costs, whatever the scheduler does).
    """
    steps = 1000
    while True:
        start = time.perf_counter()
        _busy(steps)
        took = time.perf_counter() - start
        if took > 0.01:
            break
        steps *= 2
    steps = max(1, int(steps * per_op / took))
    lock = threading.Lock()

    def rate(count):
        done = [0] * count
        deadline = time.perf_counter() + seconds

        def work(n):
            while time.perf_counter() < deadline:
                with lock:
                    _busy(steps)
                done[n] += 1

        elapsed = in_threads(work, count)
        return sum(done) / elapsed

    return rate(threads) / rate(1)


def live(counts, driver, seed, rate, seconds, factor):
    """Measure a live cluster of each size in *counts*; print a table."""
    rows = collections.defaultdict(dict)
    for count in counts:
        hosts = synthetic_hosts(count, seed)
        start = time.perf_counter()
        host_state.parse_hosts(hosts)
        rows['parse all reports (s)'][count] = \
            f'{time.perf_counter() - start:.2f}'
        cluster = LiveCluster(driver, hosts)
        rng = random.Random(seed)
        for name, values in cluster.costs(rng, 1000).items():
            rows[f'{name} p50/p99 (us)'][count] = \
                f'{percentile(values, 0.5):.0f}/{percentile(values, 0.99):.0f}'
        steady = cluster.decisions(max(50, 200_000 // count))
        p99 = percentile(steady, 0.99)
        rows['decision p50/p99 (ms)'][count] = \
            f'{percentile(steady, 0.5):.2f}/{p99:.2f}'
        after = cluster.labelled_after_report(rng, 30)
        rows['decision after a report p50 (ms)'][count] = \
            f'{percentile(after, 0.5):.2f}'
        latencies, achieved = cluster.under_stream(rate, seconds)
        rows[f'under {rate} reports/s: p50/p99 (ms)'][count] = \
            f'{percentile(latencies, 0.5):.2f}/' \
            f'{percentile(latencies, 0.99):.2f}'
        rows[f'under {rate} reports/s: reports/s sent'][count] = \
            f'{achieved:.0f}'
        latencies, _ = cluster.under_stream(100, seconds)
        reference = percentile(latencies, 0.99)
        rows['under 100 reports/s: p99 (ms)'][count] = f'{reference:.2f}'
        best, tried = None, 250
        while tried <= 64_000:
            latencies, achieved = cluster.under_stream(tried, seconds)
            if achieved < 0.95 * tried or \
                    percentile(latencies, 0.99) > factor * reference:
                break
            best, tried = tried, tried * 2
        rows[f'max reports/s, p99 within {factor:g}x of 100/s'][count] = \
            f'>= {best}' if best else '< 250'
        rates = {threads: cluster.placement_rate(threads, seconds)
                 for threads in (1, 4)}
        for threads, achieved in rates.items():
            rows[f'place+release/s, {threads} thread(s)'][count] = \
                f'{achieved:.0f}'
        rows['4 threads / 1 thread'][count] = f'{rates[4] / rates[1]:.2f}'
        rows['ceiling: 4 / 1 taking turns at Python work'][count] = \
            f'{turn_ceiling(1 / rates[1], 4, seconds):.2f}'
        print(f'# {count} hosts done', file=sys.stderr, flush=True)
    width = max(map(len, rows))
    print(f'live cluster, driver {driver}, '
          + ('claims by consumer, settled by reports' if cluster.consumers
             else 'claims released by host and request'))
    print(f'{"hosts":<{width}} '
          + ' '.join(f'{count:>11}' for count in counts))
    for name, values in rows.items():
        print(f'{name:<{width}} ' + ' '.join(
            f'{values.get(count, ""):>11}' for count in counts))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--hosts', default='1000,10000,100000',
                        help='comma-separated host counts (default: '
                             '%(default)s)')
    parser.add_argument('--seed', type=int, default=1,
                        help='seed of the host generator (default: 1)')
    parser.add_argument('--resources', action='store_true',
                        help='measure what countable resources cost')
    parser.add_argument('--soft', action='store_true',
                        help='measure what soft rules (preferences, '
                             'soft-anti-affinity) cost')
    parser.add_argument('--topology', action='store_true',
                        help='measure what topology rules cost')
    parser.add_argument('--live', action='store_true',
                        help='measure a live cluster (see above)')
    parser.add_argument('--driver', default='filter',
                        help='driver of --live (default: %(default)s)')
    parser.add_argument('--rate', type=int, default=1000,
                        help='reports per second of --live\'s stream '
                             '(default: %(default)s)')
    parser.add_argument('--seconds', type=float, default=3.0,
                        help='length of each --live run under reports '
                             '(default: %(default)s)')
    parser.add_argument('--store', choices=('memory', 'etcd'),
                        default='memory',
                        help='etcd: measure the shared store (see '
                             'tools/etcd_benchmark.py) against --etcd')
    parser.add_argument('--etcd', default='http://127.0.0.1:2379',
                        help='the etcd of --store etcd (default: '
                             '%(default)s)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='--store etcd: runs of each rate, the median '
                             'shown (default: %(default)s)')
    parser.add_argument('--p99-factor', type=float, default=2.0,
                        help='--live: how much the decisions\' p99 may grow '
                             'under reports (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.store == 'etcd':
        etcd_benchmark.run(args.etcd, int(args.hosts.split(',')[-1]),
                           args.seconds, synthetic_hosts, args.rounds)
        etcd_benchmark.follow_and_start(args.etcd)
        return 0
    if args.resources:
        for count in (int(text) for text in args.hosts.split(',')):
            resource_benchmark.run(
                count, args.seed, (synthetic_hosts, build_manager, timed),
                REQUEST)
        return 0
    if args.soft:
        for count in (int(text) for text in args.hosts.split(',')):
            soft_benchmark.run(
                count, args.seed, (synthetic_hosts, build_manager, timed,
                                   resource_benchmark.alternating,
                                   resource_benchmark.cycle),
                REQUEST, DRIVERS)
    if args.topology:
        for count in (int(text) for text in args.hosts.split(',')):
            topology_benchmark.run(
                count, args.seed, (synthetic_hosts, build_manager, timed))
        return 0
    if args.live:
        live([int(text) for text in args.hosts.split(',')], args.driver,
             args.seed, args.rate, args.seconds, args.p99_factor)
        return 0
    print(f'{"":19} {"tracked (ms)":>15} {"passed (ms)":>15} '
          f'{"4 threads":>10}')
    print(f'{"hosts":>7} {"driver":<11} {"median":>7} {"p95":>7} '
          f'{"median":>7} {"p95":>7} {"dec/s":>10}')
    for count in (int(text) for text in args.hosts.split(',')):
        hosts = synthetic_hosts(count, args.seed)
        repeat = max(20, 200_000 // count)
        passed_repeat = max(3, 20_000 // count)
        for driver in DRIVERS:
            mgr = build_manager(driver, hosts)
            mgr.select_destinations(REQUEST)  # warm caches
            tracked = summary(timed(lambda: mgr.select_destinations(REQUEST),
                                    repeat))
            passed = summary(timed(
                lambda: mgr.select_destinations(REQUEST, hosts=hosts),
                passed_repeat))
            rate = threaded_rate(mgr, 4, max(10, repeat // 4))
            print(f'{count:>7} {driver:<11} {tracked[0]:>7.3f} '
                  f'{tracked[1]:>7.3f} {passed[0]:>7.1f} {passed[1]:>7.1f} '
                  f'{rate:>10.0f}', flush=True)
    for count in (int(text) for text in args.hosts.split(',')):
        mgr = build_manager('filter', synthetic_hosts(count, args.seed))
        on, off, cost = metrics_cost(mgr, max(10, 20_000 // count))
        print(f'{count:>7} hosts, filter: tracked decision {on:.3f} ms with '
              f'metrics, {off:.3f} ms without ({cost * 100:+.1f}%)',
              flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
