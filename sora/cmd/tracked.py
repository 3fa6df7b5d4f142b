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

"""The commands on the hosts and claims of a shared host store (etcd).

``report`` pushes node reports, ``select`` without ``--hosts`` decides on
the tracked hosts and claims, ``claims`` lists the outstanding claims,
``release`` drops one and ``hosts`` lists the tracked hosts with what they
have free. They need ``[scheduler] host_store`` to name a store that
outlives the command, such as ``etcd``.
"""

import contextlib
import json

from oslo_log import log as logging

from sora.cmd import output
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import hosts_file
from sora.scheduler import manager
from sora.scheduler import taints

LOG = logging.getLogger(__name__)


@contextlib.contextmanager
def shared_manager(conf, command, hint=''):
    """Yield a manager on the configured store, closed afterwards.

    :raises InvalidRequest: the store keeps nothing between commands.
    """
    with manager.SchedulerManager(conf, serve_metrics=False) as scheduler:
        if not scheduler.store.shared:
            raise exceptions.InvalidRequest(
                f'{command} needs a shared host store: [scheduler] '
                f'host_store = {conf.scheduler.host_store} keeps no hosts '
                f'between commands (set it to etcd{hint})')
        yield scheduler


def select(conf, request, args, top):
    """Decide on the tracked hosts; return the destinations, explanation.

    With ``--explain`` (which needs ``--dry-run``: one run of the filters
    both explains and decides, and claims nothing) the explanation, else
    ``None``.
    """
    with shared_manager(conf, 'select without --hosts',
                        ', or give select --hosts') as scheduler:
        if args.explain and not args.dry_run:
            raise exceptions.InvalidRequest(
                '--explain on the tracked hosts claims nothing: add '
                '--dry-run')
        if args.explain:
            explanation = scheduler.explain(request, top=top,
                                            count=args.count)
            return explanation.pop('destinations'), explanation
        chosen = scheduler.select_destinations(
            request, count=args.count, dry_run=args.dry_run,
            consumers=args.consumer)
    for host_id, consumer in zip(chosen, chosen.consumers):
        LOG.info('Claimed %(host)s for consumer %(consumer)s',
                 {'host': output.shown(host_id),
                  'consumer': output.shown(consumer)})
    return chosen, None


def do_report(conf):
    """Push node reports from a hosts file to the shared store."""
    reports = hosts_file.load_hosts(conf.command.hosts,
                                    parse=host_state.parse_reports)
    with shared_manager(conf, 'report') as scheduler:
        scheduler.update_hosts(reports)
    print(f'{len(reports)} node reports stored')
    return 0


def do_claims(conf):
    """List the outstanding claims."""
    with shared_manager(conf, 'claims') as scheduler:
        claims = [claim.to_dict() for claim in scheduler.claims()]
    if conf.command.format == 'json':
        print(json.dumps({'claims': claims}))
        return 0
    _table(['CONSUMER', 'HOST', 'MEMORY_MB', 'CPUS', 'DISK_GB', 'RESOURCES',
            'GROUP', 'AGE_S'],
           [[claim['consumer'], output.shown(claim['host']),
             output.amount(claim['memory_mb']), output.amount(claim['cpus']),
             output.amount(claim['disk_gb']),
             _counted(claim.get('resources', {})),
             output.shown(claim['group'] or '-'), f'{claim["age"]:.0f}']
            for claim in claims])
    return 0


def do_change(conf):
    """Release a claim, or disable, enable or remove a host."""
    args = conf.command
    with shared_manager(conf, args.name) as scheduler:
        if args.name == 'release':
            scheduler.release(args.consumer)
            print(f'released the claim of {output.shown(args.consumer)}')
            return 0
        if args.name == 'disable':
            scheduler.disable_host(args.host, args.reason)
        elif args.name == 'enable':
            scheduler.enable_host(args.host)
        else:
            scheduler.remove_host(args.host)
        print(f'{args.name}d host {output.shown(args.host)}')
    return 0


def do_hosts(conf):
    """List the tracked hosts with their free resources (claims off)."""
    with shared_manager(conf, 'hosts') as scheduler:
        hosts = [host.to_dict() for host in scheduler.hosts()]
    hosts.sort(key=lambda host: host['id'])
    if conf.command.format == 'json':
        print(json.dumps({'hosts': hosts}))
        return 0
    _table(['HOST', 'MEMORY_MB', 'CPUS', 'DISK_GB', 'RESOURCES',
            'CONTAINERS', 'ENABLED', 'LABELS', 'TAINTS'],
           [[host['id'],
             _amount(host['memory_mb'], host.get('memory_total_mb')),
             _amount(host.get('cpus'), host.get('cpus_total')),
             _amount(host.get('disk_gb')),
             _counted(host.get('resources', {}),
                      host.get('resources_total', {})),
             str(host['containers']),
             _enabled(host),
             output.shown(','.join(f'{key}={value}' for key, value
                                   in sorted(host['labels'].items())))
             or '-',
             output.shown(','.join(
                 str(taints.Taint(**{'value': '', **taint}))
                 for taint in host.get('taints', ()))) or '-']
            for host in hosts])
    return 0


def _enabled(host):
    # yes; no (the node says so); or why an operator disabled it.
    if 'disabled_reason' in host:
        return 'disabled: ' + output.printable(host['disabled_reason'])
    return 'yes' if host['enabled'] else 'no'


def _amount(free, total=None):
    # "free/total" (as reported, claims off); "-" for what is not reported.
    if free is None:
        return '-'
    if total is None:
        return output.amount(free)
    return f'{output.amount(free)}/{output.amount(total)}'


def _counted(free, total=None):
    # "gpu=1/2,vf=4/8" (free/total), or "gpu=1" (held); "-" for none.
    return ','.join(
        f'{name}={amount}' + (f'/{total[name]}' if total else '')
        for name, amount in free.items()) or '-'


def _table(header, rows):
    output.table([header] + [[output.shown(row[0])] + row[1:]
                             for row in rows])


def add_command_parsers(subparsers):
    """Add the commands on the shared host store to the command parser."""
    report = subparsers.add_parser(
        'report', help='push node reports to the shared host store')
    report.set_defaults(func=do_report)
    report.add_argument('--hosts', required=True, metavar='HOSTS.json',
                        help='JSON file of node reports; "-" reads stdin')
    for name, func, what in (
            ('claims', do_claims, 'the outstanding claims'),
            ('hosts', do_hosts, 'the tracked hosts with their free '
                                'and total resources and labels')):
        lister = subparsers.add_parser(
            name, help=f'list {what} of the shared host store')
        lister.set_defaults(func=func)
        lister.add_argument('--format', choices=('text', 'json'),
                            default='text', help='text: a table; json: an '
                                                 'object')
    for name, what in (
            ('disable', 'keep new placements off a host, whatever it '
                        'reports, until enabled'),
            ('enable', 'let new placements go to a disabled host again'),
            ('remove', 'forget a host and its claims until it reports '
                       'again')):
        command = subparsers.add_parser(name, help=what)
        command.set_defaults(func=do_change)
        command.add_argument('host', metavar='HOST', help='the host id')
        if name == 'disable':
            command.add_argument('--reason', required=True, metavar='TEXT',
                                 help='why, shown by hosts (1 to 255 '
                                      'characters)')
    release = subparsers.add_parser(
        'release', help='drop the claim of a consumer in the shared store')
    release.set_defaults(func=do_change)
    release.add_argument('consumer', metavar='CONSUMER',
                         help='the consumer id the claim is held for')
