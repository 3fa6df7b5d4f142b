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
    except (cfg.Error, ValueError):
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
