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

"""``sora-scheduler select``: choose hosts for a request, and say how.

The request comes as ``--request JSON`` or as flags; the hosts from a
hosts file (``--hosts``: nothing is claimed) or the shared host store
(:mod:`sora.cmd.tracked`).
"""

import json

from sora.cmd import output
from sora.cmd import tracked
from sora.scheduler import diagnostics
from sora.scheduler import exceptions
from sora.scheduler import hosts_file
from sora.scheduler import request as sora_request
from sora.scheduler import validate

DEFAULT_TOP = 5


def do_select(conf):
    """Print the hosts chosen for a request (and how, with --explain)."""
    args = conf.command
    if args.top is not None and not args.explain:
        raise exceptions.InvalidRequest('--top goes with --explain')
    top = DEFAULT_TOP if args.top is None else args.top
    if top < 1:
        raise exceptions.InvalidRequest('--top must be at least 1')
    request = sora_request.parse_request(_request_from(args))
    if args.consumer and (args.hosts or args.dry_run):
        raise exceptions.InvalidRequest(
            '--consumer names the claims made on the tracked hosts; '
            + ('a hosts file' if args.hosts else '--dry-run')
            + ' claims nothing')
    if args.hosts is None:
        chosen, explanation = tracked.select(conf, request, args, top)
    else:
        chosen, explanation = _select_from_file(conf, request, args, top)
    if args.format == 'json':
        result = {'destinations': chosen}
        if getattr(chosen, 'consumers', None):
            result['consumers'] = chosen.consumers
        if explanation:
            result['explanation'] = explanation
        print(json.dumps(result))
        return 0
    if explanation:
        _print_explanation(explanation)
    for host_id in chosen:
        print(output.shown(host_id))
    return 0


def _select_from_file(conf, request, args, top):
    hosts = hosts_file.load_hosts(args.hosts)
    scheduler = diagnostics.offline_manager(conf)
    if args.explain:
        # One run of the filters both explains and decides.
        explanation = scheduler.explain(request, hosts, top, count=args.count)
        chosen = explanation.pop('destinations')
    else:
        explanation = None
        chosen = scheduler.select_destinations(request, hosts, args.count,
                                               dry_run=True)
    return chosen, explanation


def _print_explanation(explanation):
    counts = ', '.join(f'{name} {left}'
                       for name, left in explanation['filter_counts'])
    print(f'# {explanation["hosts_total"]} hosts; after each filter: '
          f'{counts or "no filter applied"}')
    if explanation.get('avoided'):
        print(f'# {explanation["avoided"]} of them avoided: a '
              'prefer_no_schedule taint the request does not tolerate')
    ranking = explanation['ranking']
    weighers = list(ranking[0]['weighers']) if ranking else []
    rows = [['#', 'HOST', 'WEIGHT'] + [name.upper() for name in weighers]]
    for rank, entry in enumerate(ranking, 1):
        rows.append([f'# {rank}', output.shown(entry['id']),
                     _score(entry['weight'])]
                    + [_score(entry['weighers'][name]) for name in weighers])
    output.table(rows)
    among = explanation.get('chosen_among', 1)
    if among > 1 and weighers:
        print(f'# each pick is drawn at random among the best {among} '
              '([filter_scheduler] host_subset_size)')
    elif among > 1:
        print(f'# each pick is drawn at random among the {among} '
              'candidates (the driver weighs nothing)')


def _score(value):
    return f'{value + 0.0:.3f}'  # + 0.0 turns -0.0 into 0.0


def _request_from(args):
    flags = {'memory_mb': args.memory_mb, 'cpus': args.cpus,
             'disk_gb': args.disk_gb}
    flags = {key: value for key, value in flags.items() if value is not None}
    if args.label:
        flags['labels'] = dict(_label(text) for text in args.label)
    if args.resource:
        flags['resources'] = _resources(args.resource)
    for field in ('same_host', 'different_host', 'group', 'group_policy'):
        if getattr(args, field):
            flags[field] = getattr(args, field)
    if args.request is None:
        return flags
    if flags:
        raise exceptions.InvalidRequest(
            'give the request either as --request JSON or with --memory-mb, '
            '--cpus, --disk-gb, --resource, --label, --same-host, '
            '--different-host, --group and --group-policy, not both')
    try:
        return validate.loads_json(args.request)
    except (ValueError, RecursionError) as error:
        raise exceptions.InvalidRequest(
            f'--request is not valid JSON: {error}') from None


