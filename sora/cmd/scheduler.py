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

"""The ``sora-scheduler`` command.

Results go to stdout, logs to stderr (or the configured log file). Exit
status: 0 on success, 1 when no valid host exists, 2 for bad input or
configuration, 130 when interrupted (Ctrl-C) and 141 when stdout is closed
early (``| head``), as for a command killed by SIGINT or SIGPIPE. Errors are
one line on stderr, never a traceback; a closed stdout is no error.
"""

import contextlib
import json
import logging as std_logging
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from sora.cmd import output
from sora.cmd import parsing
from sora.cmd import status
from sora.cmd import tracked
from sora import conf as sora_conf
from sora.conf import diagnosis
from sora.scheduler import diagnostics
from sora.scheduler import exceptions
from sora.scheduler import hosts_file
from sora.scheduler import request as sora_request
from sora.scheduler import validate

LOG = logging.getLogger(__name__)

COMMANDS = ('select', 'check', 'report', 'hosts', 'claims', 'release',
            'disable', 'enable', 'remove', 'status', 'drivers', 'filters',
            'weighers')
LISTING = ('hosts', 'claims', 'status', 'drivers', 'filters', 'weighers')
"""The commands that only list: they say which driver they loaded only
with --debug."""
EXIT_NO_VALID_HOST = 1
EXIT_INVALID = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE
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


def do_list(conf):
    """List the installed plugins of a kind, marking those in use.

    Everything is listed even when the configured driver cannot be built;
    then its error is raised.
    """
    entries, error = diagnostics.listing(conf, conf.command.name)
    rows = [['', 'NAME', 'DISTRIBUTION', 'DESCRIPTION']]
    rows += [['*' if entry.used else '', entry.name, entry.distribution,
              output.printable(entry.summary)] for entry in entries]
    output.table(rows)
    print(f'* used by scheduler driver {conf.scheduler_driver} '
          '([DEFAULT] scheduler_driver)')
    if error is not None:
        raise error
    return 0


def do_check(conf):
    """Check a configuration before rolling it out: one line per check."""
    check = diagnostics.Check(conf, conf.command.hosts)
    for line in check:
        print(output.printable(str(line)))
    print(check.summary())
    return 0 if check.ok else EXIT_INVALID


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


def add_command_parsers(subparsers):
    """Add the sub-commands to the command line parser."""
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
    check = subparsers.add_parser(
        'check', help='check the configuration (and a hosts file) before '
                      'rolling it out')
    check.set_defaults(func=do_check)
    check.add_argument('--hosts', metavar='HOSTS.json',
                       help='also check that this hosts file is valid')
    tracked.add_command_parsers(subparsers)
    status.add_command_parser(subparsers)
    for name, what in (('drivers', 'scheduler drivers'),
                       ('filters', 'filters'), ('weighers', 'weighers')):
        lister = subparsers.add_parser(
            name, help=f'list the installed {what}, marking those in use')
        lister.set_defaults(func=do_list)


command_opt = cfg.SubCommandOpt(
    'command', title='commands', handler=add_command_parsers,
    help='run "sora-scheduler COMMAND --help" for its options')


def main(argv=None):
    """Run ``sora-scheduler``; returns the exit status.

    :param argv: the arguments, ``sys.argv[1:]`` when omitted. Each call
        parses them into a new ``ConfigOpts``, so ``main`` may be called
        many times in one process.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if sys.stdout is None:  # started with >&-: results would be lost
        return _fail('stdout is closed: there is nowhere to write the '
                     'results (redirect it to /dev/null to discard them)')
    try:
        status = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        # The reader has gone (| head): stop quietly, as other tools do.
        # Python would flush stdout again at exit and complain; point it at
        # /dev/null first (the recipe of Python's signal module docs).
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        _fail('interrupted')
        return EXIT_INTERRUPTED


def _run(argv):
    conf = cfg.ConfigOpts()
    logging.register_options(conf)
    sora_conf.register_opts(conf)
    conf.register_cli_opt(command_opt)
    try:
        parsing.parse(conf, argv, COMMANDS)
        if not conf.command.name:
            raise exceptions.InvalidRequest(
                f'a command is required: {", ".join(COMMANDS[:-1])} or '
                f'{COMMANDS[-1]} (see sora-scheduler --help)')
        checking = conf.command.name == 'check'
        # Every option is read now, not halfway through: check reports
        # them as lines of its own, other commands stop here.
        bad = diagnosis.bad_values(conf)
        if bad and not checking:
            raise exceptions.InvalidConfig('; '.join(bad))
        if not bad:
            _setup_logging(conf)
        if not checking:
            diagnosis.warn_unknown_options(conf)
        with _quiet_listing(conf):
            return conf.command.func(conf)
    except exceptions.NoValidHost as error:
        return _fail(error, EXIT_NO_VALID_HOST)
    except BrokenPipeError:
        raise
    except (exceptions.SchedulerError, cfg.Error, OSError) as error:
        return _fail(error, EXIT_INVALID)
    except SystemExit as stop:
        # argparse and oslo.config have printed why; keep 0 for --help.
        return EXIT_INVALID if stop.code else 0


def _setup_logging(conf):
    if not conf.log_file:
        conf.set_default('use_stderr', True)
    try:
        logging.setup(conf, 'sora')
    except (OSError, ValueError, TypeError, RuntimeError,
            logging.LogConfigError) as error:
        if conf.use_journal and isinstance(error, RuntimeError):
            error = f'use_journal needs the systemd Python bindings: {error}'
        raise exceptions.InvalidConfig(
            f'cannot set up logging: {error}') from None


@contextlib.contextmanager
def _quiet_listing(conf):
    # A command that only lists logs the manager's INFO lines (the driver
    # it loaded) only with --debug.
    logger = std_logging.getLogger('sora.scheduler.manager')
    saved = logger.level
    if conf.command.name in LISTING and not conf.debug:
        logger.setLevel(std_logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _discard_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests): nothing will be flushed to it


def _fail(error, status=EXIT_INVALID):
    try:
        print(f'sora-scheduler: error: {error}', file=sys.stderr)
    except (OSError, ValueError):
        pass  # stderr is gone too
    return status


if __name__ == '__main__':
    sys.exit(main())
