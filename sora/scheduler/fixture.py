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

"""Fixtures for testing Sora plugins without installing them.

In the manner of ``oslo_config.fixture`` (and of stevedore's
``make_test_instance``): a plugin author's unit tests give the classes
under test, and the manager finds them by name exactly as it would find
installed entry points::

    from sora.scheduler import fixture

    class TestEvenFilter(testtools.TestCase):
        def test_decision(self):
            scheduler = self.useFixture(fixture.Scheduler(
                filters={'even': EvenFilter},
                config={'DEFAULT': {'scheduler_driver': 'filter'},
                        'filter_scheduler': {
                            'enabled_filters': ['enabled', 'memory', 'cpu',
                                                'disk', 'even']}})).manager
            self.assertEqual(['node-2'], scheduler.select_destinations(
                {'memory_mb': 512}, hosts=[...]))

Needs the ``fixtures`` package: install Sora from its source with the
``fixtures`` extra (``pip install '/path/to/sora[fixtures]'``).
"""

import fixtures
from oslo_config import cfg

from sora import conf as sora_conf
from sora.scheduler import manager
from sora.scheduler import plugins


class Plugins(fixtures.Fixture):
    """Make plugin classes loadable by name for one test.

    They are listed and loaded beside the installed entry points, from a
    distribution called "a test fixture".

    :param drivers: ``{name: driver class}``.
    :param filters: ``{name: filter class}``.
    :param weighers: ``{name: weigher class}``.
    """

    def __init__(self, drivers=None, filters=None, weighers=None):
        super().__init__()
        self.classes = {plugins.DRIVERS: drivers or {},
                        plugins.FILTERS: filters or {},
                        plugins.WEIGHERS: weighers or {}}

    def _setUp(self):
        for namespace, classes in self.classes.items():
            registered = plugins.registered.setdefault(namespace, {})
            for name, cls in classes.items():
                registered[name] = cls
                self.addCleanup(registered.pop, name, None)


class Scheduler(fixtures.Fixture):
    """A SchedulerManager on a fresh configuration, with given plugins.

    :param config: ``{group: {option: value}}`` set on the configuration
        (``DEFAULT`` for the [DEFAULT] group), e.g. the driver's name.
    :param drivers: as for :class:`Plugins`.
    :param filters: as for :class:`Plugins`.
    :param weighers: as for :class:`Plugins`.
    :param register_opts: a callable given the configuration before the
        overrides are set, to register the plugins' own options.
    :ivar manager: the :class:`~sora.scheduler.manager.SchedulerManager`.
    :ivar conf: its :class:`oslo_config.cfg.ConfigOpts`.
    """

    def __init__(self, config=None, drivers=None, filters=None,
                 weighers=None, register_opts=None):
        super().__init__()
        self.config = config or {}
        self.plugins = Plugins(drivers, filters, weighers)
        self.register_opts = register_opts

    def _setUp(self):
        self.useFixture(self.plugins)
        self.conf = cfg.ConfigOpts()
        self.conf([], project='sora', default_config_files=[],
                  default_config_dirs=[])
        sora_conf.register_opts(self.conf)
        if self.register_opts:
            self.register_opts(self.conf)
        for group, options in self.config.items():
            for name, value in options.items():
                self.conf.set_override(
                    name, value, None if group == 'DEFAULT' else group)
        self.manager = manager.SchedulerManager(self.conf)
