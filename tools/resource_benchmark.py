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


"""Measure what countable resources cost (``benchmark.py --resources``).

On N synthetic hosts of which a tenth report 1-8 GPUs, with 5 resource
names in the cluster, it prints the median of, each in alternating rounds
so that both sides see the same machine:

* a tracked decision (``filter`` driver) of a 1-GPU request against the
  same request without resources, on the same hosts;
* one node report, one claim (decide and claim) and its release, on hosts
  that report no countable resource against the hosts that do;
* the memory the tracked hosts take per host, without resources and with,
  and per resource name.
"""

import gc
import random
import statistics
import time
import tracemalloc

NAMES = ('gpu', 'vf', 'fpga', 'nvme', 'seat')


def with_resources(hosts, seed):
    """Return *hosts* of which a tenth report GPUs and others 4 names more."""
    rng = random.Random(seed)
    counted = []
    for host in hosts:
        host = dict(host)
        if rng.random() < 0.1:
            host['resources'] = {'gpu': rng.randrange(1, 9)}
        elif rng.random() < 0.1:
            host['resources'] = {rng.choice(NAMES[1:]): rng.randrange(1, 64)}
        counted.append(host)
    return counted


def alternating(timed, first, second, repeat, rounds=15):
    """Return the medians (µs) of two calls measured in alternating rounds."""
    a, b = [], []
    for _ in range(rounds):
        a.append(statistics.median(timed(first, repeat)) * 1000)
        b.append(statistics.median(timed(second, repeat)) * 1000)
    return statistics.median(a), statistics.median(b)


def cycle(mgr, request, serial):
    """Make one claim and release it; return the seconds each took."""
    consumer = f'c{next(serial)}'
    start = time.perf_counter()
    mgr.select_destinations(request, consumers=[consumer])
    claimed = time.perf_counter()
    mgr.release(consumer)
    return claimed - start, time.perf_counter() - claimed


def _per_host_bytes(build, hosts):
    gc.collect()
    tracemalloc.start()
    mgr = build('filter', hosts)
    mgr.hosts()  # a snapshot, as decisions take
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del mgr
    return used / len(hosts)


def run(count, seed, tools, request):
    """Print the figures for *count* hosts (see the module's doc).

    *tools* are ``benchmark.py``'s ``synthetic_hosts``, ``build_manager``
    and ``timed``.
    """
    synthetic_hosts, build, timed = tools
    plain_hosts = synthetic_hosts(count, seed)
    counted_hosts = with_resources(plain_hosts, seed)
    plain = build('filter', plain_hosts)
    counted = build('filter', counted_hosts)
    gpu_request = dict(request, resources={'gpu': 1})
    repeat = max(10, 20_000 // count)
    serial = iter(range(10 ** 9))
    with_gpu, without = alternating(
        timed, lambda: cycle(counted, gpu_request, serial),
        lambda: cycle(counted, request, serial), repeat)
    print(f'{count:>7} hosts, 5 resource names: decision and release of a '
          f'1-GPU request {with_gpu:.0f} µs, of the request without '
          f'resources {without:.0f} µs ({with_gpu / without:.2f}x)')
    rng = random.Random(seed)

    def report(mgr, hosts):
        return lambda: mgr.update_hosts([rng.choice(hosts)])
    reported = alternating(timed, report(counted, counted_hosts),
                           report(plain, plain_hosts), 200)
    costs = {}
    for name, mgr in (('with', counted), ('without', plain)):
        claims, releases = zip(*(cycle(mgr, request, serial)
                                 for _ in range(repeat * 15)))
        costs[name] = (statistics.median(claims) * 1e6,
                       statistics.median(releases) * 1e6)
    print(f'{"":>7} report {reported[0]:.1f} vs {reported[1]:.1f} µs, '
          f'claim {costs["with"][0]:.0f} vs {costs["without"][0]:.0f} µs, '
          f'release {costs["with"][1]:.1f} vs {costs["without"][1]:.1f} µs '
          '(with resources vs without)')
    before = _per_host_bytes(build, plain_hosts)
    after = _per_host_bytes(build, counted_hosts)
    print(f'{"":>7} memory per host {before:.0f} B without resources, '
          f'{after:.0f} B with: {(after - before) / len(NAMES):.1f} B per '
          'resource name', flush=True)
