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

"""SchedulerManager: what other Sora services embed to place containers.

Data flows one way: config -> manager -> driver -> host ids. The manager
validates callers' plain mappings once and hands the driver read-only
objects; it never changes what the caller passed in. Like nova-scheduler's
HostManager it also tracks hosts between decisions (node reports in,
claims out) in a :class:`~sora.scheduler.host_store.HostStore`.
"""

import operator
import threading

from oslo_config import cfg
from oslo_log import log as logging

from sora import conf as sora_conf
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import host_store
from sora.scheduler import plugins

LOG = logging.getLogger(__name__)

MAX_COUNT = 1000
"""The most destinations one call may ask for."""


class SchedulerManager:
    """Builds the configured scheduler driver and asks it for decisions.

    Every method is safe to call from many threads at once.

    :param conf: a :class:`oslo_config.cfg.ConfigOpts`, parsed or not; the
        global ``cfg.CONF`` when omitted. Sora's options are registered on
        it (idempotently) and ``[DEFAULT] scheduler_driver`` names the
        driver, an entry point in the ``sora.scheduler`` namespace.
    :param store: the :class:`~host_store.HostStore` of tracked hosts; a
        new in-process :class:`~host_store.MemoryHostStore` by default.
    :raises DriverNotFound: no driver of that name is installed.
    :raises DriverLoadError: the driver fails to import or to build, or
        several distributions register its name.
    """

    def __init__(self, conf=None, store=None):
        self.conf = cfg.CONF if conf is None else conf
        self.store = host_store.MemoryHostStore() if store is None else store
        sora_conf.register_opts(self.conf)
        self._reload_lock = threading.RLock()
        self._reload_error, self._stale = None, False
        self._active = self._build()
        self.conf.register_mutate_hook(self._config_changed)

    def _build(self):
        sora_conf.check(self.conf)
        name = self.conf.scheduler_driver
        [(_name, driver, plugin)] = plugins.load_all(
            plugins.DRIVERS, [name], self.conf,
            ('DEFAULT', 'scheduler_driver'), ('select_destinations',))
        LOG.info('Loaded scheduler driver %(name)s (%(target)s) from '
                 '%(dist)s', {'name': name, 'target': plugin.target,
                              'dist': plugin.distribution})
        return name, driver

    @property
    def driver(self):
        """The driver object every decision goes to."""
        return self._active[1]

    @property
    def driver_name(self):
        """The entry point name of the driver in use."""
        return self._active[0]

    def reload(self):
        """Re-read the config files and apply what changed, live.

        When the driver, its filters, weighers or any plugin option changed,
        a new driver is built and swapped in atomically: decisions in flight
        finish on the old one, the next ones use the new one, and the
        tracked hosts and claims are kept. The manager is also an oslo.config
        mutate hook, so a service run by oslo.service with
        ``restart_method='mutate'`` reloads on SIGHUP with no extra code.

        :raises InvalidConfig: a config file cannot be read or holds a bad
            value.
        :raises SchedulerError: the new driver or a plugin cannot be loaded.
            Either way the old driver keeps running and the error is logged.
        """
        with self._reload_lock:
            self._reload_error = unreadable = None
            try:
                self.conf.mutate_config_files()
            except cfg.Error as error:
                unreadable = exceptions.InvalidConfig(str(error))
            if unreadable is not None:
                LOG.error('Keeping scheduler driver %(name)s: the '
                          'configuration cannot be reloaded: %(error)s',
                          {'name': self.driver_name, 'error': unreadable})
                raise unreadable
            if self._reload_error is not None:
                raise self._reload_error

    def _config_changed(self, conf, changed):
        # The oslo.config mutate hook: never raises, so a SIGHUP with a bad
        # configuration leaves the service running on the old driver. After
        # a failed build every reload tries again (a plugin may have been
        # installed since).
        if not self._stale and not any(group or name == 'scheduler_driver'
                                       for group, name in changed):
            return
        with self._reload_lock:
            try:
                self._active, self._stale = self._build(), False
                return
            except exceptions.SchedulerError as error:
                self._reload_error, self._stale = error, True
            LOG.error('Keeping scheduler driver %(name)s: the reloaded '
                      'configuration is broken: %(error)s',
                      {'name': self.driver_name, 'error': self._reload_error})

    def update_hosts(self, hosts):
        """Add or replace tracked hosts by id (node reports).

        :param hosts: as for :meth:`select_destinations`.
        :raises InvalidHostData: a host is malformed; nothing is changed.
        """
        self.store.update(host_state.parse_hosts(hosts))

    def remove_host(self, host_id):
        """Stop tracking a host, and its claims.

        :raises InvalidRequest: no tracked host has that id.
        """
        self.store.remove(host_id)

    def release(self, host_id, request):
        """Give back what a claim of *request* took on *host_id*.

        :raises InvalidRequest: unknown host, malformed request, or no such
            claim on the host; nothing is changed.
        """
        self.store.release(host_id, host_state.parse_request(request))

    def hosts(self):
        """Return the tracked hosts, claims deducted (a read-only table)."""
        return self.store.hosts()

    def select_destinations(self, request, hosts=None, count=1,
                            dry_run=False):
        """Return the ids of ``count`` hosts for ``request``, best first.

        Without ``hosts``, the decision is made on the tracked hosts and
        claims the request on each chosen host (unless ``dry_run``), as one
        atomic step. With ``hosts``, it is made on those and nothing is
        tracked or claimed.

        :param request: a mapping (see :func:`host_state.parse_request`),
            a :class:`~host_state.Request` or ``None``.
        :param hosts: host mappings, ``{"hosts": [...]}`` or a
            :class:`~host_state.HostTable`; ``None`` for the tracked hosts.
        :param count: how many containers to place; all or nothing.
        :param dry_run: decide but claim nothing.
        :raises InvalidRequest: the request or count is malformed.
        :raises InvalidHostData: a host is malformed.
        :raises NoValidHost: fewer than ``count`` placements exist.
        """
        count = _check_count(count)
        request = host_state.parse_request(request)
        if hosts is not None or dry_run:
            table = self._table(hosts)
            return self._decide(request, table, count)
        return self.store.place(
            request, lambda table: self._decide(request, table, count))

    def explain(self, request, hosts=None, top=5):
        """Return how the driver ranks hosts for *request*; claims nothing.

        A mapping with ``hosts_total``, ``filter_counts`` and ``ranking``
        (the best *top* hosts with their per-weigher scores), see
        :meth:`FilterScheduler.explain`.

        :raises InvalidRequest: the driver cannot explain its decisions.
        """
        name, driver = self._active
        explain = getattr(driver, 'explain', None)
        if explain is None:
            raise exceptions.InvalidRequest(
                f'driver {name} cannot explain its decisions')
        return explain(host_state.parse_request(request), self._table(hosts),
                       top)

    def _table(self, hosts):
        return self.store.hosts() if hosts is None else \
            host_state.parse_hosts(hosts)

    def _decide(self, request, hosts, count):
        name, driver = self._active
        chosen = driver.select_destinations(request, hosts, count)
        _check_answer(name, chosen, hosts, request, count)
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug('Driver %(driver)s chose %(chosen)s for %(request)s '
                      '(count %(count)d) among %(hosts)d hosts',
                      {'driver': name, 'chosen': chosen,
                       'request': request.to_dict(), 'count': count,
                       'hosts': len(hosts)})
        return chosen


