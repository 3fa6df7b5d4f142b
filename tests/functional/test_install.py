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

"""Sora pip-installed into a throwaway virtualenv, used as a user would.

The package is installed from a copy of the source tree without ``.git``
(so pbr takes its version from ``PBR_VERSION``); everything then runs in
that virtualenv through the installed entry points.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
VERSION = '7.7.7'

SEED_SESSION = '''
from stevedore import driver
dt = {13: 'id1', 324: 'id2', 434: 'id3', 'memory': [13, 324, 434]}
mgr = driver.DriverManager(namespace='sora.scheduler', name='%s', invoke_on_load=True)  # noqa: E501
print(mgr.driver.scheduler(dt))
'''


class Venv:
    """A throwaway virtualenv with Sora and the example plugins installed."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='sora-functional-')
        source = os.path.join(self.tmp, 'source')
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
            '.git', '.tox', '*.egg-info', 'build', 'dist', '__pycache__',
            '.venv', '.stestr', 'cover'))
        self.path = os.path.join(self.tmp, 'venv')
        subprocess.run([sys.executable, '-m', 'venv', self.path], check=True)
        self.env = dict(os.environ, PBR_VERSION=VERSION,
                        HOME=os.path.join(self.tmp, 'home'),
                        XDG_CACHE_HOME=os.path.join(self.tmp, 'cache'),
                        PIP_CACHE_DIR=os.environ.get(
                            'PIP_CACHE_DIR',
                            os.path.expanduser('~/.cache/pip')))
        self.env.pop('PYTHONPATH', None)
        os.mkdir(self.env['HOME'])
        self.examples = os.path.join(source, 'examples',
                                     'sora-example-plugins')
        self.run(['pip', 'install', '--quiet', source])
        self.run(['pip', 'install', '--quiet', f'{self.examples}[test]'])

    def run(self, argv, cwd=None):
        """Run a command of the virtualenv's bin/; fail on a non-zero exit."""
        argv = [os.path.join(self.path, 'bin', argv[0])] + argv[1:]
        result = subprocess.run(argv, capture_output=True, text=True,
                                env=self.env, cwd=cwd or self.tmp,
                                timeout=600)
        if result.returncode:
            raise AssertionError(f'{argv} failed ({result.returncode}):\n'
                                 f'{result.stdout}\n{result.stderr}')
        return result


VENV = None


def setUpModule():
    global VENV
    VENV = Venv()


def tearDownModule():
    shutil.rmtree(VENV.tmp, ignore_errors=True)


class VenvTestCase(unittest.TestCase):

    def run_in_venv(self, argv, cwd=None):
        return VENV.run(argv, cwd)

    def write(self, name, text):
        path = os.path.join(VENV.tmp, name)
        with open(path, 'w') as out:
            out.write(textwrap.dedent(text))
        return path

    def python(self, code):
        return self.run_in_venv(['python', '-c', textwrap.dedent(code)])


class InstalledPackageTest(VenvTestCase):

    def test_version_comes_from_pbr_version(self):
        result = self.python('import importlib.metadata as m; '
                             'print(m.version("sora"))')
        self.assertEqual(VERSION, result.stdout.strip())
        result = self.run_in_venv(['sora-scheduler', '--version'])
        self.assertEqual(VERSION, result.stdout.strip())

    def test_seed_session_memorybase(self):
        for _ in range(3):
            result = self.python(SEED_SESSION % 'memorybase')
            self.assertEqual('id3\n', result.stdout)

    def test_seed_session_randombase_returns_every_node(self):
        code = SEED_SESSION % 'randombase'
        code = code.replace('print(mgr.driver.scheduler(dt))',
                            'print(sorted({mgr.driver.scheduler(dt) '
                            'for _ in range(200)}))')
        result = self.python(code)
        self.assertEqual("['id1', 'id2', 'id3']\n", result.stdout)

    def test_command_on_shipped_config_and_example_hosts(self):
        etc = os.path.join(VENV.path, 'etc', 'sora')
        self.assertTrue(os.path.exists(os.path.join(etc, 'sora.conf.sample')))
        result = self.run_in_venv([
            'sora-scheduler', '--config-file', os.path.join(etc, 'sora.conf'),
            'select', '--hosts', os.path.join(etc, 'hosts.example.json'),
            '--memory-mb', '2048', '--label', 'zone=az2'])
        self.assertEqual('node-06\n', result.stdout)
        result = self.run_in_venv(['sora-scheduler', 'drivers'])
        self.assertRegex(result.stdout, rf'\*\s+memorybase\s+sora {VERSION}')

    def test_manager_embedded_by_another_service(self):
        result = self.python('''
            from oslo_config import cfg
            from sora.scheduler import manager
            conf = cfg.ConfigOpts()
            conf([], project='sora')
            mgr = manager.SchedulerManager(conf)
            print(mgr.driver_name, mgr.select_destinations(
                {'memory_mb': 100}, [{'id': 'a', 'memory_mb': 50},
                                     {'id': 'b', 'memory_mb': 150}]))
            ''')
        self.assertEqual("memorybase ['b']\n", result.stdout)

    def test_config_generator_finds_the_sora_namespace(self):
        result = self.run_in_venv(['oslo-config-generator', '--namespace',
                                   'sora'])
        self.assertIn('#scheduler_driver = memorybase', result.stdout)


class ThirdPartyPluginsTest(VenvTestCase):
    """sora-example-plugins, its own distribution, enabled by config only."""

    HOSTS = json.dumps([
        {'id': 'maint', 'memory_mb': 16000, 'memory_total_mb': 16384,
         'labels': {'maintenance': 'true'}},
        {'id': 'ssd', 'memory_mb': 6000, 'memory_total_mb': 8192,
         'labels': {'ssd': 'true'}},
        {'id': 'plain', 'memory_mb': 7000, 'memory_total_mb': 8192},
        {'id': 'tight', 'memory_mb': 1200, 'memory_total_mb': 8192},
    ])

    def select(self, conf_text):
        conf = self.write('plugins.conf', conf_text)
        hosts = self.write('hosts.json', self.HOSTS)
        result = self.run_in_venv(['sora-scheduler', '--config-file', conf,
                                   'select', '--hosts', hosts,
                                   '--memory-mb', '1024'])
        return result.stdout.strip()

    def test_decisions_change_as_documented(self):
        self.assertEqual('maint', self.select("""
            [DEFAULT]
            scheduler_driver = filter
            """))
        self.assertEqual('ssd', self.select("""
            [DEFAULT]
            scheduler_driver = filter
            [filter_scheduler]
            enabled_filters = enabled,memory,cpu,disk,no_maintenance,headroom
            weighers = memory,ssd
            [example_plugins]
            ssd_weight_multiplier = 2.0
            """))
        self.assertEqual('tight', self.select("""
            [DEFAULT]
            scheduler_driver = least_memory
            """))

    def test_listed_with_their_distribution(self):
        for command, name in (('drivers', 'least_memory'),
                              ('filters', 'headroom'),
                              ('filters', 'no_maintenance'),
                              ('weighers', 'ssd')):
            result = self.run_in_venv(['sora-scheduler', command])
            self.assertRegex(result.stdout, rf'\n\s+{name}\s+'
                                            r'sora-example-plugins 1.0.0')

    def test_example_package_tests_pass(self):
        result = self.run_in_venv(['python', '-m', 'unittest', 'discover',
                                   '-s', 'tests', '-t', '.'],
                                  cwd=VENV.examples)
        self.assertIn('OK', result.stderr)
