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

"""Measure what soft rules cost (``benchmark.py --soft``).

On N synthetic hosts of which a tenth run 1-3 containers of group ``web``,
it prints for each built-in driver the median of a tracked decision and
the release of its claim, for the benchmark's request with a preference
(``ssd``, weight 50) and ``group_policy: soft-anti-affinity`` in ``web``
against the plain request, in alternating rounds so that both see the
same machine; then the same of 4 placements at once (``count=4``, each
pick counting the ones before it).
"""

import random

PREFERENCE = {'key': 'ssd', 'op': 'in', 'values': ['true'], 'weight': 50}


def with_group(hosts, seed):
    """Return *hosts* of which a tenth run 1-3 containers of ``web``."""
    rng = random.Random(seed)
    return [dict(host, groups=['web'] * rng.randrange(1, 4))
            if rng.random() < 0.1 else host for host in hosts]


def soft(request):
    """Return *request* with a preference and a soft-anti-affinity group."""
    return dict(request, preferences=[PREFERENCE], group='web',
                group_policy='soft-anti-affinity')


def run(count, seed, tools, request, drivers):
    """Print the figures for *count* hosts (see the module's doc).

    *tools* are ``benchmark.py``'s ``synthetic_hosts``, ``build_manager``
    and ``timed``, and ``resource_benchmark.py``'s ``alternating`` and
    ``cycle``.
    """
    synthetic_hosts, build, timed, alternating, cycle = tools
    hosts = with_group(synthetic_hosts(count, seed), seed)
    repeat = max(10, 20_000 // count)
    serial = iter(range(10 ** 9))
    for placements in (1, 4):
        for driver in drivers:
            mgr = build(driver, hosts)
            with_soft, without = alternating(
                timed, lambda: cycle(mgr, soft(request), serial, placements),
                lambda: cycle(mgr, request, serial, placements), repeat)
            print(f'{count:>7} hosts, {driver:<10} count {placements}: '
                  f'decision and release with soft rules {with_soft:.0f} '
                  f'µs, plain {without:.0f} µs '
                  f'({with_soft / without:.2f}x)', flush=True)
