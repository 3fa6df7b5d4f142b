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

"""Test case and fixtures shared by Sora's tests."""

import importlib
import importlib.metadata
import os
import sys
import textwrap

import fixtures
from oslo_config import cfg
from oslotest import base
from stevedore import extension


class PluginDistribution(fixtures.Fixture):
    """Install a throwaway distribution on ``sys.path`` for one test.

    It is a real ``*.dist-info`` directory with ``entry_points.txt``,
    found by importlib.metadata and stevedore exactly as a pip-installed
    plugin package would be.

    :param name: distribution name.
    :param entry_points: ``{namespace: {entry point name: "module:attr"}}``.
    :param modules: ``{module name: source}`` written beside it.
    """

    def __init__(self, name, entry_points, modules=None, version='1.0'):
        super().__init__()
        self.name = name
        self.entry_points = entry_points
        self.modules = modules or {}
        self.version = version

    def _setUp(self):
        self.root = root = self.useFixture(fixtures.TempDir()).path
        # The directory name follows the wheel spec (name normalised with
        # underscores): importlib.metadata de-duplicates distributions by it.
        stem = self.name.replace('-', '_')
        info = os.path.join(root, f'{stem}-{self.version}.dist-info')
        os.mkdir(info)
        with open(os.path.join(info, 'METADATA'), 'w') as metadata:
            metadata.write('Metadata-Version: 2.1\n'
                           f'Name: {self.name}\nVersion: {self.version}\n')
        with open(os.path.join(info, 'entry_points.txt'), 'w') as eps:
            for namespace, names in self.entry_points.items():
                eps.write(f'[{namespace}]\n')
                eps.writelines(f'{name} = {target}\n'
                               for name, target in names.items())
        for module, source in self.modules.items():
            with open(os.path.join(root, f'{module}.py'), 'w') as code:
                code.write(textwrap.dedent(source))
        sys.path.insert(0, root)
        self.addCleanup(self._forget, root)
        self._forget(None)

    def _forget(self, root):
        if root in sys.path:
            sys.path.remove(root)
        for module in self.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        extension.ExtensionManager.ENTRY_POINT_CACHE.clear()


class TestCase(base.BaseTestCase):
    """Base test case: temporary files and real, parsed config files."""

    def write_file(self, name, text):
        """Write *text* to *name* in this test's temporary directory."""
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, name)
        with open(path, 'w') as out:
            out.write(textwrap.dedent(text))
        return path

    def make_conf(self, text='', name='sora.conf'):
        """Return a fresh ConfigOpts parsed from a real file with *text*."""
        conf = cfg.ConfigOpts()
        conf(['--config-file', self.write_file(name, text)], project='sora',
             default_config_files=[], default_config_dirs=[])
        return conf

    def add_plugins(self, name, entry_points, modules=None):
        """Install a throwaway plugin distribution for this test."""
        return self.useFixture(
            PluginDistribution(name, entry_points, modules))


def installed_version():
    """Return the installed sora distribution's version."""
    return importlib.metadata.version('sora')
