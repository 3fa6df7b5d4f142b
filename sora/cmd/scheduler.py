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
configuration; errors are one message on stderr, never a traceback.
"""

import functools
import glob
import inspect
import json
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from sora import conf as sora_conf
from sora.scheduler import exceptions
from sora.scheduler import filtering
from sora.scheduler import host_state
from sora.scheduler import manager
from sora.scheduler import plugins
from sora.scheduler import validate
from sora.scheduler import weighing
from sora import version

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


def do_select(conf):
    """Print the hosts chosen for a request (and how, with --explain)."""
    args = conf.command
    if args.top < 1 or (args.top != 5 and not args.explain):
        raise exceptions.InvalidRequest(
            '--top must be at least 1, and goes with --explain')
    request = host_state.parse_request(_request_from(args))
    hosts = host_state.load_hosts(args.hosts)
    scheduler = manager.SchedulerManager(conf)
    explanation = scheduler.explain(request, hosts, args.top) \
        if args.explain else None
    chosen = scheduler.select_destinations(request, hosts, args.count,
                                           dry_run=True)
    if args.format == 'json':
        result = {'destinations': chosen}
        if explanation:
            result['explanation'] = explanation
        print(json.dumps(result))
        return 0
    if explanation:
        _print_explanation(explanation)
    print('\n'.join(chosen))
    return 0


def _print_explanation(explanation):
    counts = ', '.join(f'{name} {left}'
                       for name, left in explanation['filter_counts'])
    print(f'# {explanation["hosts_total"]} hosts; after each filter: '
          f'{counts or "no filter applied"}')
    ranking = explanation['ranking']
    weighers = list(ranking[0]['weighers']) if ranking else []
    rows = [['#', 'HOST', 'WEIGHT'] + [name.upper() for name in weighers]]
    for rank, entry in enumerate(ranking, 1):
        rows.append([f'# {rank}', entry['id'], _score(entry['weight'])]
                    + [_score(entry['weighers'][name]) for name in weighers])
    _print_table(rows)


def _score(value):
    return f'{value + 0.0:.3f}'  # + 0.0 turns -0.0 into 0.0


def _print_table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(width)
                        for cell, width in zip(row, widths)).rstrip())


def _list(conf, namespace, used_by):
    """Print the installed plugins of *namespace*, marking those in use.

    ``used_by(driver)`` names the plugins the configured driver uses. When
    the driver cannot be built, everything is still listed, then the error
    is raised.
    """
    try:
        driver, error = manager.SchedulerManager(conf).driver, None
    except exceptions.SchedulerError as failure:
        driver, error = None, failure
    used = used_by(driver)
    rows = [['', 'NAME', 'DISTRIBUTION', 'DESCRIPTION']]
    for plugin in plugins.installed(namespace):
        try:
            summary = plugins.describe(plugin)
        except exceptions.DriverLoadError as failure:
            summary = f'ERROR: {failure}'
        mark = '*' if plugin.name in used else ''
        rows.append([mark, plugin.name, plugin.distribution, summary])
    _print_table(rows)
    print(f'* used by scheduler driver {conf.scheduler_driver} '
          '([DEFAULT] scheduler_driver)')
    if error is not None:
        raise error
    return 0


def do_drivers(conf):
    """List the installed drivers; fail when the configured one is broken."""
    return _list(conf, plugins.DRIVERS, lambda driver: [conf.scheduler_driver])


def do_filters(conf):
    """List the installed filters, marking those the driver uses."""
    return _list(conf, plugins.FILTERS, lambda driver: [
        name for name, _ in getattr(driver, 'filters', ())])


def do_weighers(conf):
    """List the installed weighers, marking those the driver uses."""
    return _list(conf, plugins.WEIGHERS, lambda driver: [
        name for name, _ in getattr(driver, 'weighers', ())])


def do_check(conf):
    """Check a configuration before rolling it out: one line per check."""
    opts = conf.filter_scheduler
    checks = [
        ('config files', lambda: ', '.join(conf.config_file) or 'none'),
        ('option values', lambda: f'{sora_conf.check(conf)} options read'),
        ('option names', lambda: _known(sora_conf.unknown_options(conf))),
        (f'scheduler driver {conf.scheduler_driver}',
         lambda: _loaded(manager.SchedulerManager(conf).driver)),
    ]
    checks += [(f'filter {name}', functools.partial(
        _load_one, filtering.load, name, conf, 'enabled_filters'))
        for name in opts.enabled_filters]
    checks += [(f'weigher {name}', functools.partial(
        _load_one, weighing.load, name, conf, 'weighers'))
        for name in opts.weighers]
    if conf.command.hosts:
        checks.append(('hosts file', lambda: (
            f'{conf.command.hosts}: '
            f'{len(host_state.load_hosts(conf.command.hosts))} hosts')))
    failed = 0
    for name, run in checks:
        try:
            print(f'OK      {name}: {run()}')
        except exceptions.SchedulerError as error:
            failed += 1
            print(f'FAILED  {name}: {error}')
    print(f'{len(checks) - failed} of {len(checks)} checks OK')
    return 2 if failed else 0


def _known(unknown):
    if unknown:
        raise exceptions.InvalidConfig('; '.join(unknown))
    return 'every option set is known'


def _load_one(load, name, conf, option):
    [(_name, plugin)] = load([name], conf, ('filter_scheduler', option))
    return _loaded(plugin)


def _loaded(plugin):
    doc = (inspect.getdoc(plugin) or '').splitlines()
    return 'loads' + (f' ({doc[0]})' if doc else '')


def _request_from(args):
    flags = {'memory_mb': args.memory_mb, 'cpus': args.cpus,
             'disk_gb': args.disk_gb}
    flags = {key: value for key, value in flags.items() if value is not None}
    if args.label:
        flags['labels'] = dict(_label(text) for text in args.label)
    if args.request is None:
        return flags
    if flags:
        raise exceptions.InvalidRequest(
            'give the request either as --request JSON or with --memory-mb, '
            '--cpus, --disk-gb and --label, not both')
    try:
        return validate.loads_json(args.request)
    except ValueError as error:
        raise exceptions.InvalidRequest(
            f'--request is not valid JSON: {error}') from None


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
    select.add_argument('--hosts', required=True, metavar='HOSTS.json',
                        help='JSON file of hosts: a list, or '
                             '{"hosts": [...]}; "-" reads stdin')
    select.add_argument('--request', metavar='JSON',
                        help='the request as JSON, e.g. '
                             '\'{"memory_mb": 512, "cpus": 0.5}\'')
    select.add_argument('--memory-mb', type=float, metavar='N',
                        help='free memory the container needs, in MB')
    select.add_argument('--cpus', type=float, metavar='N',
                        help='CPUs the container needs')
    select.add_argument('--disk-gb', type=float, metavar='N',
                        help='disk the container needs, in GB')
    select.add_argument('--label', action='append', metavar='KEY=VALUE',
                        help='a label the host must carry; repeatable')
    select.add_argument('--count', type=int, default=1, metavar='N',
                        help='how many containers to place (all or nothing)')
    select.add_argument('--format', choices=('text', 'json'), default='text',
                        help='text: one host id per line; json: an object')
    select.add_argument('--dry-run', action='store_true',
                        help='claim nothing (always so for a hosts file)')
    select.add_argument('--explain', action='store_true',
                        help='also show the filter counts and the ranking '
                             'of the best hosts with their weigher scores')
    select.add_argument('--top', type=int, default=5, metavar='N',
                        help='how many hosts --explain ranks (default 5)')
    check = subparsers.add_parser(
        'check', help='check the configuration (and a hosts file) before '
                      'rolling it out')
    check.set_defaults(func=do_check)
    check.add_argument('--hosts', metavar='HOSTS.json',
                       help='also check that this hosts file is valid')
    for name, func, what in (('drivers', do_drivers, 'scheduler drivers'),
                             ('filters', do_filters, 'filters'),
                             ('weighers', do_weighers, 'weighers')):
        lister = subparsers.add_parser(
            name, help=f'list the installed {what}, marking those in use')
        lister.set_defaults(func=func)


command_opt = cfg.SubCommandOpt(
    'command', title='commands', handler=add_command_parsers,
    help='run "sora-scheduler COMMAND --help" for its options')


def main(argv=None):
    """Run ``sora-scheduler``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    logging.register_options(CONF)
    sora_conf.register_opts(CONF)
    CONF.register_cli_opt(command_opt)
    try:
        _parse(argv)
        if not CONF.command.name:
            raise exceptions.InvalidRequest(
                'a command is required: select, check, drivers, filters or '
                'weighers (see sora-scheduler --help)')
        if not CONF.log_file:
            CONF.set_default('use_stderr', True)
        try:
            logging.setup(CONF, 'sora')
        except OSError as error:
            raise exceptions.InvalidRequest(
                f'cannot set up logging: {error}') from None
        return CONF.command.func(CONF)
    except exceptions.NoValidHost as error:
        return _fail(error, 1)
    except (exceptions.SchedulerError, cfg.Error, OSError) as error:
        return _fail(error, 2)
    except SystemExit as stop:
        # argparse and oslo.config have printed why; keep 0 for --help.
        return 2 if stop.code else 0


