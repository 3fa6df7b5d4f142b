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

import http.server
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time

from sora.scheduler import exceptions
from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import watch as etcd_watch
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
        ok, revision, _ = self.client.txn([ops.absent(key)],
                                          [ops.put(key, b'one')])
        self.assertTrue(ok)
        ok, _, found = self.client.txn(
            [ops.absent(key)], [ops.put(key, b'two')],
            [ops.read(key), ops.read(key + 'x')])
        self.assertFalse(ok)
        self.assertEqual([[(key, b'', revision, revision, 0)], []], found)
        ok, _, _ = self.client.txn(
            [ops.present(key),
             ops.unchanged_since(key, revision),
             ops.created_at(key, revision)],
            [ops.put(key, b'three')])
        self.assertTrue(ok)
        ok, _, _ = self.client.txn(
            [ops.unchanged_since(key, revision)],
            [ops.put(key, b'four')])
        self.assertFalse(ok)
        _, [found] = self.client.range(self.prefix)
        self.assertEqual((key, b'three'), (found.key, found.value))

    def test_range_reads_every_page_at_one_revision(self):
        self.patch(etcd_client, 'PAGE', 3)
        keys = [f'{self.prefix}/k{n:02d}' for n in range(10)]
        for key in keys:
            self.client.txn([], [ops.put(key, key.encode())])
        revision, found = self.client.range(self.prefix + '/')
        self.assertEqual(keys, [kv.key for kv in found])
        self.assertEqual(revision, max(kv.mod_revision for kv in found))

    def test_watch_sees_puts_and_deletes_then_closes(self):
        revision, _ = self.client.range(self.prefix)
        watch = etcd_watch.Watch(self.client, self.prefix + '/',
                                 revision + 1)
        seen = []
        thread = threading.Thread(target=lambda: seen.extend(
            event for events in watch for event in events))
        thread.start()
        self.client.txn([], [ops.put(self.prefix + '/a', b'1')])
        self.client.txn([], [ops.delete(self.prefix + '/a')])
        self.client.txn([], [ops.put(self.prefix + 'x', b'1')])
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
                [], [ops.put(self.prefix + '/c', value)])
        self.client.call('kv/compaction', {'revision': str(revision)})
        watch = etcd_watch.Watch(self.client, self.prefix + '/',
                                 revision - 1)
        error = self.assertRaises(etcd_watch.HistoryLost, list, watch)
        self.assertIsInstance(error, exceptions.StoreUnavailable)

    def test_proxy_settings_are_ignored(self):
        self.useFixture(base.fixtures.EnvironmentVariable(
            'HTTP_PROXY', 'http://127.0.0.1:9'))
        self.useFixture(base.fixtures.EnvironmentVariable(
            'NO_PROXY', 'nothing'))
        client = etcd_client.Client([self.etcd.endpoint], 5.0)
        self.addCleanup(client.close)
        self.assertEqual([], client.range(self.prefix + '/none/')[1])

    def test_header_names_the_cluster_and_its_revision(self):
        cluster, before = self.client.header()
        _, written, _ = self.client.txn(
            [], [ops.put(self.prefix + '/h', b'1')])
        self.assertGreater(cluster, 0)
        self.assertGreaterEqual(written, before)
        # Other test processes may share this etcd: later, not equal.
        self.assertEqual(cluster, self.client.header()[0])
        self.assertGreaterEqual(self.client.header()[1], written)

    def test_revoking_a_lease_deletes_its_keys_and_may_be_repeated(self):
        lease = self.client.grant(60)
        self.client.txn([], [ops.put(self.prefix + '/l', b'1', lease)])
        self.assertEqual(lease, self.client.range(self.prefix)[1][0].lease)
        self.client.revoke(lease)
        self.assertEqual([], self.client.range(self.prefix)[1])
        self.client.revoke(lease)  # etcd no longer knows it: no error

    def test_what_etcd_refuses_is_said_at_once_in_its_words(self):
        start = time.monotonic()
        error = self.assertRaises(
            exceptions.StoreUnavailable, self.client.txn, [],
            [ops.put(f'{self.prefix}/{n}', b'') for n in range(200)])
        self.assertLess(time.monotonic() - start, 1)
        self.assertEqual(f'etcd at {self.etcd.endpoint} refused kv/txn: '
                         'etcdserver: too many operations in txn request',
                         str(error))


