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

"""The few etcd v3 calls the shared host store makes, over etcd's JSON gateway.

etcd answers ``POST /v3/<path>`` with JSON (keys and values in base64) on
its client URLs; this module speaks it with :mod:`requests` alone. It gives
every call a deadline across the endpoints (tried in turn), a session that
ignores ``HTTP(S)_PROXY`` (etcd is usually on loopback or a private
network), keys as UTF-8, and one error for "etcd did not answer" or
"refused": :class:`~sora.scheduler.exceptions.StoreUnavailable`, naming
the endpoints. It imports no etcd library: etcd3gw's futurist imports
eventlet, which leaves a thread that imports it unable to finish.
"""

import os
import ssl
import time
import urllib.parse

import requests
import urllib3

from sora.scheduler import exceptions
from sora.scheduler import metrics
from sora.scheduler.stores.etcd import lag
from sora.scheduler.stores.etcd import ops

PAGE = 10000
"""Keys read per range request when listing a prefix."""


class Unanswered(exceptions.StoreUnavailable):
    """A call not to be sent twice reached etcd, which did not answer.

    It may have been carried out: read what it would have changed.
    """


class Client:
    """etcd at one or more endpoints, every call bounded by *timeout*.

    :param endpoints: URLs such as ``http://127.0.0.1:2379``.
    :param timeout: seconds one call may take, across all endpoints.
    :param ca_file: CA bundle that signs etcd's certificate (https).
    :param cert_file: client certificate, with *key_file*.
    :param key_file: the client certificate's private key.
    :raises InvalidConfig: one of these files cannot be read or does not
        hold what it should (checked at once, not at the first call).
    :ivar metrics: the :class:`~sora.scheduler.metrics.Scope` its calls
        are counted in, by path.
    :ivar revisions: the :class:`~lag.Revisions` etcd's answers told of.
    """

    def __init__(self, endpoints, timeout, ca_file=None, cert_file=None,
                 key_file=None):
        _check_tls_files(ca_file, cert_file, key_file)
        self.endpoints = list(endpoints)
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        if ca_file:
            self._session.verify = ca_file
        if cert_file:
            self._session.cert = (cert_file, key_file)
        self._urls = [_api_url(url) for url in self.endpoints]
        self._first = 0  # the endpoint that answered last
        self.metrics = metrics.Scope()
        self.revisions = lag.Revisions()

    def close(self):
        """Close the connections."""
        self._session.close()

    def call(self, path, body, resend=True, deadline=None):
        """POST *body* to ``/v3/<path>`` and return the JSON answer.

        A call that failed (no connection, no answer in time, an HTTP 5xx)
        is sent again, to the next endpoint, until the timeout; one that
        must not be carried out twice (*resend* false) only if it surely
        did not reach etcd. Each endpoint of a round gets an equal share of
        the time left, so one that accepts connections but never answers
        (a frozen member) leaves time for the others; the next call starts
        with the endpoint after one that failed.

        :param deadline: when to give up (``time.monotonic()``); the
            timeout from now when omitted.
        :raises StoreUnavailable: no endpoint answered within the timeout;
            etcd refused the call (its message says why); or a server
            that is not etcd answered.
        :raises Unanswered: a call not to be sent again may have been
            carried out.
        """
        started = time.monotonic()
        try:
            answer = self._send(path, body, resend, deadline)
        except exceptions.StoreUnavailable:
            self.metrics.count(metrics.STORE_ERRORS, path)
            raise
        finally:
            self.metrics.observe(metrics.STORE_CALLS,
                                 time.monotonic() - started, path)
        self.revisions.seen(int(answer['header'].get('revision', 0)))
        return answer

    def _send(self, path, body, resend, deadline):
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        count = len(self._urls)
        first, tried, last = self._first, 0, None
        while tried < count or time.monotonic() < deadline:
            index = (first + tried) % count
            share = deadline - time.monotonic()
            if share <= 0:
                break
            share /= count - tried % count  # this round's endpoints left
            tried += 1
            try:
                response = self._session.post(
                    self._urls[index] + path, json=body,
                    timeout=(share, share))
                if response.status_code >= 500:  # another member may do
                    raise requests.HTTPError(_status(response),
                                             response=response)
            except requests.RequestException as error:
                last = error
                self._first = (index + 1) % count
                if not resend and not _unsent(error):
                    raise Unanswered(
                        f'etcd at {", ".join(self.endpoints)} did not '
                        f'answer {path}: {reason(error)}') from None
                if tried >= len(self._urls):
                    time.sleep(min(0.05, max(0, deadline - time.monotonic())))
                continue
            self._first = index
            return self._answer(index, path, response)
        raise exceptions.StoreUnavailable(
            f'etcd at {", ".join(self.endpoints)} did not answer within '
            f'{self.timeout:g} s: {reason(last)}')

    def _answer(self, index, path, response):
        # The JSON of an answer that is no 5xx: etcd's, with its header; or
        # an error of etcd's, saying why it refused the call.
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict) and \
                isinstance(answer.get('header'), dict):
            return answer
        refused = _etcd_error(response)
        if response.status_code != 200 and refused:
            kind = LeaseNotFound if answer['code'] == _NOT_FOUND else _Refused
            raise kind(f'etcd at {", ".join(self.endpoints)} refused '
                       f'{path}: {refused}', answer['code'])
        raise exceptions.StoreUnavailable(
            f'{self.endpoints[index]} answered /v3/{path} but not as '
            f"etcd's v3 JSON gateway ({_status(response)}, "
            f'{response.headers.get("Content-Type") or "no Content-Type"})')

    def header(self, deadline=None):
        """Return ``(cluster_id, revision)``, as ints, of the etcd answering.

        *deadline* as for :meth:`call`.
        """
        header = self.call('kv/range', {'key': ops.encode('\0'),
                                        'count_only': True},
                           deadline=deadline)['header']
        return int(header.get('cluster_id', 0)), int(header['revision'])

    def range(self, key, end=None, deadline=None):
        """Return ``(revision, [ops.KeyValue])`` of the keys in [*key*, *end*).

        *end* defaults to :func:`prefix_end` of *key*: every key that
        starts with it. Read in pages, all at the revision of the first.
        *deadline* as for :meth:`call`, for each page.
        """
        body = {'key': ops.encode(key),
                'range_end': ops.encode(end or ops.prefix_end(key)),
                'limit': PAGE}
        answer = self.call('kv/range', body, deadline=deadline)
        revision = int(answer['header']['revision'])
        found = [ops.key_value(item) for item in answer.get('kvs', ())]
        while answer.get('more'):
            body = dict(body, revision=revision,
                        key=ops.encode(found[-1].key + '\0'))
            answer = self.call('kv/range', body, deadline=deadline)
            found += [ops.key_value(item) for item in answer.get('kvs', ())]
        return revision, found

    def txn(self, compare, success, failure=(), resend=True, deadline=None):
        """Run one transaction; return ``(succeeded, revision, found)``.

        *found* has, for each operation of the branch that ran, the
        ``[KeyValue]`` an :func:`ops.read` found (``None`` for others).
        *resend* as for :meth:`call`: a transaction sent again after its
        answer was lost runs its compare on what it did the first time.
        *deadline* as for :meth:`call`.
        """
        answer = self.call('kv/txn', {'compare': list(compare),
                                      'success': list(success),
                                      'failure': list(failure)}, resend,
                           deadline)
        found = [[ops.key_value(kv) for kv in item['response_range'].get(
                     'kvs', ())] if 'response_range' in item else None
                 for item in answer.get('responses', ())]
        return (bool(answer.get('succeeded')),
                int(answer['header']['revision']), found)

    def delete(self, prefix):
        """Delete every key that starts with *prefix*."""
        self.call('kv/deleterange', {
            'key': ops.encode(prefix),
            'range_end': ops.encode(ops.prefix_end(prefix))})

    def grant(self, ttl):
        """Return the id of a new lease of *ttl* seconds."""
        return int(self.call('lease/grant', {'TTL': str(ttl)})['ID'])

    def revoke(self, lease):
        """End *lease*, deleting its keys; one etcd no longer knows is too."""
        try:
            self.call('lease/revoke', {'ID': str(lease)})
        except LeaseNotFound:
            pass

    def stream(self, body, idle):
        """POST *body* to ``/v3/watch``; return the streamed response.

        The endpoint that answered last holds the watch; if it cannot, the
        next one is tried the next time.

        :raises StoreUnavailable: no stream could be opened.
        """
        index = self._first
        try:
            response = self._session.post(
                self._urls[index] + 'watch', json=body, stream=True,
                timeout=(self.timeout, idle))
            response.raise_for_status()
        except requests.RequestException as error:
            self._first = (index + 1) % len(self._urls)
            self.metrics.count(metrics.STORE_ERRORS, 'watch')
            raise exceptions.StoreUnavailable(
                f'etcd at {", ".join(self.endpoints)} did not start a '
                f'watch: {reason(error)}') from None
        return response


