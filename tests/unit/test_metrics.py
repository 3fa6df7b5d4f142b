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

"""Prometheus metrics, scraped from a real /metrics endpoint over HTTP."""

import gc
import socket
import urllib.request

import prometheus_client
from prometheus_client import parser

from sora.scheduler import exceptions
from sora.scheduler import manager
from sora.scheduler.stores import base as host_store
from sora.scheduler.stores import memory
from tests import base
from tests.unit import test_etcd_store

settle = test_etcd_store.settle
HOSTS = [{'id': 'a', 'memory_mb': 3000}, {'id': 'b', 'memory_mb': 1000}]


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def scrape(port):
    """Return ``{manager label: {(name, ((label, value), ...)): value}}``.

    Of the sora_scheduler_* samples served at *port*, read over HTTP and
    parsed by prometheus_client's own parser; ``_created`` samples left out.
    """
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics',
                                timeout=10) as answer:
        text = answer.read().decode()
    found = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            label = labels.pop('manager', None)
            if not sample.name.startswith('sora_scheduler_') or \
                    sample.name.endswith('_created') or label is None:
                continue
            found.setdefault(label, {})[
                sample.name, tuple(sorted(labels.items()))] = sample.value
    return found


def sample(name, **labels):
    """Return a sample's value in the default registry, or None."""
    return prometheus_client.REGISTRY.get_sample_value(name, labels)


def counts(samples):
    """The samples of one manager without histogram buckets and sums."""
    return {key: value for key, value in samples.items()
            if not key[0].endswith(('_bucket', '_sum'))
            and 'store_call' not in key[0]}


def expected(placed=0, no_valid_host=0, conflict=0, error=0, made=0,
             settled=0, released=0, expired=0, lost=0, reports=0, hosts=0,
             claims=0, failed=()):
    """The counts of a manager, as :func:`counts` shows them."""
    decisions = {'placed': placed, 'no_valid_host': no_valid_host,
                 'conflict': conflict, 'error': error}
    events = {'made': made, 'settled': settled, 'released': released,
              'expired': expired}
    found = {('sora_scheduler_decisions_total', (('outcome', outcome),)):
             value for outcome, value in decisions.items()}
    found.update({('sora_scheduler_claim_events_total', (('event', event),)):
                  value for event, value in events.items()})
    found.update({('sora_scheduler_no_valid_host_total',
                   (('filter', name),)): value for name, value in failed})
    found[('sora_scheduler_decision_seconds_count', ())] = sum(
        decisions.values())
    found[('sora_scheduler_lost_races_total', ())] = lost
    found[('sora_scheduler_reports_applied_total', ())] = reports
    found[('sora_scheduler_hosts', ())] = hosts
    found[('sora_scheduler_claims_outstanding', ())] = claims
    return found


class LosingStore(memory.MemoryHostStore):
    """A memory store whose commits always lose the race."""

    def commit(self, version, request, placements):
        raise exceptions.Conflict('another decision took the host')


