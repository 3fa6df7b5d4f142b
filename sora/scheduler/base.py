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

"""The API every scheduler plugin implements: drivers, filters, weighers.

Each plugin is a class registered under an entry point namespace and built
once as ``Plugin(conf=conf)`` with the manager's
:class:`oslo_config.cfg.ConfigOpts`. The base classes here accept that
keyword; a plugin without a Sora base class needs only
``__init__(self, conf=None)`` and its method.

What plugins receive:

* ``request`` is a :class:`sora.scheduler.request.Request`
  (``request.memory_mb``, ``request.cpus``, ``request.disk_gb``,
  ``request.labels``, ``request.same_host``, ``request.different_host``,
  ``request.group``, ``request.group_policy``, ``request.topology_key``,
  ``request.spread``, ...), already validated;
* ``hosts`` is a :class:`sora.scheduler.host_table.HostTable`: a read-only
  sequence of :class:`~sora.scheduler.host_table.Host` objects
  (``host.id``, ``host.memory_mb``, ``host.labels``, ``host.groups``, ...)
  whose columns are also NumPy arrays (``hosts.memory_mb``, ...) for
  vectorised code. Rows are not necessarily in id order: ties are broken
  by id with ``hosts.best()`` or the ``hosts.id_rank`` column. Amounts are
  in the documented units and exact (whole MB, 1/1000 CPUs, GB). Per-host
  plugin methods get one ``Host`` at a time and never see the table.

Drivers (namespace ``sora.scheduler``)
    A subclass of :class:`Scheduler`: ``select_destinations(request, hosts,
    count)`` returns ``count`` host ids, best first, or raises
    :class:`~sora.scheduler.exceptions.NoValidHost`; :meth:`HostTable.consume`
    gives the table in which a pick has taken its resources, so
    ``count > 1`` never oversubscribes a host, and
    :func:`sora.scheduler.filtering.place` is that loop. Whatever a driver
    answers, the manager checks it against every hard constraint of the
    request (fit, labels, host lists, group policy) and places nothing a
    check refuses. The soft rules (``request.preferences``, the soft group
    policies) are the driver's to weigh: never checked, never a reason for
    ``NoValidHost``. A driver may also implement ``explain``.

Filters (namespace ``sora.scheduler.filters``)
    :class:`Filter`: either vectorised, ``filter_mask(hosts, request)``
    returning a boolean array with one entry per row (or ``None`` when the
    request gives it nothing to check), as every built-in filter is, or per
    host, ``host_passes(host, request)`` returning a bool. A vectorised
    filter that sets ``needs_candidates = True`` runs after the others and
    is called as ``filter_mask(hosts, request, candidates)``, with the mask
    of the hosts the request's other hard rules keep (see
    :func:`sora.scheduler.filtering.run`).

Weighers (namespace ``sora.scheduler.weighers``)
    :class:`Weigher`: either vectorised, ``weigh_all(hosts, request)``
    returning one number per row (or ``None`` when the request gives it
    nothing to weigh), as every built-in weigher is, or per host,
    ``weigh(host, request)``.
    Higher is better; the filter driver normalises each weigher's numbers
    to 0..1 across the candidates and multiplies them by the weigher's
    ``multiplier`` (1.0 when it has none) before adding them up.
"""

import abc

from oslo_config import cfg

from sora import conf as sora_conf
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import request as sora_request


class Plugin:
    """Base class of every Sora plugin: keeps the configuration.

    :param conf: the :class:`oslo_config.cfg.ConfigOpts` holding Sora's
        options (registered on it if need be); the global ``cfg.CONF`` when
        omitted.
    """

    def __init__(self, conf=None):
        self.conf = cfg.CONF if conf is None else conf
        sora_conf.register_opts(self.conf)


class Filter(Plugin):
    """Base class of filters; implement ``filter_mask`` or ``host_passes``.

    :meth:`describe` may say what the request needed, and
    :meth:`describe_refusal` why no host passed, for the
    :class:`~sora.scheduler.exceptions.NoValidHost` explanation.
    ``request_fields`` names the request constraints the filter enforces
    (``labels``, ``same_host``, ``different_host``, or a group policy): the
    filter driver refuses a request whose constraint no enabled filter
    enforces, instead of ignoring it.
    """

    request_fields = ()

    def describe(self, request):
        """Return what *request* asks of hosts, or ``None``."""
        return None

    def describe_refusal(self, hosts, request, candidates):
        """Return why no host of *candidates* passes, or ``None``.

        Asked only when this filter leaves no host (*candidates* is the
        mask of those it was given): the explanation then shows this
        instead of :meth:`describe`.
        """
        return None


class Weigher(Plugin):
    """Base class of weighers; implement ``weigh_all`` or ``weigh``.

    ``multiplier`` scales the normalised weights: positive prefers hosts
    with more of what is weighed (spreading), negative fewer (packing),
    0 switches the weigher off.
    """

    multiplier = 1.0


class Scheduler(Plugin, metaclass=abc.ABCMeta):
    """Base class of scheduler drivers."""

    @abc.abstractmethod
    def select_destinations(self, request, hosts, count=1):
        """Return the ids of ``count`` hosts for ``request``, best first.

        :param request: a validated :class:`~sora.scheduler.request.Request`.
        :param hosts: a :class:`~host_state.HostTable`.
        :param count: how many containers to place (all or nothing).
        :raises NoValidHost: when fewer than ``count`` placements exist.
        """

    def explain(self, request, hosts, top=5, count=None):
        """Return how the driver ranks *hosts* for *request*, choosing none.

        A mapping: ``hosts_total``, ``filter_counts`` (as in
        :class:`~sora.scheduler.exceptions.NoValidHost`) and ``ranking``,
        the best *top* candidates, each ``{"id", "weight", "weighers":
        {name: weighted score}}``; ``chosen_among`` (optional), how many of
        the best candidates a pick is drawn from at random (1: always the
        best); ``avoided`` (optional), how many hosts that pass were left
        out for a ``prefer_no_schedule`` taint; with *count*, also
        ``destinations``: what ``select_destinations(request, hosts,
        count)`` would answer, decided from the same run of the filters.
        Optional: this default says the driver cannot explain itself.

        :raises InvalidRequest: the driver does not explain its decisions.
        """
        raise exceptions.InvalidRequest(
            f'driver {type(self).__name__} cannot explain its decisions')

    def scheduler(self, data):
        """Seed-compatible: return the node id chosen from the seed's data.

        :param data: ``{free memory: node id, ..., 'memory': [free memory,
            ...]}``, as in the blog post Sora grew from.
        """
        hosts = host_state.hosts_from_seed(data)
        return self.select_destinations(sora_request.Request(), hosts)[0]
