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

"""Sora's configuration options, one module per option group.

:func:`register_opts` registers them all on a ``ConfigOpts``. Diagnosis of
a configuration (where an option was set, bad values, misspelt names) is
:mod:`sora.conf.diagnosis`; the config files themselves
:mod:`sora.conf.files`.
"""

import importlib
import threading
import weakref

from oslo_config import cfg

from sora.conf import default
from sora.conf import etcd
from sora.conf import filter_scheduler
from sora.conf import metrics
from sora.conf import scheduler

MODULES = (default, scheduler, filter_scheduler, etcd, metrics)

_MOVED = {'warn_unknown_options': 'diagnosis',
          'MAX_CONFIG_FILE_BYTES': 'files'}
"""Documented names that moved to a submodule, still found here."""


def __getattr__(name):
    """Find a name of :data:`_MOVED` in the submodule that holds it."""
    if name not in _MOVED:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    module = importlib.import_module(f'{__name__}.{_MOVED[name]}')
    return getattr(module, name)


class PerConf:
    """Something kept for each ConfigOpts while it lives, found by identity.

    ConfigOpts cannot be hashed, and a finalizer may run deep inside an
    option substitution that has exhausted the stack, so entries hold a
    weak reference to their conf and dead ones are dropped on the next use.
    """

    def __init__(self):
        self._entries = []  # [(weakref to a ConfigOpts, its value)]
        self._lock = threading.Lock()

    def of(self, conf, make):
        """Return the value kept for *conf*; ``make()`` makes it first."""
        with self._lock:
            self._entries[:] = [(ref, value) for ref, value in self._entries
                                if ref() is not None]
            for ref, value in self._entries:
                if ref() is conf:
                    return value
            value = make()
            self._entries.append((weakref.ref(conf), value))
            return value


def register_opts(conf):
    """Register every Sora option on *conf*; safe to call more than once."""
    for module in MODULES:
        module.register_opts(conf)


def groups():
    """Return the names of Sora's option groups, ``DEFAULT`` first."""
    names = ['DEFAULT']
    for module in MODULES:
        names += [_name(group) for group in module.list_opts()
                  if _name(group) not in names]
    return names


def _name(group):
    # list_opts() keys are group names or OptGroups.
    return getattr(group, 'name', group)


def own_opts():
    """Yield ``(group name, opt)`` for each of Sora's options, in order."""
    for module in MODULES:
        for group, opts in module.list_opts().items():
            for opt in opts:
                yield _name(group), opt


def own_options():
    """Return ``{(group, name)}`` of Sora's own options."""
    return {(group, opt.dest) for group, opt in own_opts()}


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
