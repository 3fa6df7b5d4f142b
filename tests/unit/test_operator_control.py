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

"""An operator disables, enables and removes hosts; reports never undo it.

Each test runs on the memory store (one manager) and on the real etcd
(two managers sharing it: what one does, the other sees).
"""

import json

from sora.scheduler import exceptions
from sora.scheduler import manager
from tests import base
from tests.unit import test_etcd_store

settle = test_etcd_store.settle
HOSTS = [{'id': 'a', 'memory_mb': 3000}, {'id': 'b', 'memory_mb': 1000}]


class OperatorControlTest(test_etcd_store.EtcdStoreTestCase):

    def pairs(self):
        """Yield (store name, manager acting, manager watching)."""
        mgr = manager.SchedulerManager(self.make_conf(
            '[DEFAULT]\nscheduler_driver = filter\n', 'memory.conf'))
        self.addCleanup(mgr.close)
        yield 'memory', mgr, mgr
        yield 'etcd', self.manager(), self.manager()

    def shown(self, mgr):
        return {host.id: (host.enabled, host.disabled_reason)
                for host in mgr.hosts()}

    def test_a_disabled_host_takes_nothing_until_enabled(self):
        for store, one, two in self.pairs():
            with self.subTest(store=store):
                one.update_hosts(HOSTS)
                settle(lambda: len(two.hosts()) == 2)
                one.select_destinations({'memory_mb': 100},
                                        consumers=[f'{store}-c1'])
                two.disable_host('a', 'kernel upgrade')
                expected = {'a': (False, 'kernel upgrade'),
                            'b': (True, None)}
                for mgr in (one, two):
                    settle(lambda: self.shown(mgr) == expected)
                # Its claims stay; new placements go elsewhere, or nowhere.
                self.assertEqual(1, len(one.claims()))
                self.assertEqual(['b'], one.select_destinations(
                    {'memory_mb': 100}, consumers=[f'{store}-c2']))
                self.assertRaises(exceptions.NoValidHost,
                                  one.select_destinations,
                                  {'memory_mb': 2000}, dry_run=True)
                # The node's next report, enabled as ever, undoes nothing.
                one.update_hosts([dict(HOSTS[0], enabled=True)])
                settle(lambda: self.shown(two) == expected)
                self.assertEqual(['b'], two.select_destinations(
                    {'memory_mb': 100}, dry_run=True))
                one.enable_host('a')
                for mgr in (one, two):
                    settle(lambda: self.shown(mgr)['a'] == (True, None))
                self.assertEqual(['a'], two.select_destinations(
                    {'memory_mb': 2000}, dry_run=True))
                for host in HOSTS:
                    one.remove_host(host['id'])

    def test_a_host_the_node_disables_is_enabled_by_its_report(self):
        # enabled: false in a report is the node's, not an operator's.
        for store, one, two in self.pairs():
            with self.subTest(store=store):
                one.update_hosts([dict(HOSTS[0], enabled=False)])
                settle(lambda: self.shown(two) == {'a': (False, None)})
                one.update_hosts([HOSTS[0]])
                settle(lambda: self.shown(two) == {'a': (True, None)})
                one.remove_host('a')

    def test_removing_forgets_the_host_its_claims_and_its_disabling(self):
        for store, one, two in self.pairs():
            with self.subTest(store=store):
                one.update_hosts(HOSTS)
                settle(lambda: len(two.hosts()) == 2)
                one.select_destinations({'memory_mb': 100},
                                        consumers=[f'{store}-c'])
                one.disable_host('a', 'retired')
                two.remove_host('a')
                for mgr in (one, two):
                    settle(lambda: [host.id for host in mgr.hosts()] == ['b'])
                    self.assertEqual([], mgr.claims())
                self.assertRaises(exceptions.InvalidRequest, one.enable_host,
                                  'a')
                # It reports again: a new host, not disabled.
                one.update_hosts([HOSTS[0]])
                settle(lambda: self.shown(two)['a'] == (True, None)
                       if 'a' in self.shown(two) else False)
                for host in HOSTS:
                    one.remove_host(host['id'])

    def test_bad_requests_change_nothing(self):
        for store, one, _ in self.pairs():
            with self.subTest(store=store):
                one.update_hosts(HOSTS)
                for call, args, message in (
                        (one.disable_host, ('z', 'why'), "no host has id 'z'"),
                        (one.enable_host, ('z',), "no host has id 'z'"),
                        (one.disable_host, ('a', ''), 'text of 1 to 255'),
                        (one.disable_host, ('a', ' '), 'text of 1 to 255'),
                        (one.disable_host, ('a', 'x' * 256),
                         'text of 1 to 255'),
                        (one.disable_host, ('a', None), 'text of 1 to 255'),
                        (one.disable_host, ('a', 'bad\udc80'), 'reason'),
                        (one.disable_host, ('', 'why'), 'non-empty string'),
                        (one.disable_host, (3, 'why'), 'non-empty string')):
                    error = self.assertRaises(exceptions.InvalidRequest,
                                              call, *args)
                    self.assertIn(message, str(error))
                self.assertEqual({'a': (True, None), 'b': (True, None)},
                                 self.shown(one))
                for host in HOSTS:
                    one.remove_host(host['id'])

    def test_a_decision_made_before_the_host_was_disabled_claims_nothing(self):
        # Disabled on another manager between deciding and committing:
        # the commit loses, and the decision is made again without it.
        one, two = self.manager(), self.manager()
        one.update_hosts(HOSTS)
        settle(lambda: len(two.hosts()) == 2)
        decide = one.driver.select_destinations

        def disabled_meanwhile(request, hosts, count=1):
            chosen = decide(request, hosts, count)
            if chosen == ['a']:
                two.disable_host('a', 'drain')
            return chosen

        one.driver.select_destinations = disabled_meanwhile
        self.assertEqual(['b'], one.select_destinations(
            {'memory_mb': 100}, consumers=['c']))
        settle(lambda: [claim.host for claim in two.claims()] == ['b'])

    def test_a_manager_that_starts_later_sees_the_disabling(self):
        one = self.manager()
        one.update_hosts(HOSTS)
        one.disable_host('b', 'bad disk')
        three = self.manager()
        self.assertEqual({'a': (True, None), 'b': (False, 'bad disk')},
                         self.shown(three))

    def test_the_commands(self):
        run = self.useFixture(base.Command())
        conf = self.conf_file()
        hosts = self.write_file('hosts.json', json.dumps(HOSTS))
        self.assertEqual(0, run('--config-file', conf, 'report', '--hosts',
                                hosts).returncode)
        self.assertEqual((0, 'disabled host a\n'),
                         run('--config-file', conf, 'disable', 'a',
                             '--reason', 'kernel 6.12')[:2])
        table = run('--config-file', conf, 'hosts').stdout.splitlines()
        self.assertIn('disabled: kernel 6.12', table[1])
        shown = json.loads(run('--config-file', conf, 'hosts', '--format',
                               'json').stdout)['hosts']
        self.assertEqual([(False, 'kernel 6.12'), (True, None)],
                         [(host['enabled'], host.get('disabled_reason'))
                          for host in shown])
        self.assertEqual('b\n', run('--config-file', conf, 'select',
                                    '--memory-mb', '1').stdout)
        self.assertEqual((0, 'enabled host a\n'),
                         run('--config-file', conf, 'enable', 'a')[:2])
        self.assertEqual((0, 'removed host b\n'),
                         run('--config-file', conf, 'remove', 'b')[:2])
        self.assertEqual(['HOST', 'a'], [
            line.split()[0] for line in
            run('--config-file', conf, 'hosts').stdout.splitlines()])
        for args, message in (
                (['disable', 'a'], 'the following arguments are required: '
                                   '--reason'),
                (['disable', 'z', '--reason', 'x'], "no host has id 'z'"),
                (['remove', 'z'], "no host has id 'z'"),
                (['disable', 'a', '--reason', ''], 'text of 1 to 255')):
            result = run('--config-file', conf, *args)
            self.assertEqual(2, result.returncode, args)
            self.assertIn(message, result.stderr)
            self.assertNotIn('Traceback', result.stderr)
