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

"""The driver API every scheduler plugin implements.

A driver is a class registered under the ``sora.scheduler`` entry point
namespace. The manager builds it once as ``Driver(conf=conf)`` and calls
``select_destinations(request, hosts, count)`` for every decision:

* ``request`` is a :class:`sora.scheduler.host_state.Request`
  (``request.memory_mb``, ``request.cpus``, ``request.disk_gb``,
  ``request.labels``), already validated;
* ``hosts`` is a :class:`sora.scheduler.host_state.HostTable`: a read-only
  sequence of :class:`~sora.scheduler.host_state.Host` objects sorted by id
  (``host.id``, ``host.memory_mb``, ``host.labels``, ...) that also
  exposes its columns as NumPy arrays for vectorised drivers;
* the driver returns a list of ``count`` host ids, best first, or raises
  :class:`sora.scheduler.exceptions.NoValidHost`. It must not change
  ``hosts``; :meth:`HostTable.consume` gives the copy in which a pick
  has taken its resources, so ``count > 1`` never oversubscribes a host.

Drivers need to implement only :meth:`Scheduler.select_destinations`; the
seed-compatible :meth:`Scheduler.scheduler` is built on it.
"""

import abc

from oslo_config import cfg

from sora.scheduler import host_state


class Scheduler(metaclass=abc.ABCMeta):
    """Base class of scheduler drivers.

    :param conf: the :class:`oslo_config.cfg.ConfigOpts` holding Sora's
        options; the global ``cfg.CONF`` when omitted.
    """

    def __init__(self, conf=None):
        self.conf = cfg.CONF if conf is None else conf

    @abc.abstractmethod
    def select_destinations(self, request, hosts, count=1):
        """Return the ids of ``count`` hosts for ``request``, best first.

        :param request: a validated :class:`~host_state.Request`.
        :param hosts: a :class:`~host_state.HostTable`.
        :param count: how many containers to place (all or nothing).
        :raises NoValidHost: when fewer than ``count`` placements exist.
        """

    def scheduler(self, data):
        """Seed-compatible: return the node id chosen from the seed's data.

        :param data: ``{free memory: node id, ..., 'memory': [free memory,
            ...]}``, as in the blog post Sora grew from.
        """
        hosts = host_state.hosts_from_seed(data)
        return self.select_destinations(host_state.Request(), hosts)[0]


def place(request, hosts, count, choose):
    """Pick ``count`` hosts one at a time, each pick taking its resources.

    A helper for drivers: ``choose(hosts, mask)`` returns the row to use
    among the rows where ``mask`` (the hosts that fit) is true; it is
    called again on a table in which the previous pick has consumed the
    request. All or nothing: raises :class:`NoValidHost` when fewer than
    ``count`` picks are possible.
    """
    chosen = []
    for placed in range(count):
        mask = hosts.fits(request)
        if not mask.any():
            raise hosts.no_valid_host(request, count, placed)
        row = choose(hosts, mask)
        chosen.append(hosts.ids[row])
        if placed + 1 < count:
            hosts = hosts.consume(row, request)
    return chosen