class MemoryStoreMetricsTest(base.TestCase):

    def manager(self, text, store=None, name='sora.conf'):
        conf = self.make_conf(text, name)
        mgr = manager.SchedulerManager(
            conf, store if store is None else store(conf))
        self.addCleanup(mgr.close)
        return mgr

    def test_a_scripted_sequence_is_counted_exactly(self):
        port, clock = free_port(), base.Clock(1000.0)
        mgr = self.manager(
            '[DEFAULT]\nscheduler_driver = filter\n'
            '[scheduler]\nclaim_timeout = 60\n'
            f'[metrics]\nbind = 127.0.0.1:{port}\n',
            lambda conf: memory.MemoryHostStore(conf, clock))
        label = mgr._counting.label
        self.assertEqual(expected(), counts(scrape(port)[label]))
        mgr.update_hosts(HOSTS)
        self.assertEqual(['a', 'a'], mgr.select_destinations(
            {'memory_mb': 500}, count=2, consumers=['c1', 'c2']))
        mgr.select_destinations({'memory_mb': 500}, consumers=['c3'])
        mgr.select_destinations({'memory_mb': 500}, dry_run=True)
        mgr.select_destinations({'memory_mb': 500}, hosts=HOSTS)
        self.assertRaises(exceptions.NoValidHost, mgr.select_destinations,
                          {'memory_mb': 99999})
        self.assertRaises(exceptions.NoValidHost, mgr.select_destinations,
                          {'memory_mb': 100, 'labels': {'zone': 'x'}},
                          dry_run=True)
        self.assertRaises(exceptions.InvalidRequest,
                          mgr.select_destinations, {'memory_mb': -1})
        self.assertRaises(exceptions.InvalidRequest,
                          mgr.select_destinations, {'memory_mb': 1},
                          consumers=['c1'])
        self.assertEqual(expected(
            placed=4, no_valid_host=2, error=2, made=3, reports=2, hosts=2,
            claims=3, failed=[('memory', 1), ('labels', 1)]),
            counts(scrape(port)[label]))
        # c1 settled by its node's report, c2 released, c3 expired.
        mgr.update_hosts([dict(HOSTS[0], memory_mb=2500,
                               consumers=['c1'])])
        mgr.release('c2')
        clock.now += 61
        self.assertEqual([], mgr.claims())  # expired at the first call
        self.assertEqual(expected(
            placed=4, no_valid_host=2, error=2, made=3, settled=1,
            released=1, expired=1, reports=3, hosts=2, claims=0,
            failed=[('memory', 1), ('labels', 1)]),
            counts(scrape(port)[label]))
        # Removing a host releases the claims on it.
        mgr.select_destinations({'memory_mb': 100}, count=2,
                                consumers=['c4', 'c5'])
        mgr.remove_host('a')
        samples = counts(scrape(port)[label])
        self.assertEqual(5, samples['sora_scheduler_claim_events_total',
                                    (('event', 'made'),)])
        self.assertEqual(3, samples['sora_scheduler_claim_events_total',
                                    (('event', 'released'),)])
        self.assertEqual(1, samples['sora_scheduler_hosts', ()])

    def test_decisions_that_keep_losing_races_are_conflicts(self):
        mgr = self.manager('', LosingStore)
        mgr.update_hosts(HOSTS)
        self.assertRaises(exceptions.NoValidHost, mgr.select_destinations,
                          {'memory_mb': 100})
        label = mgr._counting.label
        self.assertEqual(1, sample('sora_scheduler_decisions_total',
                                   manager=label, outcome='conflict'))
        self.assertEqual(0, sample('sora_scheduler_decisions_total',
                                   manager=label, outcome='no_valid_host'))
        self.assertEqual(host_store.ATTEMPTS, sample(
            'sora_scheduler_lost_races_total', manager=label))

    def test_managers_of_one_process_count_apart_until_closed(self):
        # Several managers register nothing twice; each counts under its
        # own label; a closed one's series go, and it counts no more.
        one, two = self.manager(''), self.manager('', name='two.conf')
        for mgr in (one, two):
            mgr.update_hosts(HOSTS)
        one.select_destinations({'memory_mb': 100})
        two.select_destinations({'memory_mb': 100}, count=2)
        labels = [mgr._counting.label for mgr in (one, two)]
        self.assertNotEqual(*labels)
        for label, made in zip(labels, (1, 2)):
            self.assertEqual(made, sample('sora_scheduler_claim_events_total',
                                          manager=label, event='made'))
            self.assertEqual(2, sample('sora_scheduler_hosts', manager=label))
        one.close()
        one.select_destinations({'memory_mb': 100})
        for name, extra in (('sora_scheduler_decisions_total',
                             {'outcome': 'placed'}),
                            ('sora_scheduler_claim_events_total',
                             {'event': 'made'}),
                            ('sora_scheduler_decision_seconds_count', {}),
                            ('sora_scheduler_hosts', {}),
                            ('sora_scheduler_claims_outstanding', {})):
            self.assertIsNone(sample(name, manager=labels[0], **extra), name)
        self.assertIn(f'manager="{labels[1]}"',
                      prometheus_client.generate_latest().decode())
        self.assertEqual(2, sample('sora_scheduler_claims_outstanding',
                                   manager=labels[1]))

    def test_a_manager_nobody_holds_stops_counting(self):
        mgr = manager.SchedulerManager(self.make_conf())
        label = mgr._counting.label
        self.assertEqual(0, sample('sora_scheduler_hosts', manager=label))
        del mgr
        gc.collect()
        self.assertIsNone(sample('sora_scheduler_hosts', manager=label))
        self.assertIsNone(sample('sora_scheduler_decisions_total',
                                 manager=label, outcome='placed'))