def _parse(argv):
    try:
        CONF(argv, project='sora',
             version=version.version_info.release_string())
    except SystemExit as stop:
        if stop.code:  # argparse or oslo.config has said what is wrong
            files = ', '.join(_config_files(argv)) or 'none'
            print(f'sora-scheduler: error: invalid command line or '
                  f'configuration (config files: {files})', file=sys.stderr)
        raise
    except UnicodeDecodeError as error:
        for path in _config_files(argv):
            try:
                with open(path, encoding='utf-8') as conf_file:
                    conf_file.read()
            except UnicodeDecodeError:
                raise exceptions.InvalidConfig(
                    f'config file {path} is not UTF-8 text: {error}'
                ) from None
        raise exceptions.InvalidConfig(
            f'a config file is not UTF-8 text: {error}') from None


def _config_files(argv):
    """The config files *argv* names (or the default ones), then dirs'."""
    pairs = list(zip(argv, argv[1:]))
    files = [value for flag, value in pairs if flag == '--config-file'] or \
        cfg.find_config_files('sora', 'sora-scheduler')
    for flag, value in pairs:
        if flag == '--config-dir':
            files += sorted(glob.glob(os.path.join(value, '*.conf')))
    return files


def _fail(error, status):
    print(f'sora-scheduler: error: {error}', file=sys.stderr)
    return status


if __name__ == '__main__':
    sys.exit(main())
