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

"""Finding and loading plugins through their entry points, with stevedore.

A plugin is only ever found by its entry point name: a configured value is
compared with the installed names and never imported as a module path.
"""

import dataclasses
import importlib.metadata
import inspect
import time

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import extension
from stevedore import named

from sora.conf import diagnosis
from sora.scheduler import exceptions

LOG = logging.getLogger(__name__)

DRIVERS = 'sora.scheduler'
FILTERS = 'sora.scheduler.filters'
WEIGHERS = 'sora.scheduler.weighers'
STORES = 'sora.scheduler.host_stores'
KINDS = {DRIVERS: 'scheduler driver', FILTERS: 'filter', WEIGHERS: 'weigher',
         STORES: 'host store'}
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
    """Return the :class:`Plugin` entries of *namespace*, sorted by name.

    For listings and messages: it reads every distribution's metadata, so
    loading (:func:`load`) does not use it.
    """
    plugins = []
    for ep in importlib.metadata.entry_points(group=namespace):
        dist = ep.dist
        where = f'{dist.name} {dist.version}' if dist else 'an unknown ' \
            'distribution'
        plugins.append(Plugin(namespace, ep.name, ep.value, where))
    for name, cls in registered.get(namespace, {}).items():
        plugins.append(Plugin(namespace, name, _target(cls), FIXTURE))
    return sorted(plugins, key=lambda plugin: (plugin.name, plugin.target))


def load(namespace, names, conf, option=None, methods=()):
    """Build the plugins called *names* as ``Plugin(conf=conf)``, in order.

    Returns ``[(name, built object)]``. One stevedore
    :class:`~stevedore.named.NamedExtensionManager` reads the namespace's
    entry points once (afresh, so a plugin installed since the process
    started is found) and imports only the plugins named; classes given by
    :mod:`sora.scheduler.fixture` join them through
    ``make_test_instance``.

    :param option: ``(group, option name)`` that named the plugins; errors
        then say which option, and which config file set it.
    :param methods: each plugin must have one of these methods.
    :raises PluginNotFound: a name is not installed (the message lists the
        installed ones).
    :raises PluginLoadError: a plugin fails to import or to build, has none
        of *methods*, or is registered by several distributions.
    :raises InvalidConfig: a plugin rejects its options.
    """
    names = list(names)
    prefix = f'{diagnosis.setting(conf, *option)}: ' if option else ''

    def failed(_manager, entry_point, error):
        raise load_error(prefix, conf, namespace, entry_point.name,
                         entry_point.value, error) from error

    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(namespace, None)
    loaded = named.NamedExtensionManager(
        namespace, names, invoke_on_load=True, invoke_kwds={'conf': conf},
        on_load_failure_callback=failed,
        on_missing_entrypoints_callback=None).extensions
    for name, cls in registered.get(namespace, {}).items():
        if name in names:
            loaded.append(_test_extension(namespace, name, cls, conf, failed))
    # stevedore finds two plugins of one name only when they are adjacent.
    manager = named.NamedExtensionManager.make_test_instance(
        sorted(loaded, key=lambda ext: ext.name), namespace,
        conflict_resolver=_conflict)
    built = []
    for name in names:
        if name not in manager:
            error = exceptions.PluginNotFound(
                namespace, name, {plugin.name for plugin in
                                  installed(namespace)})
            error.args = (prefix + str(error),)
            raise error
        plugin = manager[name]
        if methods and not any(callable(getattr(plugin.obj, method, None))
                               for method in methods):
            raise exceptions.PluginLoadError(
                f'{prefix}{_describe(namespace, name, plugin.entry_point)} '
                f'has no {" or ".join(methods)} method: it is not a '
                f'{KINDS[namespace]} (see sora.scheduler.base)')
        built.append((name, plugin.obj))
    return built


def _target(cls):
    return f'{cls.__module__}:{cls.__qualname__}'


def _test_extension(namespace, name, cls, conf, failed):
    entry_point = importlib.metadata.EntryPoint(name, _target(cls),
                                                namespace)
    try:
        return extension.Extension(name, entry_point, cls, cls(conf=conf))
    except Exception as error:
        failed(None, entry_point, error)


