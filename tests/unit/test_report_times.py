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

"""When each host last reported: kept by both stores, read as ages.

The memory store tells time by its own clock; the etcd store keeps the
writer's clock in each report record (``reported``), and reads a record
without one, an older Sora's, as unknown.
"""

import json
import time

from sora.scheduler import host_state
from sora.scheduler import manager
from sora.scheduler.stores.etcd import codec
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores import memory
from tests import base
from tests.unit import test_etcd_store

settle = test_etcd_store.settle
HOST = {'id': 'a', 'memory_mb': 100}


class MemoryReportTimesTest(base.TestCase):

    def test_ages_follow_the_store_s_clock(self):
        clock = base.Clock(time.time())
        conf = self.make_conf()
        mgr = manager.SchedulerManager(
            conf, store=memory.MemoryHostStore(conf, clock))
        self.addCleanup(mgr.close)
        self.assertEqual({}, mgr.report_ages())
        mgr.update_hosts([HOST, dict(HOST, id='b')])
        clock.now += 30
        mgr.update_hosts([HOST])
        clock.now += 5
        self.assertEqual({'a': 5.0, 'b': 35.0}, mgr.report_ages())
        mgr.remove_host('b')
        self.assertEqual({'a': 5.0}, mgr.report_ages())


class EtcdReportTimesTest(test_etcd_store.EtcdStoreTestCase):

    def put(self, name, record):
        self.etcd.client.txn([], [ops.put(f'{self.etcd.prefix}/{name}',
                                          json.dumps(record).encode())])

    def test_the_writer_s_clock_is_kept_in_the_record(self):
        writer_clock, reader_clock = (base.Clock(time.time())
                                      for _ in range(2))
        writer = self.clocked(self.conf(), writer_clock)
        reader = self.clocked(self.conf(), reader_clock)
        writer_clock.now = reader_clock.now - 100
        writer.update_hosts([HOST])
        settle(lambda: 'a' in reader.report_ages())
        self.assertEqual({'a': 100.0}, reader.report_ages())
        self.assertEqual({'a': 0.0}, writer.report_ages())  # its own, at once
        # A manager that starts later lists it with its time.
        late = self.clocked(self.conf(), reader_clock)
        self.assertEqual({'a': 100.0}, late.report_ages())
        # A writer whose clock is ahead: an age never below 0.
        writer_clock.now = reader_clock.now + 50
        writer.update_hosts([HOST])
        settle(lambda: reader.report_ages() == {'a': 0.0})
        writer.remove_host('a')
        settle(lambda: reader.report_ages() == {})

    def test_a_record_without_a_good_time_is_read_with_its_age_unknown(self):
        record = codec.report_record(
            host_state.parse_reports([HOST]), 0, 1.0)
        self.assertEqual(1.0, record['reported'])
        mgr = self.manager()
        for name, reported in (('old', None), ('bad', 'yesterday'),
                               ('nan', float('nan')), ('neg', -1),
                               ('flag', True)):
            older = dict(record)
            if reported is None:
                del older['reported']  # as an older Sora writes it
            else:
                older['reported'] = reported
            self.put(f'hosts/{name}', older)
        settle(lambda: len(mgr.hosts()) == 5)
        self.assertEqual({}, mgr.report_ages())
        self.assertEqual({}, self.manager().report_ages())
