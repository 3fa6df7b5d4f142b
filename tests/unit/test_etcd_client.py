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

"""The etcd calls of the shared store, against a real etcd."""

import socket
import subprocess
import sys
import threading
import time

from sora.scheduler import etcd_client
from sora.scheduler import exceptions
from tests import base
from tests import etcd


class EtcdClientTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.etcd = self.useFixture(etcd.EtcdPrefix())
        self.client = self.etcd.client
        self.prefix = self.etcd.prefix

    def test_transactions_compare_revisions(self):
        key = f'{self.prefix}/hosts/é/1'
        ok, revision, _ = self.client.txn([etcd_client.absent(key)],
                                          [etcd_client.put(key, b'one')])
        self.assertTrue(ok)
        ok, _, found = self.client.txn(
            [etcd_client.absent(key)], [etcd_client.put(key, b'two')],
            [etcd_client.read(key), etcd_client.read(key + 'x')])
        self.assertFalse(ok)
        self.assertEqual([[(key, b'', revision, revision, 0)], []], found)
        ok, _, _ = self.client.txn(
            [etcd_client.present(key),
             etcd_client.unchanged_since(key, revision),
             etcd_client.created_at(key, revision)],
            [etcd_client.put(key, b'three')])
        self.assertTrue(ok)
        ok, _, _ = self.client.txn(
            [etcd_client.unchanged_since(key, revision)],
            [etcd_client.put(key, b'four')])
        self.assertFalse(ok)
        _, [found] = self.client.range(self.prefix)
        self.assertEqual((key, b'three'), (found.key, found.value))

    def test_range_reads_every_page_at_one_revision(self):
        self.patch(etcd_client, 'PAGE', 3)
        keys = [f'{self.prefix}/k{n:02d}' for n in range(10)]
        for key in keys:
            self.client.txn([], [etcd_client.put(key, key.encode())])
        revision, found = self.client.range(self.prefix + '/')
        self.assertEqual(keys, [kv.key for kv in found])
        self.assertEqual(revision, max(kv.mod_revision for kv in found))

    def test_watch_sees_puts_and_deletes_then_closes(self):
        revision, _ = self.client.range(self.prefix)
        watch = self.client.watch(self.prefix + '/', revision + 1)
        seen = []
        thread = threading.Thread(target=lambda: seen.extend(
            event for events in watch for event in events))
        thread.start()
        self.client.txn([], [etcd_client.put(self.prefix + '/a', b'1')])
        self.client.txn([], [etcd_client.delete(self.prefix + '/a')])
        self.client.txn([], [etcd_client.put(self.prefix + 'x', b'1')])
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        watch.close()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertEqual([(False, self.prefix + '/a', b'1'),
                          (True, self.prefix + '/a', b'')],
                         [(e.deleted, e.kv.key, e.kv.value) for e in seen])

    def test_a_watch_from_a_compacted_revision_says_so(self):
        for value in (b'1', b'2'):
            _, revision, _ = self.client.txn(
                [], [etcd_client.put(self.prefix + '/c', value)])
        self.client.call('kv/compaction', {'revision': str(revision)})
        watch = self.client.watch(self.prefix + '/', revision - 1)
        error = self.assertRaises(etcd_client.Compacted, list, watch)
        self.assertIsInstance(error, exceptions.StoreUnavailable)

    def test_proxy_settings_are_ignored(self):
        self.useFixture(base.fixtures.EnvironmentVariable(
            'HTTP_PROXY', 'http://127.0.0.1:9'))
        self.useFixture(base.fixtures.EnvironmentVariable(
            'NO_PROXY', 'nothing'))
        client = etcd_client.Client([self.etcd.endpoint], 5.0)
        self.addCleanup(client.close)
        self.assertEqual([], client.range(self.prefix + '/none/')[1])


class ImportTest(base.TestCase):

    def test_importing_the_client_prints_nothing(self):
        # etcd3gw -> futurist -> eventlet (installed with oslo.service),
        # which warns on import.
        result = subprocess.run(
            [sys.executable, '-c', 'import sora.scheduler.etcd_client'],
            capture_output=True, text=True, timeout=60)
        self.assertEqual((0, ''), (result.returncode, result.stderr))


class UnreachableEtcdTest(base.TestCase):

    def assertFailsWithin(self, endpoints, seconds, reason):
        client = etcd_client.Client(endpoints, seconds)
        start = time.monotonic()
        error = self.assertRaises(exceptions.StoreUnavailable, client.range,
                                  '/sora')
        self.assertLess(time.monotonic() - start, seconds + 0.5)
        self.assertEqual(f'etcd at {", ".join(endpoints)} did not answer '
                         f'within {seconds:g} s: {reason}', str(error))

    def silent_endpoint(self):
        """The URL of a server that accepts connections and never answers."""
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(('127.0.0.1', 0))
        silent.listen(8)
        return f'http://127.0.0.1:{silent.getsockname()[1]}'

    def test_nothing_listening(self):
        self.assertFailsWithin(['http://127.0.0.1:1'], 0.5,
                               'Connection refused')

    def test_a_server_that_never_answers(self):
        endpoint = self.silent_endpoint()
        self.assertFailsWithin([endpoint], 0.5, 'timed out')

    def test_a_call_not_to_repeat_is_sent_again_only_if_never_sent(self):
        endpoint = self.silent_endpoint()
        client = etcd_client.Client(['http://127.0.0.1:1', endpoint], 0.5)
        self.addCleanup(client.close)
        error = self.assertRaises(etcd_client.Unanswered, client.txn, [],
                                  [], resend=False)
        self.assertEqual(f'etcd at http://127.0.0.1:1, {endpoint} did not '
                         'answer kv/txn: timed out', str(error))
        client = etcd_client.Client(['http://127.0.0.1:1'], 0.5)
        self.addCleanup(client.close)
        error = self.assertRaises(exceptions.StoreUnavailable, client.txn,
                                  [], [], resend=False)
        self.assertNotIsInstance(error, etcd_client.Unanswered)

    def test_a_frozen_endpoint_leaves_time_for_the_next(self):
        # It accepts connections and never answers: each endpoint of a
        # round gets its share of the timeout, and the next call starts
        # with the one that answered.
        endpoint = etcd.shared_endpoint()
        client = etcd_client.Client([self.silent_endpoint(), endpoint], 2.0)
        self.addCleanup(client.close)
        for bound in (1.5, 0.5):
            start = time.monotonic()
            revision, _ = client.range('/sora-test-none/')
            self.assertLess(time.monotonic() - start, bound)
            self.assertGreater(revision, 0)

    def test_the_next_endpoint_answers(self):
        endpoint = etcd.shared_endpoint()
        client = etcd_client.Client(['http://127.0.0.1:1', endpoint], 5.0)
        self.addCleanup(client.close)
        revision, _ = client.range('/sora-test-none/')
        self.assertGreater(revision, 0)
