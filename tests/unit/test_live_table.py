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

"""The live table: rows changed in place, snapshots that never change."""

import hypothesis
from hypothesis import strategies as st

from sora.scheduler import claims
from sora.scheduler import host_state
from sora.scheduler import id_ranks
from sora.scheduler import live_index
from sora.scheduler import live_table
from sora.scheduler import table_index
from tests import base

IDS = ('a', 'b', 'c', 'd', 'e', 'f')
QUERIES = [{'zone': 'x'}, {'zone': 'y'}, {'ssd': 'y'},
           {'zone': 'x', 'ssd': 'x'}, {'gpu': 'x'}]
GROUPS = ('web', 'db')

report = st.fixed_dictionaries({
    'id': st.sampled_from(IDS),
    'memory_mb': st.integers(0, 100),
    'labels': st.dictionaries(st.sampled_from(['zone', 'ssd']),
                              st.sampled_from(['x', 'y'])),
    'groups': st.lists(st.sampled_from(GROUPS), max_size=2),
    'resources': st.dictionaries(st.sampled_from(['gpu', 'vf']),
                                 st.integers(0, 3))})
operation = st.one_of(
    st.tuples(st.just('report'), report),
    st.tuples(st.just('remove'), st.sampled_from(IDS)),
    st.tuples(st.just('claim'), st.sampled_from(IDS),
              st.tuples(st.sampled_from(GROUPS + (None,)),
                        st.integers(0, 2)),
              st.sampled_from([1, -1])),
    st.tuples(st.just('snapshot')))


def entry(group=None, gpus=0):
    """A claim of 1 MB (and *gpus* GPUs) in *group*."""
    return claims.Entry('c', 'h', (1, 0, 0), group, 0.0,
                        {'gpu': gpus} if gpus else {})


def view(table):
    """What a table says, by host id, for comparing two tables."""
    def by_id(mask):
        return sorted(host_id for host_id, ok in zip(table.ids, mask) if ok)
    return {'hosts': {host.id: dict(host.to_dict(),
                                    groups=sorted(host.groups))
                      for host in table},
            'labels': [by_id(table.label_mask(query)) for query in QUERIES],
            'groups': [by_id(table.group_mask(group))
                       for group in GROUPS + ('none',)],
            'counts': [dict(zip(table.ids, map(int, table.group_counts(
                group)))) for group in GROUPS + ('none',)],
            'rows': {host_id: table.ids[row] for host_id, row in
                     zip(IDS, (table.rows_of([host_id]) or [None]
                               for host_id in IDS)) if row != [None]
                     for row in row},
            'order': sorted(table.ids, key=lambda host_id: int(
                table.id_rank[table.row_of(host_id)])),
            'free': {name: dict(zip(table.ids, map(int, table.free(name))))
                     for name in ('gpu', 'vf', 'tpu')}}


class LiveTableTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.live = live_table.LiveTable()

    def update(self, *hosts):
        self.live.update(host_state.parse_reports(list(hosts)))

    def test_snapshots_do_not_change(self):
        self.update({'id': 'b', 'memory_mb': 5, 'labels': {'zone': 'x'}},
                    {'id': 'a', 'memory_mb': 7, 'groups': ['web']})
        first = self.live.snapshot()
        self.assertIs(first, self.live.snapshot())
        before = view(first)
        self.update({'id': 'b', 'memory_mb': 1, 'labels': {'zone': 'y'}},
                    {'id': 'c', 'memory_mb': 2, 'labels': {'zone': 'x'}})
        self.live.remove('a')
        self.live.claim(self.live.slot_of('c'), entry('web'))
        self.assertEqual(before, view(first))
        second = self.live.snapshot()
        self.assertEqual(['b', 'c'], sorted(second.ids))
        self.assertEqual(['c'], [host.id for host in second
                                 if 'web' in host.groups])

    def test_a_snapshot_reads_nothing_of_the_live_table(self):
        # Taken on one base and read after the live table took another
        # and changed the slots it holds.
        self.patch(live_index, 'rebase_after', lambda size: 2)
        self.update({'id': 'a', 'memory_mb': 1, 'labels': {'zone': 'x'},
                     'groups': ['web']},
                    {'id': 'b', 'memory_mb': 1})
        self.live.snapshot()
        self.update({'id': 'b', 'memory_mb': 1, 'groups': ['web']})
        old = self.live.snapshot()
        self.assertIsInstance(old._index, live_index.SnapshotIndex)
        before = view(old)
        self.update({'id': 'a', 'memory_mb': 1, 'labels': {'zone': 'y'}})
        self.live.remove('b')
        for n in range(3):
            self.update({'id': f'n{n}', 'memory_mb': 1,
                         'labels': {'zone': 'x'}, 'groups': ['web']})
        self.assertIsInstance(self.live.snapshot()._index,
                              table_index.TableIndex)
        self.assertEqual(before, view(old))

    def test_label_and_group_lookups_are_dropped_with_the_last_host(self):
        for n in range(3 * table_index.CACHED_KEYS):
            self.update({'id': f'n{n}', 'memory_mb': 1,
                         'labels': {f'key{n}': 'v'}, 'groups': [f'g{n}']})
            table = self.live.snapshot()
            self.assertEqual(1, table.label_mask({f'key{n}': 'v'}).sum())
            self.assertEqual(1, table.group_mask(f'g{n}').sum())
        for n in range(3 * table_index.CACHED_KEYS):
            self.live.remove(f'n{n}')
        self.assertEqual({}, self.live._members)
        table = self.live.snapshot()
        self.assertEqual(0, len(table.label_mask({'key0': 'v'})))

    def test_ranks_follow_ids_through_renumbering(self):
        self.patch(id_ranks, '_GAP', 4)
        self.patch(id_ranks, '_STEP', 1)
        for host_id in ('m', 'a', 'z', 'b', 'c', 'ca', 'cb', 'cc', 'y'):
            self.update({'id': host_id, 'memory_mb': 1})
        self.live.remove('b')
        self.update({'id': 'bb', 'memory_mb': 1})
        table = self.live.snapshot()
        self.assertEqual(sorted(table.ids), [
            table.ids[row] for row in sorted(
                range(len(table)), key=lambda row: table.id_rank[row])])

    @hypothesis.given(st.lists(operation, max_size=40),
                      st.sampled_from([1, 2, 4096]))
    def test_every_snapshot_reads_as_the_hosts_it_was_taken_of(
            self, operations, rebase):
        self.patch(live_index, 'rebase_after', lambda size: rebase)
        live = live_table.LiveTable()
        current, taken = {}, []
        for op, *args in operations + [('snapshot',)]:
            if op == 'report':
                [host] = args
                live.update(host_state.parse_reports([host]))
                claimed = current.get(host['id'], {}).get('claimed', [])
                current[host['id']] = dict(host, claimed=claimed)
            elif op == 'remove' and args[0] in current:
                live.remove(args[0])
                del current[args[0]]
            elif op == 'claim' and args[0] in current:
                host_id, held, sign = args
                claimed = current[host_id].setdefault('claimed', [])
                if sign < 0 and held not in claimed:
                    continue
                live.claim(live.slot_of(host_id), entry(*held), sign)
                claimed.append(held) if sign > 0 else claimed.remove(held)
            elif op == 'snapshot':
                snapshot = live.snapshot()
                expected = host_state.parse_hosts([
                    {'id': host_id, 'memory_mb': max(0, host['memory_mb']
                                                     - len(claimed)),
                     'memory_total_mb': host['memory_mb'],
                     'labels': host['labels'], 'containers': len(claimed),
                     'groups': host['groups'] + [
                         group for group, _ in claimed if group],
                     # Free: reported less claimed, exactly, never below 0.
                     'resources': {name: max(0, amount - sum(
                         gpus for _, gpus in claimed if name == 'gpu'))
                         for name, amount in host['resources'].items()},
                     'resources_total': host['resources']}
                    for host_id, host in current.items()
                    for claimed in [host.get('claimed', [])]])
                self.assertEqual(view(expected), view(snapshot))
                taken.append((snapshot, view(snapshot)))
        for snapshot, seen in taken:
            self.assertEqual(seen, view(snapshot))
