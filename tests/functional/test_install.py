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


class InstalledPackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='sora-functional-')
        source = os.path.join(cls.tmp, 'source')
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
            '.git', '.tox', '*.egg-info', 'build', 'dist', '__pycache__',
            '.venv', '.stestr', 'cover'))
        cls.venv = os.path.join(cls.tmp, 'venv')
        subprocess.run([sys.executable, '-m', 'venv', cls.venv], check=True)
        cls.bin = os.path.join(cls.venv, 'bin')
        cls.env = dict(os.environ, PBR_VERSION=VERSION,
                       HOME=os.path.join(cls.tmp, 'home'),
                       XDG_CACHE_HOME=os.path.join(cls.tmp, 'cache'),
                       PIP_CACHE_DIR=os.environ.get(
                           'PIP_CACHE_DIR',
                           os.path.expanduser('~/.cache/pip')))
        cls.env.pop('PYTHONPATH', None)
        os.mkdir(cls.env['HOME'])
        cls.run_in_venv(['pip', 'install', '--quiet', source])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def run_in_venv(cls, argv, **kwargs):
        argv = [os.path.join(cls.bin, argv[0])] + argv[1:]
        result = subprocess.run(argv, capture_output=True, text=True,
                                env=cls.env, cwd=cls.tmp, timeout=600,
                                **kwargs)
        if result.returncode:
            raise AssertionError(f'{argv} failed ({result.returncode}):\n'
                                 f'{result.stdout}\n{result.stderr}')
        return result

    def python(self, code):
        return self.run_in_venv(['python', '-c', textwrap.dedent(code)])

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
        etc = os.path.join(self.venv, 'etc', 'sora')
        self.assertTrue(os.path.exists(os.path.join(etc, 'sora.conf.sample')))
        result = self.run_in_venv([
            'sora-scheduler', '--config-file', os.path.join(etc, 'sora.conf'),
            'select', '--hosts', os.path.join(etc, 'hosts.example.json'),
            '--memory-mb', '2048', '--label', 'zone=az2'])
        self.assertEqual('node-06\n', result.stdout)
        result = self.run_in_venv(['sora-scheduler', 'drivers'])
        self.assertIn(f'memorybase  sora {VERSION}', result.stdout)

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
