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

"""Real etcd servers for the tests of the shared host store.

``SORA_TEST_ETCD`` names a running etcd (``.ci/run`` starts one on
loopback); without it, the tests start their own from the ``etcd`` binary
(Debian's ``etcd-server``) and skip, saying so, only when there is none.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
import uuid

import fixtures

from sora.scheduler.stores.etcd import client as etcd_client


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


# The machine's temporary directory: oslotest points tempfile at one of
# each test's own, removed when the test ends.
_TMP = tempfile.gettempdir()


class EtcdServer(fixtures.Fixture):
    """An etcd of its own on loopback, in a temporary data directory.

    :meth:`stop` and :meth:`start` stop it (by its PID) and start it again
    on the same ports and data, for outage tests.

    :param rootdir: where its data directory goes; the test's temporary
        directory when omitted (an etcd that outlives the test needs
        another: etcd dies when its data directory goes).
    """

    def __init__(self, rootdir=None):
        super().__init__()
        self.rootdir = rootdir

    def _setUp(self):
        self.binary = shutil.which('etcd')
        if self.binary is None:
            raise unittest.SkipTest(
                'no etcd binary on PATH: install Debian\'s etcd-server '
                '(.ci/run does) to run the etcd store tests')
        self.data = self.useFixture(fixtures.TempDir(self.rootdir)).path
        self.client_port, self.peer_port = _free_port(), _free_port()
        self.endpoint = f'http://127.0.0.1:{self.client_port}'
        self.process = None
        self.start()
        self.addCleanup(self.stop)

    def start(self):
        """Start etcd and wait until it answers."""
        peer = f'http://127.0.0.1:{self.peer_port}'
        self.log = open(os.path.join(self.data, 'etcd.log'), 'ab')
        self.process = subprocess.Popen(
            [self.binary, '--name', 'sora-test',
             '--data-dir', os.path.join(self.data, 'data'),
             '--listen-client-urls', self.endpoint,
             '--advertise-client-urls', self.endpoint,
             '--listen-peer-urls', peer,
             '--initial-advertise-peer-urls', peer,
             '--initial-cluster', f'sora-test={peer}'],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_healthy(self.endpoint)

    def freeze(self):
        """Stop etcd's process (SIGSTOP): connections open, no answers."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self):
        """Let a frozen etcd go on (SIGCONT)."""
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        """Stop etcd (SIGTERM, then SIGKILL) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()


def wait_until_healthy(endpoint, timeout=30):
    """Wait until the etcd at *endpoint* says it is healthy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(f'{endpoint}/health', timeout=1) as answer:
                if b'true' in answer.read():
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f'etcd at {endpoint} did not start')
        time.sleep(0.1)


_shared = {}


def shared_endpoint():
    """The endpoint of an etcd the tests of this process share."""
    if os.environ.get('SORA_TEST_ETCD'):
        return os.environ['SORA_TEST_ETCD']
    if 'server' not in _shared:
        server = EtcdServer(rootdir=_TMP)
        server.setUp()  # stopped when the test process exits
        atexit.register(server.cleanUp)
        _shared['server'] = server
    return _shared['server'].endpoint


class EtcdPrefix(fixtures.Fixture):
    """A fresh key prefix on the shared etcd, deleted after the test.

    :ivar endpoint: the etcd URL.
    :ivar prefix: ``/sora-test-<uuid>``.
    :ivar client: an :class:`~sora.scheduler.stores.etcd.client.Client` for it.
    """

    def _setUp(self):
        self.endpoint = shared_endpoint()
        self.prefix = f'/sora-test-{uuid.uuid4().hex}'
        self.client = etcd_client.Client([self.endpoint], 5.0)
        self.addCleanup(self.client.close)
        self.addCleanup(self.client.delete, self.prefix)
