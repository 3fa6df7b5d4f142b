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

"""Example filters: one vectorised, one per host."""

from oslo_config import cfg

from sora.scheduler import base

opts = [
    cfg.FloatOpt('min_headroom_ratio', default=0.1, min=0.0, max=1.0,
                 help='Share of a host\'s total memory that must stay free '
                      'after a placement, for the "headroom" filter.'),
    cfg.FloatOpt('ssd_weight_multiplier', default=1.0,
                 help='Multiplier of the "ssd" weigher.'),
]


def register_opts(conf):
    """Register this package's options in the [example_plugins] group."""
    conf.register_opts(opts, group='example_plugins')


def list_opts():
    """Options for oslo-config-generator."""
    return [('example_plugins', opts)]


class HeadroomFilter(base.Filter):
    """Keep hosts that keep min_headroom_ratio of their memory free."""

    def __init__(self, conf=None):
        super().__init__(conf)
        register_opts(self.conf)
        self.ratio = self.conf.example_plugins.min_headroom_ratio

    def filter_mask(self, hosts, request):
        # Vectorised: one comparison over whole columns.
        left = hosts.memory_mb - request.memory_mb
        return left >= self.ratio * hosts.memory_total_mb

    def describe(self, request):
        return f'keeps {self.ratio:.0%} of memory free'


class NoMaintenanceFilter(base.Filter):
    """Drop hosts labelled maintenance=true."""

    def host_passes(self, host, request):
        # Per host: Sora calls this for each host still in the running.
        return host.labels.get('maintenance') != 'true'
