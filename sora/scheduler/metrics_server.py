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

"""Serving ``/metrics`` at ``[metrics] bind``: one server per address.

The managers of one process that name the same address share its server,
which serves the default registry (every manager's series) and stops when
the last of them closes.
"""

import socket
import socketserver
import threading
from wsgiref import simple_server

from oslo_log import log as logging
import prometheus_client

from sora.conf import diagnosis
from sora.conf import metrics as metrics_conf
from sora.scheduler import exceptions

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_servers = {}  # {(host, port): [_Server, its thread, how many users]}


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True

    def server_bind(self):
        # HTTPServer's would look the host's name up in DNS: not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        LOG.debug('metrics: ' + format, *args)


def start(conf):
    """Serve /metrics at *conf*'s ``[metrics] bind``; return a closer.

    :returns: a function that stops serving for this caller (the server
        stops with its last caller), or None when ``bind`` is empty.
    :raises InvalidConfig: the address cannot be resolved or listened on
        (a port in use, say).
    """
    bind = conf.metrics.bind
    if not bind:
        return None
    host, port = metrics_conf.split(bind)
    with _lock:
        if (host, port) not in _servers:
            server = _listen(conf, host, port)
            thread = threading.Thread(target=server.serve_forever,
                                      name='sora-metrics', daemon=True)
            thread.start()
            _servers[host, port] = [server, thread, 0]
            LOG.info('Serving metrics at http://%s/metrics', bind)
        _servers[host, port][2] += 1
    return lambda: _stop(host, port)


def check(conf):
    """Return what ``[metrics] bind`` serves, listening there a moment.

    :raises InvalidConfig: as :func:`start` would.
    """
    bind = conf.metrics.bind
    if not bind:
        return ('off: [metrics] bind is empty (a service exposing the '
                'default registry exposes the metrics)')
    host, port = metrics_conf.split(bind)
    with _lock:
        if (host, port) not in _servers:
            _listen(conf, host, port).server_close()
    return f'serves http://{bind}/metrics (the address is free)'


def _listen(conf, host, port):
    where = diagnosis.setting(conf, metrics_conf.GROUP, 'bind')
    try:
        family = socket.getaddrinfo(host or None, port,
                                    type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
    except OSError as error:
        raise exceptions.InvalidConfig(
            f'{where}: cannot resolve {host!r}: {error}') from None
    server_class = type('Server', (_Server,), {'address_family': family})
    try:
        return simple_server.make_server(
            host, port, prometheus_client.make_wsgi_app(), server_class,
            _QuietHandler)
    except OSError as error:
        raise exceptions.InvalidConfig(
            f'{where}: cannot serve metrics at {host or "every address"} '
            f'port {port}: {error.strerror or error}') from None


def _stop(host, port):
    with _lock:
        entry = _servers[host, port]
        entry[2] -= 1
        if entry[2]:
            return
        del _servers[host, port]
    server, thread, _ = entry
    server.shutdown()
    server.server_close()
    thread.join()
