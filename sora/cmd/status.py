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

"""``sora-scheduler status``: the cluster at a glance.

The hosts of the shared host store (or of a hosts file) up, disabled and
silent, the capacity of the enabled ones with a bar of use per resource,
the outstanding claims by age and the oldest report; see
:mod:`sora.scheduler.summary`.
"""

import json
import math

from sora.cmd import output
from sora.cmd import tracked
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import hosts_file
from sora.scheduler import summary as cluster

SILENT_AFTER = 300
"""Seconds without a report after which a host is silent, when neither
``--silent-after`` nor ``[etcd] host_ttl`` says."""
BAR = 20
"""The width of a bar of use, in characters between its brackets."""
LISTED = 10
"""The most disabled (or silent) hosts the text names, each kind."""


def do_status(conf):
    """Print the summary of the tracked hosts (or of a hosts file)."""
    args = conf.command
    silent_after = _silent_after(conf, args.silent_after)
    if args.hosts is not None:
        hosts = hosts_file.load_hosts(
            args.hosts, parse=host_state.parse_reports).table()
        claims, ages = [], {}
    else:
        with tracked.shared_manager(conf, 'status without --hosts',
                                    ', or give status --hosts') as scheduler:
            hosts, claims = scheduler.hosts(), scheduler.claims()
            ages = scheduler.report_ages()
    summary = cluster.summarize(hosts, claims, ages, silent_after, args.by)
    if args.format == 'json':
        print(json.dumps(summary))
    else:
        _print(summary)
    return 0


def _silent_after(conf, given):
    if given is None:
        return conf.etcd.host_ttl or SILENT_AFTER
    if not math.isfinite(given) or given <= 0:
        raise exceptions.InvalidRequest(
            f'--silent-after must be a number of seconds above 0, got '
            f'{given:g}')
    return given


def _print(summary):
    hosts = summary['hosts']
    print(f'hosts: {hosts["total"]}, up {hosts["up"]}, disabled '
          f'{len(hosts["disabled"])}, silent {len(hosts["silent"])} (no '
          f'report for over {output.amount(summary["silent_after"])}s)'
          + (f', report time unknown {hosts["age_unknown"]}'
             if hosts['age_unknown'] else ''))
    _list('disabled', [(host['id'], output.printable(host['reason'])
                        if host['reason'] is not None
                        else 'the node reports itself disabled')
                       for host in hosts['disabled']])
    _list('silent', [(host['id'], f'last report {_age(host["age"])} ago')
                     for host in hosts['silent']])
    oldest = summary['oldest_report']
    print('oldest report: ' + (
        f'{output.shown(oldest["host"])}, {_age(oldest["age"])} ago'
        if oldest else 'unknown' if hosts['total'] else 'none'))
    claims = summary['claims']
    print(f'claims: {claims["total"]} outstanding: {claims["under_1_min"]} '
          f'under 1 min, {claims["under_10_min"]} under 10 min, '
          f'{claims["older"]} older' + (
              f'; oldest {output.shown(claims["oldest"]["consumer"])} on '
              f'{output.shown(claims["oldest"]["host"])}, '
              f'{_age(claims["oldest"]["age"])}'
              if claims['oldest'] else ''))
    print()
    rows = [('(all)', summary['capacity'])]
    header = ['ENABLED', 'RESOURCE', 'FREE', 'TOTAL', 'USED']
    if 'by' in summary:
        label = summary['by']['label']
        header.insert(0, output.printable(label).upper())
        rows += [(f'(no {output.printable(label)})' if row['value'] is None
                  else output.shown(row['value']), row)
                 for row in summary['by']['rows']]
    table = [header]
    for name, row in rows:
        for resource, amounts in row['resources'].items():
            table.append(([name] if 'by' in summary else []) + [
                str(row['enabled_hosts']), resource,
                output.amount(amounts['free']),
                output.amount(amounts['total']),
                _bar(amounts['free'], amounts['total'])])
    output.table(table)


def _list(kind, hosts):
    # One line per host of *kind*, at most LISTED of them.
    for host_id, why in hosts[:LISTED]:
        print(f'  {kind} {output.shown(host_id)}: {why}')
    if len(hosts) > LISTED:
        print(f'  ... and {len(hosts) - LISTED} more {kind} (see '
              '--format json)')


def _bar(free, total):
    """Return ``[####......]  40%``: the share of *total* in use."""
    if not total:
        return '-'
    used = max(0.0, min(1.0, (total - free) / total))
    filled = math.floor(used * BAR)
    percent = math.floor(used * 100)
    return f'[{"#" * filled}{"." * (BAR - filled)}] {percent:3d}%'


def _age(seconds):
    """Return *seconds* as ``45s``, ``12m05s``, ``3h02m`` or ``2d04h``."""
    seconds = int(seconds)
    if seconds < 60:
        return f'{seconds}s'
    if seconds < 3600:
        return f'{seconds // 60}m{seconds % 60:02d}s'
    if seconds < 86400:
        return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'
    return f'{seconds // 86400}d{seconds % 86400 // 3600:02d}h'


def add_command_parser(subparsers):
    """Add ``status`` to the command line parser."""
    status = subparsers.add_parser(
        'status', help='the hosts up, disabled and silent, capacity and '
                       'use, claims by age and the oldest report')
    status.set_defaults(func=do_status)
    status.add_argument('--hosts', metavar='HOSTS.json',
                        help='summarize the hosts of this JSON file ("-": '
                             'stdin) instead of the shared host store')
    status.add_argument('--by', metavar='LABEL',
                        help='also show capacity per value of this label '
                             '(hosts without it in a row of their own)')
    status.add_argument('--silent-after', type=float, metavar='SECONDS',
                        help='a host whose last report is older is silent '
                             '(default: [etcd] host_ttl if set, else '
                             f'{SILENT_AFTER})')
    status.add_argument('--format', choices=('text', 'json'),
                        default='text',
                        help='text: a summary and a table; json: an object')
