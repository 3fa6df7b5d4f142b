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

"""Diagnosis of Sora's configuration: where an option was set, what is wrong.

What every reader of Sora's configuration shares: where an option was set
(:func:`setting`), option values that cannot be read (:func:`check`,
:func:`bad_values`), option and section names nobody registered
(:func:`unknown_options`, :func:`warn_unknown_options`). The config files
themselves are :mod:`sora.conf.files`.
"""

import difflib
import math

from oslo_config import cfg
from oslo_log import log as logging

from sora import conf as sora_conf
from sora.conf import files
from sora.scheduler import exceptions

# The logger of sora.conf, where these warnings were logged before: log
# configurations that name it keep working.
LOG = logging.getLogger('sora.conf')

_WARNED = sora_conf.PerConf()  # the messages warned about, per conf


def _normal(section):
    # oslo.config's spelling of a section as a group name.
    return section if section == 'DEFAULT' else section.lower()


def where(conf, group, name):
    """Return where ``[group] name`` is set, e.g. ``set in /etc/x.conf``.

    oslo.config's ``get_location`` answers for a value it can read; for one
    it cannot, the config files are searched (the last one setting it
    wins). ``None`` when it is not set by the user.
    """
    try:
        loc = conf.get_location(name, None if group == 'DEFAULT' else group)
    except (cfg.Error, ValueError, RecursionError):
        loc = None
    if loc is not None:
        if loc.location == cfg.Locations.user:
            return f'set in {loc.detail}'
        if loc.location == cfg.Locations.command_line:
            return 'set on the command line'
        if loc.location == cfg.Locations.environment:
            return f'set by {loc.detail}'
        return None
    for path in reversed(files.config_files(conf)):
        parser = files.sections(path)
        for section in parser.sections() if parser else ():
            if (group is None or _normal(section) == group) and \
                    name in parser[section]:
                return f'set in {files.fixpath(path)}'
    return None


def setting(conf, group, name, path=None):
    """Return ``[group] name (set in FILE)`` for messages about an option."""
    place = f'set in {path}' if path else where(conf, group, name)
    if place:
        return f'[{group}] {name} ({place})'
    paths = files.config_files(conf)
    if paths:
        return f'[{group}] {name} (config files: {", ".join(paths)})'
    return f'[{group}] {name}'


def describe_error(conf, group, name, error):
    """Return a one-line message for *error*, raised reading an option.

    Says ``[group] name (set in FILE): WHY`` from the exception's own data
    (``opt_name``, ``msg``, the ValueError a bad value raised) and
    ``conf.get_location``, never from oslo.config's wording. Without
    *group*, the config files are searched for *name* in any section.

    :param error: what reading ``[group] name`` of *conf* raised:
        ``cfg.Error``, ``ValueError`` or ``RecursionError``.
    """
    if isinstance(error, RecursionError) or (
            isinstance(error, cfg.NoSuchOptError) and error.opt_name != name):
        reason = substitution_error(error)
    elif isinstance(error, cfg.ConfigSourceValueError) and \
            isinstance(error.__context__, ValueError):
        reason = str(error.__context__)  # what the option type said
    elif isinstance(error, cfg.Error) and error.msg:
        reason = error.msg
    else:
        reason = str(error)
    if group:
        return f'{setting(conf, group, name)}: {reason}'
    place = where(conf, None, name)
    return f'option {name}' + (f' ({place})' if place else '') + \
        f': {reason}'


def substitution_error(error):
    """Say what is wrong with a $reference, from what substituting raised.

    :param error: ``RecursionError`` (a reference loops),
        ``cfg.NoSuchOptError`` (to an unknown option) or
        ``cfg.TemplateSubstitutionError``.
    """
    if isinstance(error, RecursionError):
        return ('its value refers to itself with $, directly or through '
                'other options (write $$ for a literal $)')
    if isinstance(error, cfg.NoSuchOptError):
        return (f'its value refers to ${error.opt_name}, which is not an '
                'option (write $$ for a literal $)')
    return error.msg or str(error)


def substituting(paths):
    """Return ``[group] name (set in FILE)`` for each $reference in *paths*.

    For an error oslo.config raises while it parses, before any value can
    be asked where it was set.
    """
    found = []
    for path in paths:
        parser = files.sections(path)
        for section in parser.sections() if parser else ():
            found += [f'[{section}] {name} (set in {files.fixpath(path)})'
                      for name, value in parser[section].items()
                      if '$' in value.replace('$$', '')]
    return found


