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
import logging as std_logging
import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from sora.cmd import output
from sora.cmd import parsing
from sora.cmd import select
from sora.cmd import status
from sora.cmd import tracked
from sora import conf as sora_conf
from sora.conf import diagnosis
from sora.scheduler import diagnostics
from sora.scheduler import exceptions

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


def add_command_parsers(subparsers):
    """Add the sub-commands to the command line parser."""
    check = subparsers.add_parser(
        'check', help='check the configuration (and a hosts file) before '
                      'rolling it out')
    check.set_defaults(func=do_check)
    check.add_argument('--hosts', metavar='HOSTS.json',
                       help='also check that this hosts file is valid')
    select.add_command_parser(subparsers)
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
