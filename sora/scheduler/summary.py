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

"""A cluster at a glance: what ``sora-scheduler status`` shows.

:func:`summarize` turns the tracked hosts, their claims and report ages
into one JSON-ready mapping: which hosts are up, disabled or silent, the
free and total capacity of the enabled hosts (for the cluster and per
value of a label), the outstanding claims by age and the oldest report.
"""

import math

from sora.scheduler import exceptions
from sora.scheduler import units

CLAIM_AGES = ((60, 'under_1_min'), (600, 'under_10_min'))
"""The claim age buckets: (under how many seconds, name); then ``older``."""


def summarize(hosts, claims, ages, silent_after, by=None):
    """Return the summary of *hosts* as a JSON-ready mapping.

    :param hosts: :class:`~sora.scheduler.host_table.Host` objects, claims
        deducted (a ``HostTable``).
    :param claims: the outstanding :class:`~sora.scheduler.claims.Claim` s.
    :param ages: ``{host id: seconds since its last report}``; a host left
        out has an unknown age (never silent).
    :param silent_after: a host whose last report is older than this many
        seconds is silent.
    :param by: a label key: capacity per value of it too.
    :raises InvalidRequest: no host carries the label *by*.
    """
    hosts = sorted(hosts, key=lambda host: host.id)
    known = {host.id: ages[host.id] for host in hosts if host.id in ages}
    silent = [{'id': host_id, 'age': age} for host_id, age in known.items()
              if age > silent_after]
    summary = {
        'hosts': {
            'total': len(hosts),
            'up': sum(1 for host in hosts if host.enabled and not (
                known.get(host.id, 0) > silent_after)),
            'disabled': [{'id': host.id, 'reason': host.disabled_reason}
                         for host in hosts if not host.enabled],
            'silent': silent,
            'age_unknown': len(hosts) - len(known)},
        'silent_after': silent_after,
        'oldest_report': None,
        'capacity': capacity([host for host in hosts if host.enabled]),
        'claims': _claims(claims)}
    if known:
        oldest = max(known, key=known.get)  # ties: the lowest id
        summary['oldest_report'] = {'host': oldest, 'age': known[oldest]}
    if by is not None:
        summary['by'] = {'label': by, 'rows': _by(hosts, by)}
    return summary


def capacity(hosts):
    """Return the capacity of the enabled *hosts*: their count, resources.

    ``{"enabled_hosts": n, "resources": {name: {"free": f, "total": t}}}``
    for memory, CPUs and disk (in the documented units; disk has no
    total: None), then each countable resource (whole numbers). A
    resource no host of *hosts* reports is left out; a host that does not
    report CPUs or disk adds nothing to them.
    """
    sums = {}
    for host in hosts:
        for name, free, total, scale in (
                ('memory_mb', host.memory_mb, host.memory_total_mb, 1),
                ('cpus', host.cpus, host.cpus_total, 1000),
                ('disk_gb', host.disk_gb, None, 1)):
            if free != math.inf:
                _add(sums, name, units.of(free, scale),
                     None if total is None else units.of(total, scale))
        for name, total in host.resources_total.items():
            _add(sums, name, host.resources.get(name, 0), total)
    resources = {'memory_mb': {'free': 0.0, 'total': 0.0}}
    for name in ('memory_mb', 'cpus', 'disk_gb'):
        if name in sums:
            scale = units.SCALES[name]
            free, total = sums.pop(name)
            resources[name] = {
                'free': units.documented(free, scale),
                'total': None if total is None else
                units.documented(total, scale)}
    for name in sorted(sums):
        free, total = sums[name]
        resources[name] = {'free': free, 'total': total}
    return {'enabled_hosts': len(hosts), 'resources': resources}


def _add(sums, name, free, total):
    before = sums.get(name, (0, 0))
    sums[name] = (before[0] + free,
                  None if total is None else before[1] + total)


def _by(hosts, label):
    # A row per value of *label* (sorted), then one for the hosts without
    # it (value None), if any; each counts the enabled hosts.
    values = sorted({host.labels[label] for host in hosts
                     if label in host.labels})
    if not values:
        keys = sorted({key for host in hosts for key in host.labels})
        raise exceptions.InvalidRequest(
            f'no host has the label {label!r}; the hosts have '
            + (', '.join(map(repr, keys)) if keys else 'no labels'))
    rows = []
    for value in values + [None]:
        members = [host for host in hosts if host.labels.get(label) == value]
        if members:
            rows.append({'value': value, **capacity(
                [host for host in members if host.enabled])})
    return rows


def _claims(claims):
    counts = {name: 0 for _, name in CLAIM_AGES}
    counts['older'] = 0
    oldest = None
    for claim in claims:
        counts[next((name for under, name in CLAIM_AGES
                     if claim.age < under), 'older')] += 1
        if oldest is None or claim.age > oldest.age:
            oldest = claim
    return {'total': len(claims), **counts, 'oldest': None if oldest is None
            else {'consumer': oldest.consumer, 'host': oldest.host,
                  'age': oldest.age}}
