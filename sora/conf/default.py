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

"""Options of the [DEFAULT] group that choose the scheduler driver."""

from oslo_config import cfg

scheduler_opts = [
    cfg.StrOpt(
        'scheduler_driver',
        default='memorybase',
        mutable=True,
        help='Name of the scheduler driver: the name of an entry point in '
             'the "sora.scheduler" namespace. Built-in drivers: '
             '"memorybase" (the fitting host with the most free memory), '
             '"randombase" (a random fitting host), "filter" (filters and '
             'weighers, see [filter_scheduler]). A driver from another '
             'installed distribution is named the same way. The value is '
             'only ever looked up as an entry point name, never imported '
             'as a module path. "sora-scheduler drivers" lists the '
             'installed drivers.'),
    cfg.FloatOpt(
        'plugin_time_limit',
        default=10.0,
        min=0.0,
        mutable=True,
        help='Seconds one filter or weigher may take over one decision. A '
             'plugin that takes longer fails that decision with an error '
             'naming it (it is not interrupted: the check is made when it '
             'returns). 0 means no limit.'),
]


def register_opts(conf):
    """Register the driver options on *conf*."""
    conf.register_opts(scheduler_opts)


def list_opts():
    """Return the options for the sample config, by group."""
    return {'DEFAULT': scheduler_opts}