class _Refused(exceptions.StoreUnavailable):
    # etcd refused a call; code is the gRPC status code it gave.

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class LeaseNotFound(_Refused):
    """A call named a lease etcd does not know: grant another.

    It expired, was revoked, or etcd lost it (restarted empty).
    """


_NOT_FOUND = 5  # gRPC's code for etcd's "requested lease not found"


def _api_url(endpoint):
    # http(s)://HOST:PORT/v3/ of an endpoint; etcd's port 2379 if it has
    # none.
    url = urllib.parse.urlsplit(endpoint)
    host = f'[{url.hostname}]' if ':' in url.hostname else url.hostname
    return f'{url.scheme}://{host}:{url.port or 2379}/v3/'


def _etcd_error(response):
    # etcd's message if *response* is one of its errors, {"code": <a gRPC
    # status code>, "message": ...}; else None.
    try:
        answer = response.json()
        code, message = answer['code'], answer['message']
    except (ValueError, TypeError, KeyError):
        return None
    if type(code) is int and 0 < code <= 16 and isinstance(message, str):
        return message or f'gRPC status code {code}'
    return None


def _status(response):
    # "HTTP 503 Service Unavailable", and etcd's message if it gave one.
    status = f'HTTP {response.status_code} {response.reason}'
    return ': '.join(filter(None, (status, _etcd_error(response))))


