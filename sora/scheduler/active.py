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

"""The driver a manager decides with, built from its configuration.

:func:`build` loads it and the checks of its answers as an
:class:`Active`; :class:`Followers` rebuild it for every manager of a
configuration when the configuration changes (``reload``).
"""

import weakref

from sora import conf as sora_conf
from sora.conf import diagnosis
from sora.scheduler import base
from sora.scheduler import exceptions
from sora.scheduler import filtering
from sora.scheduler import filters as built_in
from sora.scheduler import plugins


def build(conf, followers):
    """Return the :class:`Active` driver *conf* names.

    Built until the settings read before and after agree: another manager
    may reload the same configuration meanwhile. Settings that kept
    changing are recorded as none, so that the next follow builds again.

    :param followers: the :class:`Followers` of *conf*.
    :raises SchedulerError: the configuration or a plugin is broken.
    """
    for _ in range(3):
        settings = followers.settings(conf)
        active = _built(conf, settings)
        if followers.settings(conf) == settings:
            return active
    active.settings = {}
    return active


def _built(conf, settings):
    diagnosis.check(conf)
    diagnosis.warn_unknown_options(conf)
    name = conf.scheduler_driver
    [(_name, driver)] = plugins.load(
        plugins.DRIVERS, [name], conf, ('DEFAULT', 'scheduler_driver'))
    if not isinstance(driver, base.Scheduler):
        option = diagnosis.setting(conf, 'DEFAULT', 'scheduler_driver')
        raise exceptions.PluginLoadError(
            f'{option}: {type(driver).__module__}:'
            f'{type(driver).__qualname__} is not a scheduler driver: '
            'drivers subclass sora.scheduler.base.Scheduler')
    constraints = filtering.load(built_in.REQUEST, conf)
    return Active(name, driver, constraints, settings)


class Active:
    """A built driver, the checks of its answers and their settings."""

    def __init__(self, name, driver, constraints, settings):
        self.name = name
        self.driver = driver
        self.constraints = constraints
        self.settings = settings

    def check(self, chosen, hosts, request, count):
        """Refuse an answer that does not fit every hard constraint.

        :raises PluginError: saying what is wrong; nothing is placed.
        """
        if not isinstance(chosen, (list, tuple)) or len(chosen) != count or \
                not all(isinstance(host_id, str) for host_id in chosen):
            raise exceptions.PluginError(
                f'driver {self.name} returned {chosen!r:.200}, not a list of '
                f'{count} host ids; nothing was placed')
        rows = hosts.rows_of(chosen)
        if len(rows) != count:
            raise exceptions.PluginError(
                f'driver {self.name} chose hosts it was not given: '
                f'{sorted(set(chosen) - set(hosts.ids))!r:.200}; nothing was '
                'placed')
        refused = filtering.refusal(self.constraints, hosts, request, rows)
        if refused is not None:
            raise exceptions.PluginError(
                f'driver {self.name} chose hosts that do not fit '
                f'{request.to_dict()}: {refused}; nothing was placed')


class Followers:
    """The managers following one configuration, called on its changes.

    One per :class:`~oslo_config.cfg.ConfigOpts`, registered as its mutate
    hook; it holds its managers weakly. It also tells which options a
    driver is built from: every option registered on the configuration
    except those it held before Sora's were first registered (the embedding
    service's and oslo.log's, say), so a change there rebuilds nothing.
    """

    _all = sora_conf.PerConf()

    def __init__(self, conf):
        self._managers = weakref.WeakSet()
        self._foreign = sora_conf.registered_options(conf) - \
            sora_conf.own_options()

    @classmethod
    def of(cls, conf):
        """Return the followers of *conf*, registering them on first use."""
        return cls._all.of(conf, lambda: cls._registered(conf))

    @classmethod
    def _registered(cls, conf):
        found = cls(conf)
        conf.register_mutate_hook(found)
        return found

    def add(self, manager):
        """Follow the configuration with *manager*."""
        self._managers.add(manager)

    def discard(self, manager):
        """Stop following it with *manager*."""
        self._managers.discard(manager)

    def follows(self, manager):
        """Whether *manager* follows the configuration."""
        return manager in self._managers

    def settings(self, conf):
        """Return ``{(group, name): value}`` of the options drivers use.

        A value that cannot be read counts as its error message.
        """
        values = {}
        for group, name in sora_conf.registered_options(conf) - \
                self._foreign:
            try:
                values[group, name] = diagnosis.value_of(conf, group, name)
            except exceptions.InvalidConfig as error:
                values[group, name] = str(error)
        return values

    def __call__(self, conf, changed):
        # The oslo.config mutate hook.
        for manager in list(self._managers):
            manager._follow()


def _parsed(conf):
    # ConfigOpts registers its --config-file option when it first parses.
    return 'config_file' in conf


def parsed(conf):
    """Whether *conf* has been parsed (its config files are known)."""
    # ConfigOpts registers its --config-file option when it first parses.
    return 'config_file' in conf
