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

"""Filters and weighers that raise, answer nonsense or take too long."""

import logging
import sys
import time

import fixtures
import numpy as np

from sora.scheduler import base as base_driver
from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import manager
from tests import base

HOSTS = [{'id': f'n{i}', 'memory_mb': 1024 * (i + 1),
          'labels': {'rack': str(i)}} for i in range(4)]
REQUIRED = ['enabled', 'memory', 'cpu', 'disk', 'resources']


class FailsOnLabels:
    """Raises for requests with labels: the next request still works."""

    def __init__(self, conf=None):
        pass

    def filter_mask(self, hosts, request):
        if request.labels:
            raise RuntimeError('label index is corrupt')
        return np.ones(len(hosts), dtype=bool)


class RaisesPerHost:
    def __init__(self, conf=None):
        pass

    def host_passes(self, host, request):
        raise KeyError('rack')


class ShortMask:
    def __init__(self, conf=None):
        pass

    def filter_mask(self, hosts, request):
        return np.ones(len(hosts) - 1, dtype=bool)


class IntMask:
    def __init__(self, conf=None):
        pass

    def filter_mask(self, hosts, request):
        return np.ones(len(hosts), dtype=int)


class MaybePerHost:
    def __init__(self, conf=None):
        pass

    def host_passes(self, host, request):
        return None if host.id == 'n2' else True


class Slow:
    def __init__(self, conf=None):
        pass

    def host_passes(self, host, request):
        time.sleep(0.05)
        return True


class NanWeigher:
    def __init__(self, conf=None):
        pass

    def weigh_all(self, hosts, request):
        values = hosts.memory_mb.copy()
        values[1] = np.nan
        return values


class WordWeigher:
    def __init__(self, conf=None):
        pass

    def weigh(self, host, request):
        return 'heavy'


class NanMultiplier(NanWeigher):
    multiplier = float('nan')

    def weigh_all(self, hosts, request):
        return hosts.memory_mb


class RaisingWeigher:
    def __init__(self, conf=None):
        pass

    def weigh(self, host, request):
        return 1 / 0


FILTERS = {'fails_on_labels': FailsOnLabels, 'raises': RaisesPerHost,
           'short': ShortMask, 'ints': IntMask, 'maybe': MaybePerHost,
           'slow': Slow}
WEIGHERS = {'nan': NanWeigher, 'word': WordWeigher,
            'nan_multiplier': NanMultiplier, 'raises': RaisingWeigher}


class MisbehavingPluginTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.ERROR))

    def scheduler(self, filters=(), weighers=('memory',), **defaults):
        return self.useFixture(fixture.Scheduler(
            filters=FILTERS, weighers=WEIGHERS,
            config={'DEFAULT': dict(defaults, scheduler_driver='filter'),
                    'filter_scheduler': {
                        'enabled_filters': REQUIRED + list(filters),
                        'weighers': list(weighers)}})).manager

    def assertFails(self, mgr, message, request=None, tracked=False):
        error = self.assertRaises(
            exceptions.PluginError, mgr.select_destinations, request or {},
            None if tracked else HOSTS)
        self.assertIn(message, str(error))
        self.assertIsInstance(error, exceptions.SchedulerError)
        return error

    def test_a_raising_filter_fails_the_decision_only(self):
        mgr = self.scheduler(['labels', 'fails_on_labels'])
        mgr.update_hosts(HOSTS)
        self.assertFails(mgr, "filter 'fails_on_labels' failed: "
                              "RuntimeError: label index is corrupt",
                         {'labels': {'rack': '1'}}, tracked=True)
        self.assertEqual([0] * 4, [h.containers for h in mgr.hosts()])
        self.assertEqual(['n3'], mgr.select_destinations({}))
        self.assertEqual(1, self.logs.output.count('Decision failed'))

    def test_a_per_host_filter_raising_is_logged_once(self):
        self.assertFails(self.scheduler(['raises']),
                         "filter 'raises' failed: KeyError: 'rack'")
        self.assertEqual(1, self.logs.output.count('Decision failed'))

    def test_wrong_shapes_from_filters(self):
        self.assertFails(self.scheduler(['short']),
                         "filter 'short' returned bool values of shape (3,), "
                         "not 4 booleans (one per host)")
        self.assertFails(self.scheduler(['ints']),
                         "filter 'ints' returned int64 values of shape (4,)")
        self.assertFails(self.scheduler(['maybe']),
                         "filter 'maybe' answered None for host 'n2', not "
                         "True or False")

    def test_a_slow_plugin_fails_the_decision(self):
        mgr = self.scheduler(['slow'], plugin_time_limit=0.1)
        error = self.assertFails(mgr, "filter 'slow' took 0.")
        self.assertRegex(str(error), r"took 0\.[0-9]+ s, more than "
                                     r"\[DEFAULT\] plugin_time_limit = 0\.1 s")
        mgr = self.scheduler(['slow'], plugin_time_limit=0)
        self.assertEqual(['n3'], mgr.select_destinations({}, HOSTS))

    def test_weighers_answering_nonsense(self):
        self.assertFails(self.scheduler(weighers=['nan']),
                         "weigher 'nan' answered NaN")
        self.assertFails(self.scheduler(weighers=['word']),
                         "weigher 'word' did not answer one number per host")
        self.assertFails(self.scheduler(weighers=['raises']),
                         "weigher 'raises' failed: ZeroDivisionError")

    def test_a_bad_multiplier_fails_when_the_manager_is_built(self):
        self.useFixture(fixture.Plugins(weighers=WEIGHERS))
        conf = self.make_conf('[DEFAULT]\nscheduler_driver = filter\n'
                              '[filter_scheduler]\nweighers = nan_multiplier')
        error = self.assertRaises(exceptions.InvalidConfig,
                                  manager.SchedulerManager, conf)
        self.assertIn("weigher 'nan_multiplier' has multiplier nan, not a "
                      "finite number", str(error))
        mgr = self.scheduler(weighers=['memory'])
        mgr.driver.weighers[0][1].multiplier = 'heavy'  # after the build
        self.assertFails(mgr, "weigher 'memory' has multiplier 'heavy', not "
                              "a finite number")

    def test_explain_fails_the_same_way(self):
        error = self.assertRaises(exceptions.PluginError,
                                  self.scheduler(weighers=['nan']).explain,
                                  {}, HOSTS)
        self.assertIn("weigher 'nan' answered NaN", str(error))


class Obstinate(base_driver.Scheduler):
    """Answers the same hosts, in order, whatever the request asks."""

    answer = ('n0',)

    def select_destinations(self, request, hosts, count=1):
        return list(self.answer[:count])


class Exits(base_driver.Scheduler):
    """Ends the process, if nothing stops it."""

    def select_destinations(self, request, hosts, count=1):
        sys.exit(0)


class Raises(base_driver.Scheduler):
    """Fails with whatever error its class names."""

    error = KeyError

    def select_destinations(self, request, hosts, count=1):
        raise self.error('n9')

    def explain(self, request, hosts, top=5):
        raise self.error('n9')


