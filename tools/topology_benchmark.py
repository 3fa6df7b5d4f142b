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

"""Measure what topology rules cost (``benchmark.py --topology``).

On N synthetic hosts in 3 zones of 20 racks each (labels ``zone`` and
``rack``; half labelled ``ssd``, a tenth tainted ``dedicated=gpu``), where
the nodes of one group report 1,000 of its containers and those of
another 10, it prints the median of, in alternating rounds so that both
sides see the same machine, a tracked decision (``filter`` driver, decide
and claim, then release):

* of a request with ``spread`` on zone against the same request without;
* of a request with a constraint, a toleration, ``spread`` on zone and a
  preference against a plain one;
* with ``spread`` on zone, and with ``affinity`` on zone, for the group of
  1,000 against the group of 10; the mean too, which includes the
  snapshots' occasional rebuild of their group lookups.
"""

import random
import statistics

import resource_benchmark  # noqa: H306 (tools/, beside this file)

ZONES, RACKS = 3, 20
PLAIN = {'memory_mb': 256, 'cpus': 0.25, 'disk_gb': 1}
EVERY_RULE = dict(
    PLAIN, group='small', spread={'key': 'zone', 'max_skew': 1},
    constraints=[{'key': 'zone', 'op': 'not_in', 'values': ['az4']}],
    tolerations=[{'key': 'dedicated', 'op': 'exists'}],
    preferences=[{'key': 'ssd', 'op': 'in', 'values': ['true'],
                  'weight': 50}])
TAINTS = [{'key': 'dedicated', 'value': 'gpu', 'effect': 'no_schedule'}]


def in_racks(hosts, seed, groups):
    """Return *hosts* in zones and racks; *groups* ``{name: members}``.

    The nodes of ``members`` hosts drawn at random report a container of
    the group each.
    """
    rng = random.Random(seed)
    placed = {}
    for group, members in groups.items():
        for row in rng.sample(range(len(hosts)), members):
            placed.setdefault(row, []).append(group)
    racked = []
    for row, host in enumerate(hosts):
        zone, rack = divmod(rng.randrange(ZONES * RACKS), RACKS)
        racked.append(dict(host, labels={
            'zone': f'az{zone + 1}', 'rack': f'az{zone + 1}-r{rack:02d}',
            'ssd': 'true' if row % 2 else 'false'},
            groups=placed.get(row, []), taints=TAINTS if row % 10 == 0
            else []))
    return racked


def _rounds(timed, calls, repeat, rounds=15):
    # Per call: (median of the rounds' medians, mean of all), in µs.
    found = [[] for _ in calls]
    for _ in range(rounds):
        for times, call in zip(found, calls):
            times.append(timed(call, repeat))
    return [(statistics.median(statistics.median(t) for t in times) * 1000,
             statistics.mean(x for t in times for x in t) * 1000)
            for times in found]


def run(count, seed, tools):
    """Print the figures for *count* hosts (see the module's doc).

    *tools* are ``benchmark.py``'s ``synthetic_hosts``, ``build_manager``
    and ``timed``.
    """
    synthetic_hosts, build, timed = tools
    hosts = in_racks(synthetic_hosts(count, seed), seed,
                     {'big': 1000, 'small': 10})
    mgr = build('filter', hosts)
    serial = iter(range(10 ** 9))
    repeat = max(10, 20_000 // count)

    def cycle(request):
        return lambda: resource_benchmark.cycle(mgr, request, serial)

    spread = dict(PLAIN, group='small', spread={'key': 'zone',
                                                'max_skew': 1})
    with_spread, without = resource_benchmark.alternating(
        timed, cycle(spread), cycle(PLAIN), repeat)
    print(f'{count:>7} hosts, {ZONES} zones x {RACKS} racks: decision and '
          f'release with spread on zone {with_spread:.0f} µs, without '
          f'{without:.0f} µs ({with_spread / without:.2f}x)')
    every, plain = resource_benchmark.alternating(
        timed, cycle(EVERY_RULE), cycle(PLAIN), repeat)
    print(f'{"":>7} with a constraint, a toleration, spread on zone and a '
          f'preference {every:.0f} µs, plain {plain:.0f} µs '
          f'({every / plain:.2f}x)')
    for name, rule in (('spread on zone', {'spread': {'key': 'zone'}}),
                       ('affinity on zone', {
                           'group_policy': 'affinity',
                           'topology_key': 'zone'})):
        (big, big_mean), (small, small_mean) = _rounds(timed, [
            cycle(dict(PLAIN, group=group, **rule))
            for group in ('big', 'small')], repeat)
        print(f'{"":>7} {name}: group of 1,000 {big:.0f} µs (mean '
              f'{big_mean:.0f}), of 10 {small:.0f} µs (mean '
              f'{small_mean:.0f}): {big / small:.2f}x', flush=True)
