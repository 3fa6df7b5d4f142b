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

"""The etcd store's format: said by each record and by the store's key.

Against the real etcd: a manager refuses a store a newer Sora wrote (at
start, and as soon as a newer Sora says so while it runs), and reads the
records written before formats were said.
"""

import json

from sora.scheduler import exceptions
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops
from tests import base
from tests.unit import test_etcd_model
from tests.unit import test_etcd_store

settle = test_etcd_store.settle


class FormatTest(test_etcd_store.EtcdStoreTestCase):

    def key(self, name):
        return f'{self.etcd.prefix}/{name}'

    def put(self, name, value):
        self.etcd.client.txn([], [ops.put(self.key(name), value)])

    def value(self, name):
        _, found = self.etcd.client.range(self.key(name),
                                          self.key(name) + '\0')
        return json.loads(found[0].value)

    def test_a_store_says_its_format_and_so_does_each_record(self):
        mgr = self.manager()
        self.assertEqual({'format': codec.FORMAT}, self.value('format'))
        mgr.update_hosts([{'id': 'a', 'memory_mb': 100}])
        mgr.select_destinations({'memory_mb': 1}, consumers=['c'])
        self.assertEqual(codec.FORMAT, self.value('hosts/a')['format'])
        self.assertEqual(codec.FORMAT, self.value('claims/c')['format'])

    def test_records_written_before_formats_were_said_are_read(self):
        self.put('hosts/a', json.dumps({
            'amounts': {'memory_mb': 100, 'memory_total_mb': 100,
                        'cpus': 2000, 'cpus_total': 2000,
                        'disk_gb': 2 ** 62},
            'containers': 0, 'enabled': True, 'labels': {}, 'groups': [],
            'consumers': []}).encode())
        self.put('claims/c', json.dumps({
            'host': 'a', 'needs': [40, 500, 0], 'group': None,
            'made': 1.0}).encode())
        mgr = self.manager()
        self.assertEqual({'a': (60, 1.5)}, self.free(mgr))
        self.assertEqual(['c'], [claim.consumer for claim in mgr.claims()])

    def test_an_older_store_is_raised_to_this_format_and_still_read(self):
        # A rolling upgrade: the first newer manager says its format, and
        # reads what the older ones wrote.
        self.put('format', json.dumps({'format': 1}).encode())
        self.put('hosts/a', json.dumps({
            'format': 1, 'amounts': {
                'memory_mb': 100, 'memory_total_mb': 100, 'cpus': 2000,
                'cpus_total': 2000, 'disk_gb': 2 ** 62},
            'containers': 0, 'enabled': True, 'labels': {}, 'groups': [],
            'consumers': []}).encode())
        self.put('claims/c', json.dumps({
            'format': 1, 'host': 'a', 'needs': [40, 500, 0], 'group': None,
            'made': 1.0}).encode())
        mgr = self.manager()
        self.assertEqual({'format': codec.FORMAT}, self.value('format'))
        self.assertEqual({'a': (60, 1.5)}, self.free(mgr))
        self.assertEqual([('c', {})], [(claim.consumer, claim.resources)
                                       for claim in mgr.claims()])

    def test_countable_resources_are_shared_by_every_manager(self):
        first, second = self.manager(), self.manager()
        first.update_hosts([{'id': 'a', 'memory_mb': 100,
                             'resources': {'gpu': 2, 'vf': 1},
                             'resources_total': {'gpu': 4, 'vf': 1}}])
        first.select_destinations({'resources': {'gpu': 2}},
                                  consumers=['c'])
        self.assertEqual({'gpu': 2}, self.value('claims/c')['resources'])
        self.assertEqual({'gpu': 4, 'vf': 1},
                         self.value('hosts/a')['resources_total'])
        settle(lambda: len(second.claims()) == 1)
        [host] = second.hosts()
        self.assertEqual(({'gpu': 0, 'vf': 1}, {'gpu': 4, 'vf': 1}),
                         (host.resources, host.resources_total))
        self.assertEqual({'gpu': 2}, second.claims()[0].resources)
        self.assertRaises(exceptions.NoValidHost, second.select_destinations,
                          {'resources': {'gpu': 1}})
        second.release('c')
        settle(lambda: not first.claims())
        self.assertEqual({'gpu': 2, 'vf': 1}, first.hosts()[0].resources)

    def test_a_record_with_bad_resources_is_ignored(self):
        mgr = self.manager()
        amounts = {'memory_mb': 1, 'memory_total_mb': 1, 'cpus': 0,
                   'cpus_total': 0, 'disk_gb': 0}
        for host_id, resources in (('b', {'GPU': 1}), ('c', {'gpu': -1}),
                                   ('d', {'gpu': 1.5}), ('e', ['gpu'])):
            self.put(f'hosts/{host_id}', json.dumps({
                'format': codec.FORMAT, 'amounts': amounts, 'containers': 0,
                'enabled': True, 'labels': {}, 'groups': [], 'consumers': [],
                'resources': resources}).encode())
        self.put('hosts/f', json.dumps({
            'format': codec.FORMAT, 'amounts': amounts, 'containers': 0,
            'enabled': True, 'labels': {}, 'groups': [], 'consumers': [],
            'resources': {'gpu': 2}, 'resources_total': {'gpu': 1}}).encode())
        # Written after them: once it is seen, so were they.
        self.put('hosts/z', json.dumps({
            'format': codec.FORMAT, 'amounts': amounts, 'containers': 0,
            'enabled': True, 'labels': {}, 'groups': [], 'consumers': [],
            'resources': {'gpu': 1}}).encode())
        settle(lambda: len(mgr.hosts()) == 1)
        self.assertEqual([('z', {'gpu': 1})],
                         [(host.id, host.resources) for host in mgr.hosts()])

    def test_a_store_of_a_newer_format_is_refused_at_start(self):
        self.put('format', json.dumps({'format': codec.FORMAT + 1}).encode())
        error = self.assertRaises(exceptions.InvalidConfig, self.manager)
        self.assertIn(f'is in format {codec.FORMAT + 1}, written by a newer '
                      f'Sora; this one reads format {codec.FORMAT} at most',
                      str(error))
        path = self.conf_file()
        result = self.useFixture(base.Command())(
            '--config-file', path, 'hosts')
        self.assertEqual(2, result.returncode)
        self.assertIn('written by a newer Sora', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_a_format_key_that_is_not_sora_s_is_refused_at_start(self):
        for value in (b'{}', b'[1]', b'{"format": "2"}', b'{"format": 0}',
                      b'\xff'):
            with self.subTest(value=value):
                self.put('format', value)
                error = self.assertRaises(exceptions.InvalidConfig,
                                          self.manager)
                self.assertIn('holds no Sora store format', str(error))

    def test_a_running_manager_stops_once_a_newer_sora_says_so(self):
        mgr = self.manager()
        mgr.update_hosts([{'id': 'a', 'memory_mb': 100}])
        self.put('format', json.dumps({'format': codec.FORMAT + 1}).encode())
        settle(lambda: not test_etcd_model.answers(mgr))
        error = self.assertRaises(exceptions.StoreUnavailable,
                                  mgr.select_destinations, {'memory_mb': 1})
        self.assertIn('written by a newer Sora', str(error))
        # Rolled back (the newer Sora downgraded): it answers again.
        self.put('format', codec.encode_format())
        settle(lambda: test_etcd_model.answers(mgr), timeout=30)
        self.assertEqual(['a'], mgr.select_destinations({'memory_mb': 1}))

    def test_a_record_of_a_newer_format_is_ignored(self):
        mgr = self.manager()
        self.put('hosts/b', json.dumps({
            'format': codec.FORMAT + 1, 'amounts': {}, 'containers': 0,
            'enabled': True, 'labels': {}, 'groups': [],
            'consumers': []}).encode())
        mgr.update_hosts([{'id': 'a', 'memory_mb': 100}])
        settle(lambda: len(mgr.hosts()) == 1)
        self.assertEqual(['a'], [host.id for host in mgr.hosts()])