class MisbehavingDriverTest(base.TestCase):
    """Whatever a driver answers, no constraint of the request is broken."""

    GROUPED = [{'id': 'n0', 'memory_mb': 4096, 'groups': ['web'],
                'labels': {'zone': 'az1'}, 'resources': {'gpu': 1}},
               {'id': 'n1', 'memory_mb': 4096, 'labels': {'zone': 'az2'}},
               {'id': 'n2', 'memory_mb': 1024, 'enabled': False},
               {'id': 'n3', 'memory_mb': 4096, 'taints': [
                   {'key': 'dedicated', 'effect': 'no_schedule'}]}]

    def manager(self, driver):
        return self.useFixture(fixture.Scheduler(
            drivers={'odd': driver},
            config={'DEFAULT': {'scheduler_driver': 'odd'}})).manager

    def test_every_hard_constraint_is_checked(self):
        cases = [
            (('n1',), {'labels': {'zone': 'az1'}}, 'filter labels'),
            (('n0',), {'same_host': ['n1']}, 'filter same_host'),
            (('n0',), {'different_host': ['n0']}, 'filter different_host'),
            (('n0',), {'group': 'web', 'group_policy': 'anti-affinity'},
             'filter anti_affinity'),
            (('n1',), {'group': 'web', 'group_policy': 'affinity'},
             'filter affinity'),
            (('n2',), {}, 'filter enabled'),
            (('n1',), {'memory_mb': 5000}, 'filter memory'),
            (('n1',), {'resources': {'gpu': 1}}, 'filter resources'),
            (('n3',), {'tolerations': [{'key': 'dedicated', 'value': 'x'}]},
             'filter taints'),
            (('n1',), {'constraints': [{'key': 'zone', 'op': 'not_in',
                                        'values': ['az2']}]},
             'filter constraints'),
            (('n0', 'n0'), {'resources': {'gpu': 1}},
             "filter resources refuses host 'n0' for placement 2 of 2"),
            (('n1', 'n1'), {'memory_mb': 3000},
             "filter memory refuses host 'n1' for placement 2 of 2"),
            (('n1', 'n1'), {'group': 'new', 'group_policy': 'anti-affinity'},
             "filter anti_affinity refuses host 'n1' for placement 2 of 2"),
            (('n0', 'n1'), {'group': 'new', 'group_policy': 'affinity'},
             "filter affinity refuses host 'n1' for placement 2 of 2"),
            (('n1',), {'group': 'web', 'group_policy': 'affinity',
                       'topology_key': 'zone'}, 'filter affinity'),
            (('n1', 'n1'), {'group': 'new', 'group_policy': 'anti-affinity',
                            'topology_key': 'zone'},
             "filter anti_affinity refuses host 'n1' for placement 2 of 2"),
            (('n0',), {'group': 'web', 'spread': {'key': 'zone'}},
             'filter spread'),
            (('n1', 'n1'), {'group': 'new', 'spread': {'key': 'zone'}},
             "filter spread refuses host 'n1' for placement 2 of 2"),
        ]
        for answer, request, reason in cases:
            with self.subTest(answer=answer, request=request):
                driver = type('Answer', (Obstinate,), {'answer': answer})
                mgr = self.manager(driver)
                mgr.update_hosts(self.GROUPED)
                before = [host.to_dict() for host in mgr.hosts()]
                for hosts in (None, self.GROUPED):
                    error = self.assertRaises(
                        exceptions.PluginError, mgr.select_destinations,
                        request, hosts, count=len(answer))
                    self.assertIn('driver odd chose hosts that do not fit',
                                  str(error))
                    self.assertIn(reason, str(error))
                    self.assertIn('nothing was placed', str(error))
                self.assertEqual(before,
                                 [host.to_dict() for host in mgr.hosts()])

    def test_an_answer_that_fits_is_placed(self):
        driver = type('Answer', (Obstinate,), {'answer': ('n0', 'n0')})
        mgr = self.manager(driver)
        mgr.update_hosts(self.GROUPED)
        self.assertEqual(['n0', 'n0'], mgr.select_destinations(
            {'memory_mb': 2048, 'labels': {'zone': 'az1'},
             'group': 'web', 'group_policy': 'affinity'}, count=2))
        self.assertEqual(0, mgr.hosts()[0].memory_mb)
        error = self.assertRaises(exceptions.InvalidRequest, mgr.explain, {})
        self.assertEqual('driver Answer cannot explain its decisions',
                         str(error))

    def test_a_driver_calling_sys_exit_fails_the_decision(self):
        mgr = self.manager(Exits)
        error = self.assertRaises(exceptions.PluginError,
                                  mgr.select_destinations, {}, self.GROUPED)
        self.assertIn("driver 'odd' failed: SystemExit", str(error))

    def test_any_exception_a_driver_raises_is_a_plugin_error(self):
        logs = self.useFixture(fixtures.FakeLogger(level=logging.ERROR))
        for error in (KeyError, TypeError, ValueError, IndexError,
                      AttributeError, ZeroDivisionError):
            with self.subTest(error=error.__name__):
                mgr = self.manager(type('Raising', (Raises,),
                                        {'error': error}))
                for call in (mgr.select_destinations, mgr.explain):
                    failure = self.assertRaises(exceptions.PluginError, call,
                                                {}, self.GROUPED)
                    self.assertIn(f"driver 'odd' failed: {error.__name__}",
                                  str(failure))
        self.assertIn("Decision failed: driver 'odd' failed: KeyError",
                      logs.output)
