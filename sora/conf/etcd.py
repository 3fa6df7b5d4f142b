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

from oslo_config import cfg

GROUP = 'etcd'

etcd_group = cfg.OptGroup(
    GROUP,
    title='The shared host store',
    help='With "[scheduler] host_store = etcd", every scheduler manager '
         'configured alike shares one set of node reports and claims '
         'through this etcd cluster.')

etcd_opts = [
    cfg.ListOpt(
        'endpoints',
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
