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

"""Each built-in weigher alone, and the normalisation they share."""

import math
import random

import numpy as np

from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import manager
from sora.scheduler import request as sora_request
from sora.scheduler import weighing
from tests import base

HOSTS = host_state.parse_hosts([
    {'id': 'a', 'memory_mb': 1000, 'cpus': 1, 'disk_gb': 10,
     'containers': 4},
    {'id': 'b', 'memory_mb': 3000, 'containers': 0},
    {'id': 'c', 'memory_mb': 2000, 'cpus': 3, 'disk_gb': 30,
     'containers': 2},
])


class NormaliseTest(base.TestCase):

    def test_scales_to_unit_range(self):
        self.assertEqual([0, 1, 0.5], list(weighing.normalise(
            np.array([10.0, 30.0, 20.0]))))

    def test_equal_values_weigh_nothing(self):
        self.assertEqual([0, 0], list(weighing.normalise(
            np.array([7.0, 7.0]))))
        self.assertEqual([], list(weighing.normalise(np.array([]))))

    def test_unreported_counts_as_the_best(self):
        self.assertEqual([0, 1, 1], list(weighing.normalise(
            np.array([1.0, math.inf, 3.0]))))
        self.assertEqual([0, 0], list(weighing.normalise(
            np.array([math.inf, math.inf]))))


class BuiltInWeighersTest(base.TestCase):

    def weights(self, name, multiplier=None, hosts=HOSTS):
        text = '[filter_scheduler]\n'
        if multiplier is not None:
            text += f'{name}_weight_multiplier = {multiplier}\n'
        [(_, plugin)] = weighing.load([name], self.make_conf(text))
        request = sora_request.Request()
        rows = np.arange(len(hosts))
        vectorised = weighing.scores([(name, plugin)], hosts, request, rows)
        per_host = weighing.scores(
            [(name, _PerHost(name, plugin.multiplier))], hosts, request, rows)
        self.assertEqual({k: list(v) for k, v in vectorised.items()},
                         {k: list(v) for k, v in per_host.items()})
        return list(vectorised.get(name, []))

    def test_memory(self):
        self.assertEqual([0, 1, 0.5], self.weights('memory'))
        self.assertEqual([0, -2, -1], self.weights('memory', -2))
        self.assertEqual([], self.weights('memory', 0))

    def test_cpu_and_disk_unreported_is_best(self):
        self.assertEqual([0, 1, 1], self.weights('cpu'))
        self.assertEqual([0, 1, 1], self.weights('disk'))

    def test_containers_fewer_is_better(self):
        self.assertEqual([0, 1, 0.5], self.weights('containers'))
        self.assertEqual([0, -1, -0.5], self.weights('containers', -1))

    def test_forms_agree_on_random_hosts(self):
        rng = random.Random(7)
        for _ in range(20):
            hosts = host_state.parse_hosts(base.random_hosts(rng, 25))
            for name in ('memory', 'cpu', 'disk', 'containers'):
                self.weights(name, hosts=hosts)


class _PerHost:
    """What a built-in weigher weighs, as a per-host third-party weigher."""

    FIELDS = {'memory': 'memory_mb', 'cpu': 'cpus', 'disk': 'disk_gb'}

    def __init__(self, name, multiplier):
        self.name = name
        self.multiplier = multiplier

    def weigh(self, host, request):
        if self.name == 'containers':
            return -host.containers
        return getattr(host, self.FIELDS[self.name])


class ResourcesWeigherTest(base.TestCase):

    HOSTS = [{'id': 'gpu2', 'memory_mb': 100, 'resources': {'gpu': 2}},
             {'id': 'gpu8', 'memory_mb': 100, 'resources': {'gpu': 8,
                                                            'vf': 4}},
             {'id': 'plain', 'memory_mb': 100}]

    def manager(self, multipliers):
        mgr = manager.SchedulerManager(self.make_conf(
            '[DEFAULT]\nscheduler_driver = filter\n[filter_scheduler]\n'
            f'resource_weight_multipliers = {multipliers}\n'))
        mgr.update_hosts(self.HOSTS)
        return mgr

    def test_a_negative_multiplier_keeps_gpu_nodes_for_gpu_work(self):
        mgr = self.manager('gpu:-1.0')
        self.assertEqual(['plain'], mgr.select_destinations({}))
        self.assertEqual(['gpu2'], mgr.select_destinations(
            {'resources': {'gpu': 1}}))
        explanation = mgr.explain({'resources': {'gpu': 1}})
        self.assertEqual({'gpu2': 1.0, 'gpu8': 0.0}, {
            host['id']: host['weighers']['resources']
            for host in explanation['ranking']})

    def test_a_positive_multiplier_spreads_and_several_add_up(self):
        self.assertEqual(['gpu8'], self.manager('gpu:1.0').
                         select_destinations({'resources': {'gpu': 1}}))
        # 8 of 8 GPUs and 4 of 4 VFs free outweigh 2 of 8 GPUs free.
        mgr = self.manager('gpu:-1.0,vf:-3')
        self.assertEqual(['gpu2'], mgr.select_destinations(
            {'resources': {'gpu': 1}}))
        weigher = dict(mgr.driver.weighers)['resources']
        self.assertEqual(4.0, weigher.multiplier)

    def test_unset_it_weighs_nothing(self):
        mgr = self.manager('')
        self.assertEqual(0.0, dict(mgr.driver.weighers)['resources']
                         .multiplier)
        self.assertNotIn('resources', mgr.explain({})['ranking'][0][
            'weighers'])

    def test_bad_multipliers_are_a_config_error(self):
        for value, message in (
                ('GPU:1', "GPU:1.0 is not NAME:MULTIPLIER with a resource "
                          "name (1-63 characters"),
                ('gpu:nan', 'gpu:nan is not NAME:MULTIPLIER'),
                ('gpu:x', 'resource_weight_multipliers'),
                ('gpu', 'resource_weight_multipliers')):
            with self.subTest(value=value):
                error = self.assertRaises(exceptions.InvalidConfig,
                                          self.manager, value)
                self.assertIn(message, str(error))
