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

"""Options of the [scheduler] group: tracked hosts and their claims."""

import copy

from oslo_config import cfg

GROUP = 'scheduler'

scheduler_group = cfg.OptGroup(
    GROUP,
    title='Tracked hosts and claims',
    help='Where the scheduler manager keeps the hosts the nodes report and '
         'the claims its decisions hold on them, and how long a claim '
         'lasts.')

tracking_opts = [
    cfg.StrOpt(
        'host_store',
        default='memory',
        help='Name of the host store: an entry point in the '
             '"sora.scheduler.host_stores" namespace. "memory" keeps the '
             'tracked hosts and claims in this process; "etcd" shares them '
             'with every scheduler configured alike, through the etcd '
             'cluster of [etcd]. The value is only '
             'ever looked up as an entry point name, never imported as a '
             'module path. Read when the manager is built; a change needs '
             'a restart.'),
    cfg.FloatOpt(
        'claim_timeout',
        default=600.0,
        min=0.0,
        mutable=True,
        help='Seconds a claim holds its resources when no node report '
             'lists its consumer. A decision on the tracked hosts claims '
             'what it places, under a consumer id (the container\'s); a '
             'node report listing that consumer in "consumers" settles the '
             'claim, since the report then counts the container. A claim '
             'that no report settles (the caller died before starting the '
             'container) expires this long after it was made, with a '
             'warning naming consumer and host. 0 means claims never '
             'expire. With the etcd store, each claim keeps the timeout of '
             'the scheduler that made it (an etcd lease, whole seconds, up '
             'to one second longer).'),
]


def register_opts(conf):
    """Register the [scheduler] options on *conf*."""
    # A copy of the group for each conf: see filter_scheduler.register_opts.
    conf.register_group(copy.deepcopy(scheduler_group))
    conf.register_opts(tracking_opts, group=GROUP)


def list_opts():
    """Return the options for the sample config, by group."""
    return {scheduler_group: tracking_opts}