class ImportTest(base.TestCase):

    def test_importing_the_client_prints_nothing(self):
        # Nothing it imports may warn on import (eventlet does, and came
        # through etcd3gw and futurist).
        result = subprocess.run(
            [sys.executable, '-c', 'import sora.scheduler.stores.etcd.client'],
            capture_output=True, text=True, timeout=60)
        self.assertEqual((0, ''), (result.returncode, result.stderr))

    def test_a_store_built_in_a_thread_imports_no_eventlet(self):
        # eventlet, imported outside the main thread, leaves that thread
        # unable to finish; every OpenStack service has it installed.
        self.assertIsNotNone(
            importlib.util.find_spec('eventlet'),
            'eventlet must be installed (oslo.service brings it) for this '
            'test to mean anything')
        prefix = self.useFixture(etcd.EtcdPrefix())
        conf = self.write_file('sora.conf', f"""\
            [scheduler]
            host_store = etcd
            [etcd]
            endpoints = {prefix.endpoint}
            prefix = {prefix.prefix}
            """)
        script = textwrap.dedent('''\
            import os
            import sys
            import threading

            def build():
                from oslo_config import cfg
                from sora.scheduler.stores.etcd import store as etcd_store
                conf = cfg.ConfigOpts()
                conf(['--config-file', sys.argv[1]], project='sora',
                     default_config_files=[], default_config_dirs=[])
                store = etcd_store.EtcdHostStore(conf)
                store.hosts()
                store.close()

            thread = threading.Thread(target=build, daemon=True)
            thread.start()
            thread.join(20)
            print(thread.is_alive(), 'eventlet' in sys.modules, flush=True)
            os._exit(0)  # not waiting for a thread that cannot end
            ''')
        result = subprocess.run([sys.executable, '-c', script, conf],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(('False False\n', ''),
                         (result.stdout, result.stderr))


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

    def http_server(self, status, body, content_type):
        """The URL of an HTTP server answering every POST alike."""
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers['Content-Length']))
                self.send_response(status)
                self.send_header('Content-Type', content_type)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return f'http://127.0.0.1:{server.server_address[1]}'

    def test_a_server_that_is_not_etcd_is_named_at_once(self):
        for status, body, content_type, said in (
                (404, b'<html>Not here</html>', 'text/html',
                 'HTTP 404 Not Found, text/html'),
                (200, b'<html>Welcome</html>', 'text/html',
                 'HTTP 200 OK, text/html'),
                (200, b'{"kvs": []}', 'application/json',
                 'HTTP 200 OK, application/json'),
                (400, b'{"code": 400, "message": "no"}', 'application/json',
                 'HTTP 400 Bad Request, application/json')):
            with self.subTest(status=status, body=body):
                endpoint = self.http_server(status, body, content_type)
                client = etcd_client.Client([endpoint], 5.0)
                self.addCleanup(client.close)
                start = time.monotonic()
                error = self.assertRaises(exceptions.StoreUnavailable,
                                          client.range, '/sora/')
                self.assertLess(time.monotonic() - start, 1)
                self.assertEqual(
                    f'{endpoint} answered /v3/kv/range but not as etcd\'s '
                    f'v3 JSON gateway ({said})', str(error))

    def test_an_http_5xx_goes_to_the_next_endpoint(self):
        failing = self.http_server(
            503, b'{"error": "etcdserver: no leader", "code": 14, '
                 b'"message": "etcdserver: no leader"}', 'application/json')
        client = etcd_client.Client([failing, etcd.shared_endpoint()], 5.0)
        self.addCleanup(client.close)
        self.assertGreater(client.range('/sora-test-none/')[0], 0)
        self.assertFailsWithin([failing], 0.5, 'HTTP 503 Service '
                               'Unavailable: etcdserver: no leader')
        client = etcd_client.Client([failing], 0.5)
        self.addCleanup(client.close)
        error = self.assertRaises(etcd_client.Unanswered, client.txn, [],
                                  [], resend=False)
        self.assertEqual(f'etcd at {failing} did not answer kv/txn: HTTP 503 '
                         'Service Unavailable: etcdserver: no leader',
                         str(error))