def _resources(texts):
    # --resource NAME=N, repeatable: {name: whole number}; the request
    # checks names and amounts.
    resources = {}
    for text in texts:
        name, sep, amount = text.partition('=')
        if not sep or not amount.strip().isdigit():
            raise exceptions.InvalidRequest(
                f'--resource must be NAME=N with N a whole number, e.g. '
                f'gpu=1, got {text!r}')
        if name in resources:
            raise exceptions.InvalidRequest(
                f'--resource names {name!r} twice')
        resources[name] = int(amount)
    return resources


def _label(text):
    key, sep, value = text.partition('=')
    if not sep or not key:
        raise exceptions.InvalidRequest(
            f'--label must be KEY=VALUE, got {text!r}')
    return key, value


def add_command_parser(subparsers):
    """Add ``select`` to the command line parser."""
    select = subparsers.add_parser(
        'select', help='choose hosts for a container request')
    select.set_defaults(func=do_select)
    select.add_argument('--hosts', metavar='HOSTS.json',
                        help='JSON file of hosts: a list, or '
                             '{"hosts": [...]}; "-" reads stdin. Without '
                             'it, decide on the hosts of the shared host '
                             'store (etcd) and claim there')
    select.add_argument('--consumer', action='append', metavar='ID',
                        help='without --hosts: the consumer id of a '
                             'placement (the container\'s); one per '
                             'container, repeatable; generated when omitted')
    select.add_argument('--request', metavar='JSON',
                        help='the request as JSON, e.g. '
                             '\'{"memory_mb": 512, "cpus": 0.5}\'')
    select.add_argument('--memory-mb', type=float, metavar='N',
                        help='free memory the container needs, in MB')
    select.add_argument('--cpus', type=float, metavar='N',
                        help='CPUs the container needs')
    select.add_argument('--disk-gb', type=float, metavar='N',
                        help='disk the container needs, in GB')
    select.add_argument('--resource', action='append', metavar='NAME=N',
                        help='N of a countable resource the container '
                             'needs, e.g. gpu=1 (only hosts reporting that '
                             'many free take it); repeatable')
    select.add_argument('--label', action='append', metavar='KEY=VALUE',
                        help='a label the host must carry; repeatable')
    select.add_argument('--same-host', action='append', metavar='HOST',
                        help='a host the container may go to (the '
                             'request\'s same_host); repeatable')
    select.add_argument('--different-host', action='append', metavar='HOST',
                        help='a host the container must not go to (the '
                             'request\'s different_host); repeatable')
    select.add_argument('--group', metavar='NAME',
                        help='the server group of the container (with '
                             '--group-policy)')
    select.add_argument('--group-policy',
                        choices=sora_request.GROUP_POLICIES,
                        help='affinity: on a host already running the '
                             'group; anti-affinity: on none; their soft '
                             'forms prefer the hosts running the most '
                             '(soft-affinity) or fewest '
                             '(soft-anti-affinity) of it, and never leave '
                             'no host')
    select.add_argument('--count', type=int, default=1, metavar='N',
                        help='how many containers to place (all or nothing)')
    select.add_argument('--format', choices=('text', 'json'), default='text',
                        help='text: one host id per line (an id that is not '
                             'plain text as a JSON string); json: an object')
    select.add_argument('--dry-run', action='store_true',
                        help='claim nothing (always so with --hosts)')
    select.add_argument('--explain', action='store_true',
                        help='also show the filter counts and the ranking '
                             'of the best hosts with their weigher scores '
                             '(on the tracked hosts: with --dry-run)')
    select.add_argument('--top', type=int, metavar='N',
                        help='how many hosts --explain ranks (default '
                             f'{DEFAULT_TOP}); only with --explain')
