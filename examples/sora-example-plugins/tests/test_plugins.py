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

"""Tests of the example plugins, run against Sora's public plugin API."""

import unittest

from oslo_config import cfg

from sora.scheduler import exceptions
from sora.scheduler import fixture
from sora.scheduler import host_state
from sora.scheduler import request as sora_request
from sora_example_plugins import drivers
from sora_example_plugins import filters
from sora_example_plugins import weighers

# Tables are sorted by id: down, full, half.
HOSTS = host_state.parse_hosts([
    {'id': 'full', 'memory_mb': 1500, 'memory_total_mb': 8192,
     'labels': {'ssd': 'true'}},
    {'id': 'half', 'memory_mb': 4096, 'memory_total_mb': 8192},
    {'id': 'down', 'memory_mb': 8192, 'labels': {'maintenance': 'true'}},
])


def conf(**options):
    config = cfg.ConfigOpts()
    config([], project='sora-example', default_config_files=[])
    filters.register_opts(config)
    for name, value in options.items():
        config.set_override(name, value, group='example_plugins')
    return config


class LeastMemorySchedulerTest(unittest.TestCase):

    def test_packs_onto_the_fullest_fitting_host(self):
        driver = drivers.LeastMemoryScheduler(conf())
        request = sora_request.Request(memory_mb=1024)
        self.assertEqual(['full', 'half', 'half'],
                         driver.select_destinations(request, HOSTS, 3))
        self.assertRaises(exceptions.NoValidHost, driver.select_destinations,
                          sora_request.Request(memory_mb=9000), HOSTS)


class FiltersTest(unittest.TestCase):

    def test_headroom_is_vectorised(self):
        headroom = filters.HeadroomFilter(conf(min_headroom_ratio=0.25))
        mask = headroom.filter_mask(HOSTS,
                                    sora_request.Request(memory_mb=1000))
        self.assertEqual([True, False, True], mask.tolist())

    def test_no_maintenance_is_per_host(self):
        plugin = filters.NoMaintenanceFilter(conf())
        self.assertEqual([False, True, True],
                         [plugin.host_passes(host, sora_request.Request())
                          for host in HOSTS])


class SsdWeigherTest(unittest.TestCase):

    def test_prefers_ssd_with_its_multiplier(self):
        weigher = weighers.SsdWeigher(conf(ssd_weight_multiplier=3.0))
        self.assertEqual(3.0, weigher.multiplier)
        self.assertEqual([0.0, 1.0, 0.0],
                         [weigher.weigh(host, sora_request.Request())
                          for host in HOSTS])


class ThroughTheManagerTest(unittest.TestCase):
    """The plugins as Sora uses them, found by name without installing."""

    def scheduler(self, **config):
        return fixture.Scheduler(
            config=config, register_opts=filters.register_opts,
            drivers={'least_memory': drivers.LeastMemoryScheduler},
            filters={'headroom': filters.HeadroomFilter,
                     'no_maintenance': filters.NoMaintenanceFilter},
            weighers={'ssd': weighers.SsdWeigher})

    def test_filters_and_weigher_enabled_by_config(self):
        with self.scheduler(
                DEFAULT={'scheduler_driver': 'filter'},
                filter_scheduler={
                    'enabled_filters': ['enabled', 'memory', 'cpu', 'disk',
                                        'no_maintenance', 'headroom'],
                    'weighers': ['memory', 'ssd']},
                example_plugins={'ssd_weight_multiplier': 5.0}) as fix:
            self.assertEqual(['full'], fix.manager.select_destinations(
                {'memory_mb': 512}, HOSTS))
            with self.assertRaises(exceptions.NoValidHost) as caught:
                fix.manager.select_destinations({'memory_mb': 4000}, HOSTS)
            self.assertEqual([('enabled', 3), ('memory', 2),
                              ('no_maintenance', 1), ('headroom', 0)],
                             caught.exception.filter_counts)

    def test_driver_enabled_by_config(self):
        with self.scheduler(DEFAULT={'scheduler_driver': 'least_memory'}) \
                as fix:
            self.assertEqual(['full'], fix.manager.select_destinations(
                {'memory_mb': 1024}, HOSTS))

    def test_driver_on_tracked_hosts_claims_until_the_report(self):
        with self.scheduler(DEFAULT={'scheduler_driver': 'least_memory'}) \
                as fix:
            scheduler = fix.manager
            # Joined out of id order: ties still go to the lowest id.
            scheduler.update_hosts([{'id': 'n2', 'memory_mb': 2048},
                                    {'id': 'n1', 'memory_mb': 2048}])
            placed = scheduler.select_destinations(
                {'memory_mb': 1024}, consumers=['web-1'])
            self.assertEqual(['n1'], placed)
            self.assertEqual(['web-1'], [claim.consumer
                                         for claim in scheduler.claims()])
            # The container runs; n1's report lists it and settles the claim.
            scheduler.update_hosts([{'id': 'n1', 'memory_mb': 1024,
                                     'consumers': ['web-1']}])
            self.assertEqual([], scheduler.claims())
            self.assertEqual({'n1': 1024, 'n2': 2048},
                             {host.id: host.memory_mb
                              for host in scheduler.hosts()})