def _check_answer(driver, chosen, hosts, request, count):
    # Whatever a driver answers, nothing is placed where it does not fit.
    if not isinstance(chosen, (list, tuple)) or len(chosen) != count or \
            not all(isinstance(host_id, str) for host_id in chosen):
        raise exceptions.PluginError(
            f'driver {driver} returned {chosen!r:.200}, not a list of '
            f'{count} host ids; nothing was placed')
    rows = hosts.rows_of(chosen)
    if len(rows) != count:
        raise exceptions.PluginError(
            f'driver {driver} chose hosts it was not given: '
            f'{sorted(set(chosen) - set(hosts.ids))!r:.200}; nothing was '
            'placed')
    row = hosts.overcommitted(rows, request)
    if row is not None:
        raise exceptions.PluginError(
            f'driver {driver} chose host {hosts.ids[row]!r}, which cannot '
            f'take {chosen.count(hosts.ids[row])} x {request.to_dict()}; '
            'nothing was placed')


def _check_count(count):
    try:
        number = operator.index(count)
    except TypeError:
        number = None
    if number is None or isinstance(count, bool) or \
            not 1 <= number <= MAX_COUNT:
        raise exceptions.InvalidRequest(
            f'count must be a whole number from 1 to {MAX_COUNT}, '
            f'got {count!r}')
    return number