def _conflict(namespace, name, extensions):
    # One target seen twice (installed, and given by a test fixture) is one
    # plugin; two targets under one name cannot be told apart by config.
    targets = {ext.entry_point.value for ext in extensions}
    if len(targets) == 1:
        return extensions[0]
    found = [plugin for plugin in installed(namespace)
             if plugin.name == name]
    raise exceptions.PluginLoadError(
        f'{namespace} plugin name {name!r} is registered more than once: '
        + '; '.join(f'{plugin.target} from {plugin.distribution}'
                    for plugin in found)
        + '. Uninstall all but one of these distributions.')


def _describe(namespace, name, entry_point):
    for plugin in installed(namespace):
        if (plugin.name, plugin.target) == (name, entry_point.value):
            return str(plugin)
    return f'{namespace} plugin {name!r} ({entry_point.value})'


def load_error(prefix, conf, namespace, name, target, error):
    """Return the SchedulerError for a plugin that failed to load.

    A bad option value (the plugin's own, or any other) is an
    InvalidConfig naming each; any other failure a PluginLoadError naming
    the plugin, its target and the error. *prefix* starts the message.
    """
    if isinstance(error, exceptions.SchedulerError):
        return error  # the plugin's own clear error
    plugin = _describe(namespace, name,
                       importlib.metadata.EntryPoint(name, target, namespace))
    bad = diagnosis.bad_values(conf) \
        if isinstance(error, (cfg.Error, ValueError)) else []
    if bad:
        return exceptions.InvalidConfig(
            f'{prefix}{plugin} rejects its configuration: ' + '; '.join(bad))
    if isinstance(error, cfg.Error):
        return exceptions.InvalidConfig(f'{prefix}{plugin}: {error}')
    return exceptions.PluginLoadError(
        f'{prefix}could not load {plugin}: {type(error).__name__}: {error}')


class calling:
    """Run one plugin call of a decision; turn its failures into PluginError.

    A context manager (a class, not a generator: a decision makes a score
    of plugin calls). Anything the plugin raises but a
    :class:`SchedulerError` (a ``sys.exit()`` included), and a call slower
    than *time_limit* seconds (0: no limit; drivers pass the ``[DEFAULT]
    plugin_time_limit`` they were built with), fails the decision with a
    :class:`PluginError` naming the plugin, logged once.
    """

    __slots__ = ('kind', 'name', 'time_limit', 'start')

    def __init__(self, kind, name, time_limit=0):
        self.kind, self.name, self.time_limit = kind, name, time_limit

    def __enter__(self):
        self.start = time.monotonic()

    def __exit__(self, error_type, error, traceback):
        if error is None:
            took = time.monotonic() - self.start
            if not self.time_limit or took <= self.time_limit:
                return False
            failure = exceptions.PluginError(
                f'{self.kind} {self.name!r} took {took:.3g} s, more than '
                f'[DEFAULT] plugin_time_limit = {self.time_limit:g} s')
        elif isinstance(error, exceptions.SchedulerError) or \
                not isinstance(error, (Exception, SystemExit)):
            return False
        else:
            failure = exceptions.PluginError(
                f'{self.kind} {self.name!r} failed: '
                f'{error_type.__name__}: {error}')
        LOG.error('Decision failed: %s', failure)
        raise failure from error


def describe(plugin):
    """Return the first line of the plugin's docstring, importing it.

    :raises PluginLoadError: when the plugin fails to import.
    """
    try:
        target = registered[plugin.namespace][plugin.name] \
            if plugin.distribution == FIXTURE else \
            importlib.metadata.EntryPoint(
                plugin.name, plugin.target, plugin.namespace).load()
    except Exception as error:
        raise exceptions.PluginLoadError(
            f'{type(error).__name__}: {error}') from error
    if not inspect.isclass(target):
        raise exceptions.PluginLoadError(
            f'{plugin.target} is not a class')
    doc = inspect.getdoc(target) or ''
    return doc.splitlines()[0] if doc else ''