class ServingTest(base.TestCase):

    def test_managers_binding_one_address_share_its_server(self):
        port = free_port()
        text = f'[metrics]\nbind = 127.0.0.1:{port}\n'
        one = manager.SchedulerManager(self.make_conf(text))
        two = manager.SchedulerManager(self.make_conf(text, 'two.conf'))
        self.assertEqual({one._counting.label, two._counting.label},
                         set(scrape(port)) & {one._counting.label,
                                              two._counting.label})
        one.close()
        self.assertNotIn(one._counting.label, scrape(port))
        two.close()
        self.assertRaises(OSError, scrape, port)
        # The port is free again.
        manager.SchedulerManager(self.make_conf(text, 'three.conf')).close()

    def test_a_port_in_use_is_an_invalid_config(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            conf = self.make_conf(f'[metrics]\nbind = 127.0.0.1:{port}\n')
            error = self.assertRaises(exceptions.InvalidConfig,
                                      manager.SchedulerManager, conf)
            self.assertIn(f'[metrics] bind (set in {conf.config_file[0]}): '
                          f'cannot serve metrics at 127.0.0.1 port {port}: '
                          'Address already in use', str(error))
            command = self.useFixture(base.Command())
            result = command('--config-file', conf.config_file[0], 'check')
            self.assertEqual(2, result.returncode)
            self.assertIn(f'FAILED  metrics: [metrics] bind (set in '
                          f'{conf.config_file[0]}): cannot serve metrics at '
                          f'127.0.0.1 port {port}: Address already in use',
                          result.stdout.splitlines())
            self.assertNotIn('Traceback', result.stderr)
            # Commands serve nothing: they would take the service's port.
            result = command('--config-file', conf.config_file[0],
                             'select', '--hosts', '-', stdin='[{"id": "a", '
                             '"memory_mb": 1}]')
            self.assertEqual((0, 'a\n'), result[:2])

    def test_a_bad_address_is_a_bad_value(self):
        command = self.useFixture(base.Command())
        for value in ('9180', 'localhost', 'host:0', 'host:65536', '::1:80',
                      'a b:80', 'host:http'):
            conf = self.write_file('bad.conf', f'[metrics]\nbind = {value}\n')
            result = command('--config-file', conf, 'drivers')
            self.assertEqual(2, result.returncode, value)
            self.assertIn(f'[metrics] bind (set in {conf}): ', result.stderr)
            self.assertIn('is not HOST:PORT', result.stderr)
            self.assertNotIn('Traceback', result.stderr)

    def test_check_reports_a_free_address(self):
        port = free_port()
        conf = self.write_file('sora.conf', f'[metrics]\nbind = :{port}\n')
        result = self.useFixture(base.Command())('--config-file', conf,
                                                 'check')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn(f'OK      metrics: serves http://:{port}/metrics (the '
                      'address is free)', result.stdout.splitlines())


class EtcdStoreMetricsTest(test_etcd_store.EtcdStoreTestCase):

    def test_two_managers_sharing_etcd_count_their_own_claims(self):
        # Each claim counts with the manager that made it, whoever ends it;
        # each manager counts the reports its watch applies.
        port = free_port()
        one, two = (self.manager(self.make_conf(
            self.conf_text() + f'[metrics]\nbind = 127.0.0.1:{port}\n'
            f'[scheduler]\nclaim_timeout = {timeout}\n', name))
            for timeout, name in ((600, 'one.conf'), (1, 'two.conf')))
        labels = one._counting.label, two._counting.label
        one.update_hosts(HOSTS)
        settle(lambda: len(two.hosts()) == 2)
        one.select_destinations({'memory_mb': 500}, count=2,
                                consumers=['c1', 'c2'])
        settle(lambda: len(two.claims()) == 2)  # else it may lose a race
        two.select_destinations({'memory_mb': 500}, consumers=['c3'])
        self.assertRaises(exceptions.NoValidHost, two.select_destinations,
                          {'memory_mb': 99999})
        settle(lambda: len(one.claims()) == len(two.claims()) == 3)
        two.release('c1')  # one's claim: one counts it
        one.update_hosts([dict(HOSTS[0], memory_mb=2000,
                               consumers=['c2'])])  # settles c2
        settle(lambda: not {'c1', 'c2'} & {c.consumer for c in one.claims()})
        settle(lambda: two.claims() == [], timeout=15)  # c3 expires
        settle(lambda: one.claims() == [])

        def both():
            found = scrape(port)
            return {label: counts(found[label]) for label in labels}

        want = {labels[0]: expected(placed=1, made=2, settled=1, released=1,
                                    reports=3, hosts=2),
                labels[1]: expected(placed=1, no_valid_host=1, made=1,
                                    expired=1, reports=3, hosts=2,
                                    failed=[('memory', 1)])}
        settle(lambda: all(
            {key: value for key, value in both()[label].items()
             if key in want[label]} == want[label] for label in labels))
        settle(lambda: all(
            scrape(port)[label]['sora_scheduler_store_lag_revisions', ()] ==
            scrape(port)[label]['sora_scheduler_store_lag_seconds', ()] == 0
            for label in labels))
        samples = scrape(port)
        for label in labels:
            mine = samples[label]
            self.assertGreater(mine['sora_scheduler_watch_events_total', ()],
                               0)
            self.assertEqual(0, mine['sora_scheduler_watch_restarts_total',
                                     ()])
            self.assertEqual(0, mine['sora_scheduler_relists_total', ()])
            self.assertGreater(mine['sora_scheduler_store_call_seconds_count',
                                    (('operation', 'kv/txn'),)], 0)
            self.assertNotIn(('sora_scheduler_store_errors_total',
                              (('operation', 'kv/txn'),)), mine)
