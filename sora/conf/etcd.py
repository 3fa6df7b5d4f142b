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

"""Options of the [etcd] group: the shared host store ``etcd``."""

import copy
import urllib.parse

from oslo_config import cfg
from oslo_config import types

GROUP = 'etcd'

etcd_group = cfg.OptGroup(
    GROUP,
    title='The shared host store',
    help='With "[scheduler] host_store = etcd", every scheduler manager '
         'configured alike shares one set of node reports and claims '
         'through this etcd cluster.')


class Endpoint(types.String):
    """An etcd client URL: ``http(s)://HOST[:PORT]``."""

    def __call__(self, value):
        value = super().__call__(value)
        url = urllib.parse.urlsplit(value)
        try:
            port_ok = url.port is not None or not url.netloc.endswith(':')
        except ValueError:  # not a number, or out of range
            port_ok = False
        if not port_ok or url.scheme not in ('http', 'https') or \
                not url.hostname or url.path not in ('', '/') or \
                url.query or url.fragment:
            raise ValueError(f'{value!r} is not an etcd URL: give '
                             'http://HOST:PORT or https://HOST:PORT')
        return value


class Endpoints(types.List):
    """A non-empty list of etcd client URLs."""

    def __init__(self):
        super().__init__(item_type=Endpoint())

    def __call__(self, value):
        endpoints = super().__call__(value)
        if not endpoints:
            raise ValueError('no etcd URL given: give at least one, such '
                             'as http://127.0.0.1:2379')
        return endpoints


etcd_opts = [
    cfg.Opt(
        'endpoints',
        type=Endpoints(),
        default=['http://127.0.0.1:2379'],
        help='URLs of the etcd cluster\'s client endpoints (http:// or '
             'https://), tried in turn. HTTP(S)_PROXY settings are not used '
             'for them.'),
    cfg.StrOpt(
        'prefix',
        default='/sora',
        help='Key prefix under which the node reports, claims and per-host '
             'claim counters are kept; schedulers sharing a prefix share '
             'the hosts.'),
    cfg.FloatOpt(
        'timeout',
        default=5.0,
        min=0.1,
        help='Seconds one etcd call may take, all endpoints together; then '
             'the operation fails with an error naming the endpoints.'),
    cfg.StrOpt(
        'ca_file',
        help='CA bundle that signs the etcd servers\' certificates '
             '(https endpoints); the system\'s CAs when unset.'),
    cfg.StrOpt(
        'cert_file',
        help='Client certificate presented to etcd (with key_file).'),
    cfg.StrOpt(
        'key_file',
        help='Private key of cert_file.'),
    cfg.IntOpt(
        'max_txn_ops',
        default=128,
        min=16,
        help='The most operations etcd takes in one transaction (etcd\'s '
             '--max-txn-ops, 128 by default). Sora writes reports in '
             'transactions of at most this many operations. The '
             'placements of one request commit in one transaction that '
             'compares one key per placement and three per host placed on '
             '(and one for its group): 32 containers on 32 hosts at once '
             'by default. Raise both together to place more at once.'),
    cfg.IntOpt(
        'host_ttl',
        default=0,
        min=0,
        help='Seconds after its last report that a node\'s report is '
             'removed, so a node that stops reporting stops getting '
             'containers (it goes between host_ttl and 1.5 x host_ttl '
             'after the last report). 0 keeps reports until a node is '
             'removed.'),
]


def register_opts(conf):
    """Register the [etcd] options on *conf*."""
    # A copy of the group for each conf: see filter_scheduler.register_opts.
    conf.register_group(copy.deepcopy(etcd_group))
    conf.register_opts(etcd_opts, group=GROUP)


def list_opts():
    """Return the options for the sample config, by group."""
    return {etcd_group: etcd_opts}
