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

"""etcd v3 transaction operations, comparisons and keys, as JSON.

What :meth:`~sora.scheduler.stores.etcd.client.Client.txn` sends: keys are
text (bytes that are not UTF-8 travel as lone surrogates), base64 on the
wire.
"""

import base64
import collections

KeyValue = collections.namedtuple(
    'KeyValue', 'key value mod_revision create_revision lease')
"""One key: ``key`` (str; bytes that are not UTF-8 as lone surrogates),
``value`` (bytes), its revisions and lease."""


def encode(key):
    # Keys are text; bytes that are not UTF-8 (a key some other program
    # wrote, or the end of a range) travel as lone surrogates.
    return base64.b64encode(key.encode('utf-8', 'surrogateescape')).decode(
        'ascii')


def decode(data):
    return base64.b64decode(data or '')


def prefix_end(prefix):
    """Return the first key after every key that starts with *prefix*."""
    raw = bytearray(prefix.encode('utf-8'))
    raw[-1] += 1
    return raw.decode('utf-8', 'surrogateescape')


def key_value(item):
    return KeyValue(decode(item['key']).decode('utf-8', 'surrogateescape'),
                    decode(item.get('value')),
                    int(item.get('mod_revision', 0)),
                    int(item.get('create_revision', 0)),
                    int(item.get('lease', 0)))


def put(key, value, lease=0):
    """Return a transaction operation that sets *key* to *value* (bytes)."""
    request = {'key': encode(key),
               'value': base64.b64encode(value).decode('ascii')}
    if lease:
        request['lease'] = str(lease)
    return {'request_put': request}


def delete(key):
    """Return a transaction operation that deletes *key* (if it exists)."""
    return {'request_delete_range': {'key': encode(key)}}


def absent(key):
    """Return a comparison: *key* does not exist."""
    return {'key': encode(key), 'target': 'VERSION', 'result': 'EQUAL',
            'version': '0'}


def present(key):
    """Return a comparison: *key* exists."""
    return {'key': encode(key), 'target': 'VERSION', 'result': 'GREATER',
            'version': '0'}


def unchanged_since(key, revision):
    """Return a comparison: *key* was not written after *revision*."""
    return {'key': encode(key), 'target': 'MOD', 'result': 'LESS',
            'mod_revision': str(revision + 1)}


def modified_at(key, revision):
    """Return a comparison: *key* was last written at *revision*."""
    return {'key': encode(key), 'target': 'MOD', 'result': 'EQUAL',
            'mod_revision': str(revision)}


def created_at(key, revision):
    """Return a comparison: *key* is the one created at *revision*."""
    return {'key': encode(key), 'target': 'CREATE', 'result': 'EQUAL',
            'create_revision': str(revision)}


def delete_created_at(key, revision):
    """Return an operation that deletes *key* if created at *revision*.

    A nested transaction: the rest of the transaction goes on either way.
    """
    return {'request_txn': {'compare': [created_at(key, revision)],
                            'success': [delete(key)]}}


def read(key, values=False):
    """Return a transaction operation that reads *key*'s revisions.

    Its answer in :meth:`Client.txn` is ``[KeyValue]``: one item if the
    key exists, none if not; its value is empty unless *values*.
    """
    return {'request_range': {'key': encode(key), 'keys_only': not values}}
