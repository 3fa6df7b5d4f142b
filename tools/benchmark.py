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

"""Measure SchedulerManager.select_destinations on synthetic hosts.

For each host count and each built-in driver (default options) it prints,
in milliseconds, the median and 95th percentile latency of one decision:

* tracked: on the hosts the manager tracks (decide and claim);
* passed: with ``hosts=`` given as node-report mappings (validation and
  parsing included, nothing claimed);

and the decisions per second 4 threads calling one manager achieve on
tracked hosts. Hosts come from a seeded generator, so runs compare.

    python tools/benchmark.py [--hosts 1000,10000,100000] [--seed 1]
"""

import argparse
import random
import statistics
import sys
import threading
import time

from oslo_config import cfg

from sora.scheduler import manager

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


def summary(latencies):
    """Return (median, p95) of *latencies*."""
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))))]
    return statistics.median(ordered), p95


def threaded_rate(mgr, threads, per_thread):
    """Return decisions per second of *threads* threads on one manager."""
    def work():
        for _ in range(per_thread):
            mgr.select_destinations(REQUEST)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - start)


def build_manager(driver, hosts):
    conf = cfg.ConfigOpts()
    conf([], project='sora', default_config_files=[],
         default_config_dirs=[])
    manager.SchedulerManager(conf)  # registers the options
    conf.set_override('scheduler_driver', driver)
    mgr = manager.SchedulerManager(conf)
    mgr.update_hosts(hosts)
    return mgr


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--hosts', default='1000,10000,100000',
                        help='comma-separated host counts (default: '
                             '%(default)s)')
    parser.add_argument('--seed', type=int, default=1,
                        help='seed of the host generator (default: 1)')
    args = parser.parse_args(argv)
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
    return 0


if __name__ == '__main__':
    sys.exit(main())
