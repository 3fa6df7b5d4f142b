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

"""A manager's copy of etcd, as a listing fills it (no etcd needed)."""

from sora.scheduler import claims
from sora.scheduler import host_state
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import replica
from sora.scheduler.stores.etcd import sweep
from tests import base


class ReplicaTest(base.TestCase):

    def test_reports_listed_at_once_may_list_one_consumer(self):
        # A claim still in etcd, listed by two reports of one listing: the
        # first settles it and keeps its group, as etcd's watch (one report
        # at a time) and the memory store do.
        copy = replica.Replica(
            sweep.Settled(None, codec.Keys('/sora'), 128), lambda: 0.0)
        copy.report(host_state.parse_reports(
            [{'id': host, 'memory_mb': 100} for host in 'ab']),
            [{}, {}], [(0, 1), (0, 1)])
        copy.record([('c5', claims.Entry('c5', 'a', (1, 0, 0), 'db', 0.0),
                      2)])
        copy.report(host_state.parse_reports(
            [{'id': host, 'memory_mb': 100, 'consumers': ['c5']}
             for host in 'ab']), [{}, {}], [(0, 3), (0, 3)])
        table = copy.hosts.snapshot()[0]
        self.assertEqual({'a': ('db',), 'b': ()},
                         {host.id: host.groups for host in table})
        self.assertEqual([], copy.hosts.listing(0.0))
        self.assertEqual(2, copy.settled.created('c5'))
