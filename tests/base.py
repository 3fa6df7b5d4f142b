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

import collections
import importlib
import io
import logging
import os
import sys
import textwrap

import fixtures
import hypothesis
from oslo_config import cfg
from oslotest import base
from stevedore import extension

from sora.cmd import scheduler

# Property and fuzz tests: a short, repeatable campaign by default; tox -e
# fuzz sets SORA_HYPOTHESIS_PROFILE=fuzz for a long, random one.
hypothesis.settings.register_profile(
    'default', max_examples=60, deadline=None, derandomize=True,
    database=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.register_profile(
    'fuzz', max_examples=3000, deadline=None, database=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile(
    os.environ.get('SORA_HYPOTHESIS_PROFILE', 'default'))


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


CommandResult = collections.namedtuple('CommandResult',
                                       'returncode stdout stderr')


class Clock:
    """A clock a test sets by hand (``clock.now += seconds``).

    :param now: its time at first (seconds).
    """

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


class Command(fixtures.Fixture):
    """Runs ``sora-scheduler`` in this process, through ``main(argv)``.

    ``HOME`` is an empty directory, so no ``~/.sora/sora.conf`` of the
    machine is read; what ``main`` changes in the process (the root
    logger's handlers and level, ``sys.excepthook``) is put back after
    each run.
    """

    def _setUp(self):
        self.home = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable('HOME', self.home))

    def __call__(self, *args, stdin='', stdout=True):
        """Return the CommandResult of ``sora-scheduler ARGS``.

        :param stdin: text for stdin, or None for a closed stdin.
        :param stdout: False for a closed stdout.
        """
        out, err = io.StringIO(), io.StringIO()
        if isinstance(stdin, str):
            stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()),
                                     encoding='utf-8')
        root = logging.getLogger()
        saved = root.handlers[:], root.level, sys.excepthook
        try:
            with fixtures.MonkeyPatch('sys.stdout', out if stdout else None), \
                    fixtures.MonkeyPatch('sys.stderr', err), \
                    fixtures.MonkeyPatch('sys.stdin', stdin):
                status = scheduler.main(list(args))
        finally:
            for handler in root.handlers:
                if handler not in saved[0]:
                    handler.close()
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
            sys.excepthook = saved[2]
        self.last = CommandResult(status, out.getvalue(), err.getvalue())
        return self.last


def random_hosts(rng, count):
    """Return *count* varied host mappings drawn from *rng*.

    Some hosts omit cpus or disk, some are disabled, labels and groups come
    from small vocabularies so that requests for them match some hosts.
    """
    hosts = []
    for n in range(count):
        total = rng.choice([1024, 4096, 16384])
        host = {'id': f'h{n:03d}', 'memory_mb': rng.randrange(0, total + 1),
                'memory_total_mb': total,
                'containers': rng.randrange(0, 12),
                'enabled': rng.random() > 0.1,
                'labels': {key: rng.choice(['a', 'b'])
                           for key in ('zone', 'ssd') if rng.random() > 0.3},
                'groups': rng.sample(['web', 'db', 'cache'],
                                     rng.randrange(0, 3))}
        if rng.random() > 0.2:
            host['cpus_total'] = rng.choice([2, 8])
            host['cpus'] = round(rng.uniform(0, host['cpus_total']), 2)
        if rng.random() > 0.2:
            host['disk_gb'] = rng.randrange(0, 500)
        hosts.append(host)
    return hosts


def random_request(rng, hosts=()):
    """Return a request mapping drawn from *rng* (host ids from *hosts*)."""
    request = {'memory_mb': rng.choice([0, 256, 1024, 4096]),
               'cpus': rng.choice([0, 0.5, 2]),
               'disk_gb': rng.choice([0, 10, 200]),
               'labels': {key: rng.choice(['a', 'b'])
                          for key in ('zone', 'ssd') if rng.random() > 0.6}}
    ids = [host['id'] for host in hosts]
    if ids and rng.random() > 0.7:
        request['same_host'] = rng.sample(ids, min(len(ids), 5))
    if ids and rng.random() > 0.7:
        request['different_host'] = rng.sample(ids, min(len(ids), 5))
    if rng.random() > 0.5:
        request['group'] = rng.choice(['web', 'db', 'cache', 'new'])
        request['group_policy'] = rng.choice(['affinity', 'anti-affinity'])
    return request
