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

"""Parsing ``sora-scheduler``'s command line and the config files it names.

What oslo.config or argparse says on a failure is completed with what they
could not know: the config files read, a global option put after the
command.
"""

import argparse
import contextlib
import io
import sys

from oslo_config import cfg

from sora.conf import diagnosis
from sora.conf import files as conf_files
from sora.scheduler import exceptions
from sora import version

PROG = 'sora-scheduler'


def parse(conf, argv, commands):
    """Parse *argv* and the config files into *conf*.

    The config files are checked (size, kind) before oslo.config reads
    them; the default files and directories it would read are computed
    here and handed to it, so the files checked are the files read.

    :param commands: the names of the sub-commands.
    :raises SystemExit: argparse or oslo.config stopped (``--help``, a bad
        argument or value); what they said is on stderr.
    :raises InvalidConfig: a config file that cannot be read.
    """
    default_files = cfg.find_config_files('sora', PROG)
    default_dirs = cfg.find_config_dirs('sora', PROG)
    files = _config_files_to_read(argv, default_files, default_dirs)
    for path in files:
        conf_files.check_config_file(path)
    said = io.StringIO()  # what argparse says, shown once we know more
    try:
        with contextlib.redirect_stderr(said):
            conf(argv, project='sora', prog=PROG,
                 version=version.version_info.release_string(),
                 default_config_files=default_files,
                 default_config_dirs=default_dirs)
    except SystemExit as stop:
        _explain_exit(conf, argv, commands, stop.code, files,
                      said.getvalue())
        raise
    except (RecursionError, cfg.NoSuchOptError,
            cfg.TemplateSubstitutionError) as error:
        # A $reference in the value of a command line option (oslo.log's
        # log_file, ...), which oslo.config substitutes while parsing.
        raise exceptions.InvalidConfig(
            f'{", ".join(diagnosis.substituting(files)) or "an option"}: '
            + diagnosis.substitution_error(error)) from None
    except UnicodeDecodeError as error:
        for path in files:
            try:
                with open(path, encoding='utf-8') as conf_file:
                    conf_file.read()
            except UnicodeDecodeError:
                raise exceptions.InvalidConfig(
                    f'config file {path} is not UTF-8 text: {error}'
                ) from None
            except OSError:
                pass
        raise exceptions.InvalidConfig(
            f'a config file is not UTF-8 text: {error}') from None
    sys.stderr.write(said.getvalue())


class _ArgvScan(argparse.ArgumentParser):
    """Finds ``--config-file`` and ``--config-dir`` as oslo.config will."""

    def __init__(self):
        super().__init__(prog=PROG, add_help=False)
        self.add_argument('--config-file', action='append', default=[])
        self.add_argument('--config-dir', action='append', default=[])

    def error(self, message):
        raise ValueError(message)


def _config_files_to_read(argv, default_files, default_dirs):
    """Return the config files oslo.config will read for *argv*.

    The files and directories on the command line, and, as oslo.config
    decides, the default ones unless ``--config-file`` (``--config-dir``)
    is given.
    """
    try:
        given, _rest = _ArgvScan().parse_known_args(argv)
    except ValueError:  # oslo.config will say what is wrong
        given = argparse.Namespace(config_file=[], config_dir=[])
    files, dirs = list(given.config_file), list(given.config_dir)
    if not _given(argv, '--config-file'):
        files = default_files + files
    if not _given(argv, '--config-dir'):
        dirs = default_dirs + dirs
    for directory in dirs:
        files += conf_files.config_files_in(directory)
    return files


def _given(argv, flag):
    return any(arg == flag or arg.startswith(flag + '=') for arg in argv)


def _explain_exit(conf, argv, commands, code, files, said):
    """Show *said* (argparse's or oslo.config's words), completed.

    On a failure (*code* not 0), a global option after the command gets
    one error line saying so, in place of argparse's "unrecognized
    arguments".
    """
    misplaced = code and _global_option_after_command(conf, argv,
                                                      commands)
    if misplaced:
        flag, command = misplaced
        sys.stderr.write(''.join(
            line for line in said.splitlines(keepends=True)
            if not line.startswith(f'{PROG}: error:')))
        print(f'sora-scheduler: error: {flag} is a global option: global '
              'options go before the command, e.g. '
              f'sora-scheduler {flag} ... {command} ...', file=sys.stderr)
        return
    sys.stderr.write(said)
    if code == 1:  # oslo.config refused a value from a config file
        print('sora-scheduler: error: invalid configuration (config files: '
              f'{", ".join(files) or "none"})', file=sys.stderr)


def _global_option_after_command(conf, argv, commands):
    """Return the first global option *argv* puts after the command.

    Returns ``(option, command)`` or None.
    """
    at = next((i for i, arg in enumerate(argv) if arg in commands), None)
    if at is None:
        return None
    for arg in argv[at + 1:]:
        if not arg.startswith('--'):
            continue
        flag = arg.partition('=')[0]
        name = flag[2:].replace('-', '_')
        if name.startswith('no') and name[2:] in conf:
            name = name[2:]  # --nodebug
        if name in conf and name != 'command':
            return flag, argv[at]
    return None