def _read(conf, group, name):
    """Return the value of ``[group] name``, raising what reading raises."""
    key = None if group == 'DEFAULT' else group
    # get_location raises the error itself; ConfigOpts.__getattr__ would
    # turn a bad $substitution into "no such option".
    conf.get_location(name, key)
    return conf[name] if key is None else conf[key][name]


def value_of(conf, group, name):
    """Return the value of option ``[group] name``.

    :raises InvalidConfig: naming the option, the file that set it and
        what is wrong with its value (see :func:`describe_error`).
    """
    try:
        return _read(conf, group, name)
    except (cfg.Error, ValueError, RecursionError) as error:
        raise exceptions.InvalidConfig(
            describe_error(conf, group, name, error)) from None


def bad_values(conf, options=None):
    """Return a message for each of *options* whose value is bad, once.

    A bad value is one oslo.config cannot convert or substitute, or an
    infinite or NaN number. DEFAULT's options come first, then each
    group's, by name.

    :param options: ``{(group, name)}``; every registered option when
        omitted.
    """
    messages = []
    for group, name in sorted(options or sora_conf.registered_options(conf),
                              key=lambda key: (key[0] != 'DEFAULT', key)):
        try:
            value = value_of(conf, group, name)
        except exceptions.InvalidConfig as error:
            messages.append(str(error))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            messages.append(f'{setting(conf, group, name)}: must be a finite '
                            f'number, got {value}')
    return list(dict.fromkeys(messages))


def check(conf, every=False):
    """Read every Sora option of *conf*, as a service would at start.

    Returns the number of options read.

    :param every: read every registered option, not only Sora's.
    :raises InvalidConfig: naming every bad option, the file that set it
        and what is accepted.
    """
    options = sora_conf.registered_options(conf) if every else \
        sora_conf.own_options()
    problems = bad_values(conf, options)
    if problems:
        raise exceptions.InvalidConfig('; '.join(problems))
    return len(options)


def changed_options(conf):
    """Return ``[group] name = value`` for each Sora option not at default.

    Secret values are masked.
    """
    changed = []
    for group, opt in sora_conf.own_opts():
        try:
            value = _read(conf, group, opt.dest)
        except (cfg.Error, ValueError, RecursionError):
            continue  # reported by bad_values
        if value == opt.default or (isinstance(value, float) and
                                    not math.isfinite(value)):
            continue
        if isinstance(value, list):
            value = ','.join(map(str, value))
        changed.append(f'[{group}] {opt.dest} = '
                       + ('****' if opt.secret else f'{value}'))
    return changed


def unknown_options(conf):
    """Return a message for each option the config files set but no one has.

    Options of groups nobody registered (another service's sections) are
    not judged, but a section whose name is close to one of Sora's groups
    (``[filter_schedular]``) is reported as misspelt; a close registered
    name is suggested for a misspelt option.
    """
    messages = []
    known = [_normal(name) for name in sora_conf.groups()]
    for path in files.config_files(conf):
        parser = files.sections(path)
        path = files.fixpath(path)
        for section in parser.sections() if parser else ():
            group = _normal(section)
            if group != 'DEFAULT' and not _is_group(conf, group):
                close = difflib.get_close_matches(
                    section.lower(), [name.lower() for name in known], 1,
                    0.8)
                if close:
                    intended = known[[name.lower() for name in known]
                                     .index(close[0])]
                    messages.append(
                        f'[{section}] (in {path}) is not a section Sora '
                        f'knows; did you mean [{intended}]?')
                continue
            options = conf if group == 'DEFAULT' else conf[group]
            for name in parser[section]:
                if name in options:
                    continue
                close = difflib.get_close_matches(name, list(options), 1)
                messages.append(
                    f'[{section}] {name} (set in {path}) is not an option'
                    + (f'; did you mean {close[0]}?' if close else ''))
    return list(dict.fromkeys(messages))


def _is_group(conf, name):
    try:
        return isinstance(conf[name], cfg.ConfigOpts.GroupAttr)
    except (cfg.Error, ValueError, RecursionError):
        return False


def warn_unknown_options(conf):
    """Log a WARNING for each misspelt option or section in the files.

    Each message is logged once per *conf*, so calling this again (on
    reload) warns only about new ones. Returns the messages.
    """
    messages = unknown_options(conf)
    warned = _WARNED.of(conf, set)
    for message in messages:
        if message not in warned:
            warned.add(message)
            LOG.warning('Ignored: %s', message)
    return messages
