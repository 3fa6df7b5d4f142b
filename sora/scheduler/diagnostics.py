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

"""What a configuration builds, checked and listed without tracked hosts.

:class:`Check` runs the checks of ``sora-scheduler check``, one
:class:`Line` each; :func:`listing` describes the installed plugins of a
kind, marking those the configured driver uses. Both build the driver on
an in-process store (:func:`offline_manager`), so they never reach etcd.
"""

import dataclasses
import functools
import inspect

from oslo_config import cfg

from sora.conf import diagnosis
from sora.conf import files as conf_files
from sora.scheduler import exceptions
from sora.scheduler import filtering
from sora.scheduler import hosts_file
from sora.scheduler import manager
from sora.scheduler import metrics_server
from sora.scheduler import plugins
from sora.scheduler import stores
from sora.scheduler.stores import memory
from sora.scheduler import weighing

KINDS = {'drivers': plugins.DRIVERS, 'filters': plugins.FILTERS,
         'weighers': plugins.WEIGHERS}
"""The kinds of plugin :func:`listing` describes, and their namespaces."""


def offline_manager(conf):
    """Return a manager on an in-process store: it never reaches etcd.

    Nor serves metrics.
    """
    return manager.SchedulerManager(conf, store=memory.MemoryHostStore(conf),
                                    serve_metrics=False)


@dataclasses.dataclass(frozen=True)
class Line:
    """The result of one check: *status* is OK, FAILED or SKIPPED."""

    status: str
    name: str
    detail: str

    def __str__(self):
        return f'{self.status:<8}{self.name}: {self.detail}'


class Check:
    """The checks of a configuration, each run as it is iterated.

    Every bad option value and every unknown option or section is its own
    FAILED line; the driver is built only when nothing failed before it,
    so no failure is reported twice.

    :param conf: a parsed ``ConfigOpts`` with Sora's options registered.
    :param hosts: a hosts file to check too (``-`` reads stdin), or None.
    """

    def __init__(self, conf, hosts=None):
        self.conf = conf
        self.hosts = hosts
        self.counts = {'OK': 0, 'FAILED': 0, 'SKIPPED': 0}

    def __iter__(self):
        conf = self.conf
        yield self._line('OK', 'config files',
                         ', '.join(conf_files.config_files(conf)) or 'none')
        bad = diagnosis.bad_values(conf)
        for problem in bad:
            yield self._line('FAILED', 'option values', problem)
        if not bad:
            yield self._line('OK', 'option values', _values_summary(conf))
        unknown = diagnosis.unknown_options(conf)
        for problem in unknown:
            yield self._line('FAILED', 'option names', problem)
        if not unknown:
            yield self._line('OK', 'option names',
                             'every option and section set is known')
        skip = 'not checked while option values are bad' if bad else None
        failed = self.counts['FAILED']
        for name in _value(conf, 'filter_scheduler', 'enabled_filters', []):
            yield self._run(f'filter {name}', functools.partial(
                _load_one, filtering.load, name, conf, 'enabled_filters'),
                skip)
        for name in _value(conf, 'filter_scheduler', 'weighers', []):
            yield self._run(f'weigher {name}', functools.partial(
                _load_one, weighing.load, name, conf, 'weighers'), skip)
        driver = _value(conf, 'DEFAULT', 'scheduler_driver')
        driver = f'scheduler driver {driver}'.removesuffix(' ?')
        if bad or self.counts['FAILED'] > failed or self.counts['SKIPPED']:
            yield self._line('SKIPPED', driver, 'not built until the option '
                                                'values and plugins above '
                                                'are fixed')
        else:
            yield self._run(driver,
                            lambda: _loaded(offline_manager(conf).driver))
        store = _value(conf, 'scheduler', 'host_store')
        yield self._run(f'host store {store}',
                        functools.partial(_store_answers, conf), skip)
        if self.hosts:
            yield self._run('hosts file', lambda: (
                f'{self.hosts}: {len(hosts_file.load_hosts(self.hosts))} '
                'hosts'))
        yield self._run('metrics', functools.partial(metrics_server.check,
                                                     conf), skip)

    @property
    def ok(self):
        """Whether every check run so far ended OK."""
        return self.counts['OK'] == sum(self.counts.values())

    def summary(self):
        """Return the closing line, e.g. ``7 of 16 checks OK (3 skipped)``."""
        checks = sum(self.counts.values())
        text = f'{self.counts["OK"]} of {checks} checks OK'
        if self.counts['SKIPPED']:
            text += f' ({self.counts["SKIPPED"]} skipped)'
        return text

    def _line(self, status, name, detail):
        self.counts[status] += 1
        return Line(status, name, str(detail))

    def _run(self, name, check, skip_invalid_config=None):
        """Return *check*'s result as a line, or its error as FAILED.

        *skip_invalid_config*: report an InvalidConfig as SKIPPED with this
        reason instead (the bad option was reported already).
        """
        try:
            return self._line('OK', name, check())
        except exceptions.InvalidConfig as error:
            if skip_invalid_config:
                return self._line('SKIPPED', name, skip_invalid_config)
            return self._line('FAILED', name, error)
        except exceptions.SchedulerError as error:
            return self._line('FAILED', name, error)


def _store_answers(conf):
    store = stores.load(conf)
    try:
        return (f'answers: {len(store.hosts())} hosts, '
                f'{len(store.claims())} claims')
    except cfg.Error as error:  # a bad value it read, reported above
        raise exceptions.InvalidConfig(str(error)) from None
    finally:
        store.close()


def _value(conf, group, name, default='?'):
    try:
        return conf[name] if group == 'DEFAULT' else conf[group][name]
    except (cfg.Error, ValueError, RecursionError):
        return default  # a bad value, reported on its own line


def _values_summary(conf):
    count = diagnosis.check(conf, every=True)
    changed = diagnosis.changed_options(conf)
    return f'{count} options, all valid; ' + (
        'Sora options changed from their defaults: ' + ', '.join(changed)
        if changed else 'every Sora option at its default')


def _load_one(load, name, conf, option):
    [(_name, plugin)] = load([name], conf, ('filter_scheduler', option))
    return _loaded(plugin)


def _loaded(plugin):
    doc = (inspect.getdoc(plugin) or '').splitlines()
    return 'loads' + (f' ({doc[0]})' if doc else '')


@dataclasses.dataclass(frozen=True)
class Listed:
    """An installed plugin as a listing shows it.

    *summary* is the first line of its docstring, or ``ERROR: ...`` when it
    fails to import; *used* says whether the configured driver uses it.
    """

    name: str
    distribution: str
    summary: str
    used: bool


def listing(conf, kind):
    """Describe the installed plugins of *kind*, a key of :data:`KINDS`.

    Returns ``([Listed], error)``: every installed plugin, sorted by name,
    and the SchedulerError building the configured driver raised (None
    when it builds). A driver that cannot be built uses no plugin.
    """
    try:
        driver, error = offline_manager(conf).driver, None
    except exceptions.SchedulerError as failure:
        driver, error = None, failure
    if kind == 'drivers':
        used = [conf.scheduler_driver]
    else:  # the filter driver's filters and weighers: [(name, plugin)]
        used = [name for name, _ in getattr(driver, kind, ())]
    entries = []
    for plugin in plugins.installed(KINDS[kind]):
        try:
            summary = plugins.describe(plugin)
        except exceptions.PluginLoadError as failure:
            summary = f'ERROR: {failure}'
        entries.append(Listed(plugin.name, plugin.distribution, summary,
                              plugin.name in used))
    return entries, error
