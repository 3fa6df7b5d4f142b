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

"""Options of the [filter_scheduler] group: the ``filter`` driver."""

import copy

from oslo_config import cfg
from oslo_config import types

from sora.scheduler import filters
from sora.scheduler import weighers

GROUP = 'filter_scheduler'

filter_scheduler_group = cfg.OptGroup(
    GROUP,
    title='Filter scheduler options',
    help='The "filter" scheduler driver keeps the hosts that pass every '
         'enabled filter, scores them with the enabled weighers and picks '
         'the best.')

_PREFERS = {'memory': ('more free memory', 'less'),
            'cpu': ('more free CPUs', 'fewer'),
            'disk': ('more free disk', 'less'),
            'containers': ('fewer running containers', 'more')}
_SOFT = {'preferences': 'that pass more of the request\'s "preferences" '
                        '(the sum of the weights of the rules a host '
                        'passes)',
         'soft_affinity': 'running more containers of the request\'s group '
                          'when its group_policy is "soft-affinity"',
         'soft_anti_affinity': 'running fewer containers of the request\'s '
                               'group when its group_policy is '
                               '"soft-anti-affinity"'}
SOFT_MULTIPLIER = 10.0

filter_scheduler_opts = [
    cfg.ListOpt(
        'enabled_filters',
        default=list(filters.OPTIONAL),
        mutable=True,
        help='Filters every host must pass besides the ones that are always '
             f'enforced ({", ".join(filters.FIT)}: a host that is disabled '
             'or lacks the free resources, or has a no_schedule taint the '
             'request does not tolerate, never gets the container, '
             'whatever the configuration; they run first and may be listed '
             'here too), in the order they run: names of entry points in '
             'the "sora.scheduler.filters" namespace. Built-in: '
             f'{", ".join(filters.OPTIONAL)}; labels also serve as zones, '
             'and the host list and group filters act only on requests that '
             'list hosts or name a group. A filter from another installed '
             'distribution is enabled by adding its name. '
             '"sora-scheduler filters" lists what is installed.'),
    cfg.ListOpt(
        'weighers',
        default=list(weighers.DEFAULT),
        mutable=True,
        help='Weighers that score the hosts left by the filters: names of '
             'entry points in the "sora.scheduler.weighers" namespace. '
             f'Built-in: {", ".join(weighers.BUILT_IN)}. Each weigher\'s '
             'scores are normalised to 0..1 across the candidates, then '
             'multiplied by its multiplier; the highest total wins and ties '
             'go to the lowest host id.'),
    *(cfg.FloatOpt(
        f'{weigher}_weight_multiplier', default=1.0, mutable=True,
        help=f'Multiplier of the "{weigher}" weigher: positive prefers hosts '
             f'with {more} (spreading), negative {fewer} (packing), 0 '
             'switches it off.')
      for weigher in weighers.SCALAR
      for more, fewer in [_PREFERS[weigher]]),
    *(cfg.FloatOpt(
        f'{weigher}_weight_multiplier', default=SOFT_MULTIPLIER, min=0.0,
        mutable=True,
        help=f'Multiplier of the "{weigher}" weigher, which prefers hosts '
             f'{_SOFT[weigher]}; a soft rule never removes a host. The '
             f'default, {SOFT_MULTIPLIER:g}, outweighs the other default '
             'weighers together: the hosts that best meet the soft rules '
             'win and the others choose among them. 0 switches the rule '
             'off for every built-in driver (memorybase and randombase '
             'keep the hosts with the best soft score, then choose their '
             'way).')
      for weigher in weighers.SOFT),
    cfg.Opt(
        'resource_weight_multipliers', type=types.Dict(types.Float()),
        default={}, mutable=True,
        help='Multipliers of the "resources" weigher, one per countable '
             'resource, as NAME:MULTIPLIER pairs: "gpu:-1.0,vf:0.5". Each '
             'resource\'s free amount, as a share of the most any host has '
             'free, is multiplied by its multiplier and the products '
             'summed. Negative packs containers onto the hosts with the '
             'fewest free (and keeps work that needs none off the hosts '
             'that have some: "gpu:-1.0" keeps GPU nodes for GPU work), '
             'positive spreads them. Empty: the weigher is off.'),
    cfg.IntOpt(
        'max_containers_per_host', default=110, min=1, mutable=True,
        help='The most containers a host may run, for the "max_containers" '
             'filter.'),
    cfg.IntOpt(
        'host_subset_size', default=1, min=1, mutable=True,
        help='Pick at random among this many of the best hosts instead of '
             'always the best, so that several schedulers deciding at once '
             'are less likely to race for the same host. 1 always picks '
             'the best.'),
]


def register_opts(conf):
    """Register the [filter_scheduler] options on *conf*."""
    # ConfigOpts.register_group keeps a shallow copy of the group it is
    # given, and that copy shares the group's option table, where
    # set_override puts its values: registering filter_scheduler_group
    # itself on two confs would share their overrides. Each conf gets a
    # copy of its own; filter_scheduler_group stays an empty definition.
    conf.register_group(copy.deepcopy(filter_scheduler_group))
    conf.register_opts(filter_scheduler_opts, group=GROUP)


def list_opts():
    """Return the options for the sample config, by group."""
    return {filter_scheduler_group: filter_scheduler_opts}