def _check_tls_files(ca_file, cert_file, key_file):
    # requests reads these at each new connection: a mistake in them is a
    # configuration error to say now, not an outage to wait out. A
    # directory as ca_file holds CAs, as for requests.
    if key_file and not cert_file:
        raise exceptions.InvalidConfig(
            f'[etcd] key_file {key_file}: set without cert_file')
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    key = (f'of the certificate in {cert_file}' if key_file else
           'of its certificate, and key_file is not set')
    for option, path, holds, load in (
            ('ca_file', ca_file, 'PEM certificate',
             context.load_verify_locations),
            ('cert_file', cert_file, 'PEM certificate',
             context.load_verify_locations),
            ('key_file' if key_file else 'cert_file', key_file or cert_file,
             f'unencrypted PEM private key {key}',  # b'': no prompt
             lambda _: context.load_cert_chain(cert_file, key_file, b''))):
        if not path or option == 'ca_file' and os.path.isdir(path):
            continue
        try:
            load(path)
        except ssl.SSLError as error:
            raise exceptions.InvalidConfig(
                f'[etcd] {option} {path}: it holds no {holds}' +
                (f' ({error.reason})' if error.reason else '')) from None
        except OSError as error:
            raise exceptions.InvalidConfig(
                f'[etcd] {option} {path}: {error.strerror or error}'
            ) from None


TIMEOUTS = (TimeoutError, urllib3.exceptions.ReadTimeoutError)
_UNSENT = (requests.ConnectTimeout, urllib3.exceptions.NewConnectionError,
           ConnectionRefusedError)


def causes(error):
    # The error and those under it: requests wraps urllib3's, which wrap
    # the socket's.
    seen, todo = set(), [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [item for item in (
            current.__cause__, current.__context__,
            getattr(current, 'reason', None),
            *getattr(current, 'args', ())) if isinstance(item, BaseException)]


def _unsent(error):
    # Whether the request surely never reached etcd: no connection was made.
    return any(isinstance(cause, _UNSENT) for cause in causes(error))


def reason(error):
    # The socket error under the layers ("Connection refused", "timed
    # out") says it best.
    if error is None:
        return 'no endpoint tried'
    found = None
    for cause in causes(error):
        if isinstance(cause, OSError) and (
                cause.strerror or isinstance(cause, TimeoutError)) and \
                not isinstance(cause, requests.RequestException):
            found = cause
    if found is not None:
        return found.strerror or 'timed out'
    return str(error)
