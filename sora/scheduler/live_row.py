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


"""What a store knows of one tracked host: its report and its claims.

A :class:`Row` of :class:`~sora.scheduler.live_table.LiveTable` computes
the host's free amounts (reported less claimed) and its groups.
"""

import collections

from sora.scheduler import host_table
from sora.scheduler import taints


class Row:
    """What the store knows of one host: its report and its claims."""

    __slots__ = ('id', 'amounts', 'containers', 'enabled', 'labels',
                 'groups', 'claimed', 'claimed_groups', 'stamp', 'disabled',
                 'resources', 'resources_total', 'claimed_resources',
                 'taints')

    def __init__(self, host_id):
        self.id = host_id
        self.claimed = [0, 0, 0, 0]  # memory, cpus, disk, containers
        self.claimed_groups = None   # Counter of the claims' groups
        self.claimed_resources = None  # Counter of the claims' resources
        self.labels = None
        self.groups = ()
        self.resources = self.resources_total = host_table.NO_RESOURCES
        self.disabled = None  # why an operator disabled it, if one did
        self.taints = taints.NONE

    def usable(self):
        """Whether new placements may go here (reported and operator's)."""
        return self.enabled and self.disabled is None

    def free(self):
        """Return the free units of each resource: reported less claimed.

        The one place this is computed. Never below 0: a node reporting
        less free than its outstanding claims is simply full.
        """
        amounts, claimed = self.amounts, self.claimed
        return (max(0, amounts[0] - claimed[0]),
                max(0, amounts[2] - claimed[1]),
                max(0, amounts[4] - claimed[2]))

    def free_of(self, name):
        """Return the free amount of the countable resource *name*."""
        claimed = self.claimed_resources
        return max(0, self.resources.get(name, 0) -
                   (claimed[name] if claimed else 0))

    def counted(self):
        """Return the countable resources it reports or has claims of."""
        if not self.claimed_resources:
            return self.resources_total.keys()
        return self.resources_total.keys() | self.claimed_resources.keys()

    def all_groups(self):
        """Return the groups of its reported containers and its claims."""
        if not self.claimed_groups:
            return self.groups
        return self.groups + tuple(self.claimed_groups.elements())


def with_members(reported, members):
    """Return a host's groups: those it reports and its placed members'.

    ``Host.groups`` has the group of each container. *reported* has those
    the node knows of (a group as often as it runs containers of it);
    *members* (``{consumer: group}``) those of the containers Sora placed
    that the report lists, which the node may report as well, or not. So a
    group counts as often as the report or the members count it, whichever
    is more (one container is not counted twice); the reported groups keep
    their order and repeats, the members' others follow.
    """
    if not members:
        return reported
    beyond = collections.Counter(members.values())
    beyond.subtract(reported)
    return reported + tuple(group for group, count in beyond.items()
                            for _ in range(count))
