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

"""Sora's configuration options, one module per option group."""

import configparser
import difflib
import glob
import math
import os
import re

from oslo_config import cfg

from sora.conf import filter_scheduler
from sora.conf import scheduler
from sora.scheduler import exceptions

MODULES = (scheduler, filter_scheduler)


def register_opts(conf):
    """Register every Sora option on *conf*; safe to call more than once."""
    for module in MODULES:
        module.register_opts(conf)


def setting(conf, group, name, path=None):
    """Return ``[group] name (set in FILE)`` for messages about an option."""
    try:
        where = conf.get_location(name, None if group == 'DEFAULT' else group)
        path = path or where.detail
    except (cfg.Error, ValueError, RecursionError):
        pass
    try:
        files = conf.config_file
    except cfg.Error:
        files = None
    if path:
        return f'[{group}] {name} (set in {path})'
    if files:
        return f'[{group}] {name} (config files: {", ".join(files)})'
    return f'[{group}] {name}'


def describe_error(conf, group, name, error):
    """Return a one-line message for oslo.config's *error* about an option.

    oslo.config says "Value for option X from LocationInfo(..., detail=
    'FILE') is not valid: WHY"; this says "[group] X (set in FILE): WHY".
    Without *group* (it is not in the error), "option X (set in FILE)".
    """
    path = re.search(r"detail='([^']*)'", str(error))
    path = path and path[1]
    reason = str(error).rpartition(' is not valid: ')[2]
    if group:
        return f'{setting(conf, group, name, path)}: {reason}'
    return f'option {name}' + (f' (set in {path})' if path else '') + \
        f': {reason}'


def config_files(conf):
    """Return the config files *conf* read (--config-file, --config-dir)."""
    files = list(conf.config_file or [])
    if conf.config_dir:
        files += sorted(glob.glob(os.path.join(conf.config_dir, '*.conf')))
    return files


def unknown_options(conf):
    """Return a message for each option the config files set but no one has.

    Options of groups nobody registered (another service's sections) are
    not judged; a close registered name is suggested for a misspelling.
    """
    messages = []
    for path in config_files(conf):
        parser = configparser.RawConfigParser(strict=False,
                                              interpolation=None)
        parser.optionxform = str
        try:
            parser.read(path, encoding='utf-8')
        except (configparser.Error, UnicodeError):
            continue  # oslo.config has refused it already
        for section in ['DEFAULT'] + parser.sections():
            if section != 'DEFAULT' and section not in conf:
                continue
            group = conf if section == 'DEFAULT' else conf[section]
            names = parser.defaults() if section == 'DEFAULT' else [
                name for name in parser[section]
                if name not in parser.defaults()]
            for name in names:
                if name in group:
                    continue
                close = difflib.get_close_matches(name, list(group), 1)
                messages.append(
                    f'[{section}] {name} (set in {path}) is not an option'
                    + (f'; did you mean {close[0]}?' if close else ''))
    return messages


def check(conf):
    """Read every Sora option of *conf*, as a service would at start.

    Returns the number of options read.

    :raises InvalidConfig: naming the first bad option, the file that set
        it and what is accepted.
    """
    count = 0
    for module in MODULES:
        for group, opts in module.list_opts().items():
            group = getattr(group, 'name', group)
            values = conf if group == 'DEFAULT' else conf[group]
            for opt in opts:
                try:
                    value = values[opt.dest]
                except (cfg.Error, ValueError) as error:
                    raise exceptions.InvalidConfig(describe_error(
                        conf, group, opt.dest, error)) from None
                if isinstance(value, float) and not math.isfinite(value):
                    raise exceptions.InvalidConfig(
                        f'{setting(conf, group, opt.dest)}: must be a '
                        f'finite number, got {value}')
                count += 1
    return count


def own_options():
    """Return ``{(group, name)}`` of Sora's own options."""
    return {(getattr(group, 'name', group), opt.dest) for module in MODULES
            for group, opts in module.list_opts().items() for opt in opts}


def registered_options(conf):
    """Return ``{(group, name)}`` of every option registered on *conf*.

    ``group`` is ``'DEFAULT'`` for options outside any group.
    """
    found = set()
    for key in conf:
        try:
            value = conf[key]
        except (cfg.Error, ValueError, RecursionError):
            value = None  # an option whose value cannot be read
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            found.update((key, name) for name in value)
        else:
            found.add(('DEFAULT', key))
    return found


def value_of(conf, group, name):
    """Return the value of option ``[group] name``.

    :raises InvalidConfig: naming the option, the file that set it and
        what is wrong with its value.
    """
    try:
        return (conf if group == 'DEFAULT' else conf[group])[name]
    except (cfg.Error, ValueError) as error:
        reason = _reason(error)
    except RecursionError:
        reason = 'its value refers back to itself ($ substitution loops)'
    raise exceptions.InvalidConfig(f'{setting(conf, group, name)}: {reason}')


def _reason(error):
    if isinstance(error, cfg.NoSuchOptError):
        return (f'cannot substitute ${error.opt_name} in its value (no such '
                'option, or the substitution refers back to itself)')
    # oslo.config raises its value errors while handling the converter's
    # ValueError, which says what is wrong without the location.
    cause = error.__context__
    return str(cause) if isinstance(cause, ValueError) else str(error)


def bad_values(conf, options=None):
    """Return a message for each of *options* whose value is bad.

    :param options: ``{(group, name)}``; every registered option when
        omitted.
    """
    messages = []
    for group, name in sorted(options or registered_options(conf)):
        try:
            value_of(conf, group, name)
        except exceptions.InvalidConfig as error:
            messages.append(str(error))
    return messages
