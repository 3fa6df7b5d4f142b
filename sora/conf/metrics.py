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

"""Options of the [metrics] group: serving the Prometheus metrics."""

import copy

from oslo_config import cfg
from oslo_config import types

GROUP = 'metrics'

metrics_group = cfg.OptGroup(
    GROUP,
    title='Prometheus metrics',
    help='Every scheduler manager counts what it does in Prometheus '
         'metrics named sora_scheduler_*, in prometheus_client\'s default '
         'registry, so that a service exposing that registry exposes them '
         'with its own.')


def split(value):
    """Return ``(host, port)`` of a ``HOST:PORT`` value (host may be '')."""
    host, _, port = value.rpartition(':')
    if host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    return host, int(port)


class HostPort(types.String):
    """``HOST:PORT``: an address to listen on (``[::1]:PORT`` for IPv6)."""

    def __init__(self):
        super().__init__(type_name='HOST:PORT value')

    def __call__(self, value):
        value = super().__call__(value)
        if not value:
            return value
        host, sep, port = value.rpartition(':')
        bracketed = host.startswith('[') and host.endswith(']')
        if not sep or not port.isdigit() or not 0 < int(port) < 65536 or \
                (':' in host and not bracketed) or \
                any(char.isspace() or char in '/[]' for char in (
                    host[1:-1] if bracketed else host)):
            raise ValueError(f'{value!r} is not HOST:PORT: give an address '
                             'and a port from 1 to 65535, such as '
                             '127.0.0.1:9180, :9180 (every address) or '
                             '[::1]:9180')
        return value


metrics_opts = [
    cfg.Opt(
        'bind',
        type=HostPort(),
        default='',
        help='HOST:PORT at which the scheduler manager serves /metrics '
             'itself, for a service that exposes no metrics of its own '
             '(":9180" listens on every address). Empty: the manager serves '
             'nothing and the metrics are only in the default registry. '
             'Managers of one process share one server per address. The '
             'sora-scheduler command never serves them; "sora-scheduler '
             'check" says whether the address is free. Read when the '
             'manager is built; a change needs a restart.'),
]


def register_opts(conf):
    """Register the [metrics] options on *conf*."""
    # A copy of the group for each conf: see filter_scheduler.register_opts.
    conf.register_group(copy.deepcopy(metrics_group))
    conf.register_opts(metrics_opts, group=GROUP)


def list_opts():
    """Return the options for the sample config, by group."""
    return {metrics_group: metrics_opts}