class TLSFilesTest(base.TestCase):
    """Unusable TLS files are a configuration error, said at once."""

    def setUp(self):
        super().setUp()
        openssl = shutil.which('openssl')
        if openssl is None:
            self.skipTest('no openssl command to make certificates with')
        self.dir = self.useFixture(base.fixtures.TempDir()).path
        for name in ('one', 'two'):
            subprocess.run(
                [openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
                 '-subj', f'/CN={name}', '-keyout', self.path(f'{name}.key'),
                 '-out', self.path(f'{name}.pem')],
                check=True, capture_output=True)
        with open(self.path('garbage.pem'), 'w') as garbage:
            garbage.write('not a certificate\n')

    def path(self, name):
        return os.path.join(self.dir, name)

    def assertInvalid(self, message, ca_file=None, cert_file=None,
                      key_file=None):
        start = time.monotonic()
        error = self.assertRaises(
            exceptions.InvalidConfig, etcd_client.Client,
            ['https://127.0.0.1:1'], 5.0, ca_file and self.path(ca_file),
            cert_file and self.path(cert_file),
            key_file and self.path(key_file))
        self.assertLess(time.monotonic() - start, 1)
        self.assertEqual(message.format(dir=self.dir), str(error))

    def test_a_ca_file_missing_or_not_a_certificate(self):
        self.assertInvalid('[etcd] ca_file {dir}/nosuch.pem: No such file or '
                           'directory', ca_file='nosuch.pem')
        self.assertInvalid('[etcd] ca_file {dir}/garbage.pem: it holds no PEM '
                           'certificate (NO_CERTIFICATE_OR_CRL_FOUND)',
                           ca_file='garbage.pem')
        self.assertInvalid('[etcd] ca_file {dir}/one.key: it holds no PEM '
                           'certificate (NO_CERTIFICATE_OR_CRL_FOUND)',
                           ca_file='one.key')

    def test_a_client_certificate_or_key_that_does_not_fit(self):
        self.assertInvalid('[etcd] cert_file {dir}/garbage.pem: it holds no '
                           'PEM certificate (NO_CERTIFICATE_OR_CRL_FOUND)',
                           cert_file='garbage.pem', key_file='one.key')
        self.assertInvalid('[etcd] key_file {dir}/two.key: it holds no '
                           'unencrypted PEM private key of the certificate '
                           'in {dir}/one.pem (KEY_VALUES_MISMATCH)',
                           cert_file='one.pem', key_file='two.key')
        self.assertInvalid('[etcd] key_file {dir}/garbage.pem: it holds no '
                           'unencrypted PEM private key of the certificate '
                           'in {dir}/one.pem', cert_file='one.pem',
                           key_file='garbage.pem')
        self.assertInvalid('[etcd] cert_file {dir}/one.pem: it holds no '
                           'unencrypted PEM private key of its certificate, '
                           'and key_file is not set', cert_file='one.pem')
        self.assertInvalid('[etcd] key_file {dir}/one.key: set without '
                           'cert_file', key_file='one.key')

    def test_files_that_fit_are_taken(self):
        with open(self.path('both.pem'), 'w') as both:
            for name in ('one.key', 'one.pem'):
                with open(self.path(name)) as part:
                    both.write(part.read())
        for files in (('one.pem', 'one.pem', 'one.key'),
                      (self.dir, 'both.pem', None)):
            client = etcd_client.Client(
                ['https://127.0.0.1:1'], 5.0,
                *(name and self.path(name) for name in files))
            client.close()

    def test_the_command_says_it_in_one_line(self):
        conf = self.write_file('sora.conf', f"""\
            [scheduler]
            host_store = etcd
            [etcd]
            endpoints = https://127.0.0.1:1
            ca_file = {self.path('garbage.pem')}
            """)
        result = self.useFixture(base.Command())(
            '--config-file', conf, 'hosts')
        self.assertEqual(
            (2, '', f'sora-scheduler: error: [etcd] ca_file '
                    f'{self.path("garbage.pem")}: it holds no PEM '
                    'certificate (NO_CERTIFICATE_OR_CRL_FOUND)\n'),
            result)
