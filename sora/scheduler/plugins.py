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

"""Finding and loading plugins through their entry points.

A plugin is only ever found by its entry point name: a configured value is
compared with the installed names and never imported as a module path.
"""

import contextlib
import dataclasses
import importlib
import importlib.metadata
import inspect
import re
import time

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import driver
from stevedore import exception as stevedore_exception
from stevedore import extension

from sora import conf as sora_conf
from sora.scheduler import exceptions

LOG = logging.getLogger(__name__)

DRIVERS = 'sora.scheduler'
FILTERS = 'sora.scheduler.filters'
WEIGHERS = 'sora.scheduler.weighers'
KINDS = {DRIVERS: 'scheduler driver', FILTERS: 'filter', WEIGHERS: 'weigher'}
FIXTURE = 'a test fixture'
"""The distribution of plugins given by :mod:`sora.scheduler.fixture`."""

registered = {}
"""``{namespace: {name: class}}`` that tests add beside the entry points."""


@dataclasses.dataclass(frozen=True)
class Plugin:
    """An installed entry point, described without importing it."""

    namespace: str
    name: str
    target: str
    distribution: str

    def __str__(self):
        return f'{self.namespace} plugin {self.name!r} ({self.target}) ' \
               f'from {self.distribution}'


def installed(namespace):
    """Return the :class:`Plugin` entries of *namespace*, sorted by name."""
    plugins = []
    for ep in importlib.metadata.entry_points(group=namespace):
        dist = ep.dist
        where = f'{dist.name} {dist.version}' if dist else 'an unknown ' \
            'distribution'
        plugins.append(Plugin(namespace, ep.name, ep.value, where))
    for name, cls in registered.get(namespace, {}).items():
        plugins.append(Plugin(namespace, name,
                              f'{cls.__module__}:{cls.__qualname__}',
                              FIXTURE))
    return sorted(plugins, key=lambda plugin: (plugin.name, plugin.target))


def find(namespace, name):
    """Return the one installed :class:`Plugin` called *name*.

    :raises DriverNotFound: listing the installed names.
    :raises DriverLoadError: when several distributions register *name*.
    """
    plugins = installed(namespace)
    matches = [plugin for plugin in plugins if plugin.name == name]
    if not matches:
        raise exceptions.DriverNotFound(
            namespace, name, {plugin.name for plugin in plugins})
    # The same target twice (installed, and given by a test fixture) is
    # one plugin; two targets under one name are a conflict.
    if len({plugin.target for plugin in matches}) > 1:
        raise exceptions.DriverLoadError(
            f'{namespace} plugin name {name!r} is registered more than once: '
            + '; '.join(f'{m.target} from {m.distribution}' for m in matches)
            + '. Uninstall all but one of these distributions.')
    return matches[0]


def load(namespace, name, conf, option=None):
    """Import plugin *name* and build it as ``Plugin(conf=conf)``.

    Returns ``(the built object, its Plugin entry)``. Entry points are read
    afresh, so a plugin installed since the process started is found.

    :param option: ``(group, option name)`` that named the plugin; errors
        then say which option, and which config file set it.
    :raises DriverNotFound: no plugin of that name is installed.
    :raises DriverLoadError: it fails to import or to build, or it is
        registered by several distributions.
    :raises InvalidConfig: it rejects its options.
    """
    prefix = f'{sora_conf.setting(conf, *option)}: ' if option else ''
    importlib.invalidate_caches()  # see modules installed since start
    try:
        plugin = find(namespace, name)
    except exceptions.SchedulerError as error:
        error.args = (prefix + str(error),)
        raise
    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(namespace, None)

    def failed(manager, entry_point, error):
        if isinstance(error, exceptions.SchedulerError):
            raise error  # the plugin's own clear error
        if isinstance(error, cfg.ConfigFileValueError):
            option = re.search(r'^Value for option (\S+)', str(error))
            raise exceptions.InvalidConfig(
                f'{prefix}{plugin} rejects its configuration: '
                + sora_conf.describe_error(
                    conf, None, option[1] if option else '?', error)
            ) from error
        if isinstance(error, cfg.Error):
            raise exceptions.InvalidConfig(
                f'{prefix}{plugin}: {error}') from error
        raise exceptions.DriverLoadError(
            f'{prefix}could not load {plugin}: {type(error).__name__}: '
            f'{error}') from error

    if plugin.distribution == FIXTURE:
        try:
            return registered[namespace][name](conf=conf), plugin
        except Exception as error:
            failed(None, None, error)
    try:
        manager = driver.DriverManager(
            namespace, name, invoke_on_load=True,
            invoke_kwds={'conf': conf}, on_load_failure_callback=failed)
    except stevedore_exception.NoUniqueMatch as error:
        raise exceptions.DriverLoadError(
            f'{prefix}could not load {plugin}: {error}') from error
    return manager.driver, plugin


def load_all(namespace, names, conf, option, methods):
    """Build the plugins called *names*; return ``[(name, plugin, entry)]``.

    *entry* is the plugin's :class:`Plugin` (target and distribution).

    :param option: ``(group, name)`` of the option listing them, for error
        messages (or ``None``).
    :param methods: each plugin must have one of these methods.
    :raises DriverNotFound: a name is not installed (the message lists the
        installed ones).
    :raises DriverLoadError: a plugin fails to load or has none of
        *methods*.
    """
    built = []
    for name in names:
        plugin, entry = load(namespace, name, conf, option)
        if not any(callable(getattr(plugin, method, None))
                   for method in methods):
            raise exceptions.DriverLoadError(
                f'{entry} has no {" or ".join(methods)} method: it is not a '
                f'{KINDS[namespace]} (see sora.scheduler.base)')
        built.append((name, plugin, entry))
    return built


@contextlib.contextmanager
def calling(kind, name, time_limit=0):
    """Run one plugin call of a decision; turn its failures into PluginError.

    Anything the plugin raises but a :class:`SchedulerError`, and a call
    slower than *time_limit* seconds (0: no limit; drivers pass the
    ``[DEFAULT] plugin_time_limit`` they were built with), fails the
    decision with a :class:`PluginError` naming the plugin, logged once.
    """
    start = time.monotonic()
    try:
        yield
    except exceptions.SchedulerError:
        raise
    except Exception as error:
        failure = exceptions.PluginError(
            f'{kind} {name!r} failed: {type(error).__name__}: {error}')
        failure.__cause__ = error
    else:
        took = time.monotonic() - start
        if not time_limit or took <= time_limit:
            return
        failure = exceptions.PluginError(
            f'{kind} {name!r} took {took:.3g} s, more than [DEFAULT] '
            f'plugin_time_limit = {time_limit:g} s')
    LOG.error('Decision failed: %s', failure)
    raise failure


def describe(plugin):
    """Return the first line of the plugin's docstring, importing it.

    :raises DriverLoadError: when the plugin fails to import.
    """
    try:
        target = registered[plugin.namespace][plugin.name] \
            if plugin.distribution == FIXTURE else \
            importlib.metadata.EntryPoint(
                plugin.name, plugin.target, plugin.namespace).load()
    except Exception as error:
        raise exceptions.DriverLoadError(
            f'{type(error).__name__}: {error}') from error
    if not inspect.isclass(target):
        raise exceptions.DriverLoadError(
            f'{plugin.target} is not a class')
    doc = inspect.getdoc(target) or ''
    return doc.splitlines()[0] if doc else ''
