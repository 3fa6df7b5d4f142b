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
claims out) in a :class:`~sora.scheduler.stores.base.HostStore`.
"""

import contextlib
import threading
import uuid

from oslo_config import cfg
from oslo_log import log as logging

from sora import conf as sora_conf
from sora.scheduler import active
from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import metrics
from sora.scheduler import metrics_server
from sora.scheduler import plugins
from sora.scheduler import request as sora_request
from sora.scheduler import stores
from sora.scheduler.stores import base as base_store

LOG = logging.getLogger(__name__)

MAX_COUNT = 1000
"""The most destinations one call may ask for."""


class SchedulerManager:
    """Builds the configured scheduler driver and asks it for decisions.

    Every method is safe to call from many threads at once. A manager
    follows its configuration (see :meth:`reload`) until :meth:`close`; it
    is also a context manager that closes on exit.

    :param conf: a :class:`oslo_config.cfg.ConfigOpts`, parsed or not; the
        global ``cfg.CONF`` when omitted. Sora's options are registered on
        it (idempotently) and ``[DEFAULT] scheduler_driver`` names the
        driver, an entry point in the ``sora.scheduler`` namespace.
    :param store: the :class:`~sora.scheduler.stores.base.HostStore` of
        tracked hosts and claims; by default the one ``[scheduler]
        host_store`` names (an entry point in ``sora.scheduler.host_stores``).
    :param serve_metrics: serve ``/metrics`` at ``[metrics] bind`` (false
        for a manager that lives for one command).
    :raises PluginNotFound: no driver (or host store) of that name is
        installed.
    :raises PluginLoadError: the driver (or host store) fails to import or
        to build, or several distributions register its name.
    :raises InvalidConfig: an option has a bad value.
    """

    def __init__(self, conf=None, store=None, serve_metrics=True):
        self.conf = cfg.CONF if conf is None else conf
        self._followers = active.Followers.of(self.conf)
        sora_conf.register_opts(self.conf)
        self._owns_store = store is None
        self.store = stores.load(self.conf) if store is None else \
            stores.checked(store, 'the store given')
        self._lock = threading.Lock()
        self._turn = threading.RLock()
        self._error = None
        self._serving = None
        try:
            self._active = self._build()
            if serve_metrics:
                self._serving = metrics_server.start(self.conf)
        except BaseException:
            if self._owns_store:
                self.store.close()
            raise
        self._counting = metrics.Counting(self)
        self._followers.add(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Stop following configuration changes; close the store it built.

        Idempotent. The configuration holds no strong reference to a
        manager, so a manager nobody uses is freed even without ``close``;
        closing says so at once (and stops a shared store's watch). Its
        metrics go, and its ``/metrics`` server stops with the last manager
        using it.
        """
        self._followers.discard(self)
        self._counting.close()
        serving, self._serving = self._serving, None
        if serving is not None:
            serving()
        if self._owns_store:
            self.store.close()

    def _build(self):
        built = active.build(self.conf, self._followers)
        driver = type(built.driver)
        LOG.info('Loaded scheduler driver %(name)s (%(module)s:%(cls)s)',
                 {'name': built.name, 'module': driver.__module__,
                  'cls': driver.__qualname__})
        return built

    @property
    def driver(self):
        """The driver object every decision goes to."""
        return self._active.driver

    @property
    def driver_name(self):
        """The entry point name of the driver in use."""
        return self._active.name

    def reload(self):
        """Re-read the config files and apply what changed, live.

        When the driver, its filters, weighers or any option of Sora or its
        plugins changed, a new driver is built and swapped in atomically:
        decisions in flight finish on the old one, the next ones use the
        new one, and the tracked hosts and claims are kept. The config files
        are re-read only once the configuration has been parsed; before, the
        values already set are applied. Every manager on the same
        configuration follows it: a service run by oslo.service with
        ``restart_method='mutate'`` reloads on SIGHUP with no extra code.

        :raises InvalidConfig: a config file cannot be read or holds a bad
            value.
        :raises SchedulerError: the new driver or a plugin cannot be loaded.
            Either way the old driver keeps running and the error is logged.
        """
        parsed = active.parsed(self.conf)
        followed = parsed and self._followers.follows(self)
        if parsed:
            try:
                self.conf.mutate_config_files()
            except (cfg.Error, ValueError) as error:
                unreadable = exceptions.InvalidConfig(
                    f'the configuration cannot be reloaded: {error}')
                LOG.error('Keeping scheduler driver %(name)s: %(error)s',
                          {'name': self.driver_name, 'error': unreadable})
                raise unreadable from None
        if not followed:  # else the mutate hook has just followed
            self._follow()
        error = self._error
        if error is not None:
            raise error

    def _follow(self):
        # Rebuild when what the driver was built from has changed since, or
        # the last build failed (a plugin may have been installed since).
        # Never raises: a bad configuration keeps the old driver running.
        with self._lock:
            if self._error is None and self._active.settings == \
                    self._followers.settings(self.conf):
                return
            try:
                self._active, self._error = self._build(), None
                return
            except exceptions.SchedulerError as error:
                self._error = error
            LOG.error('Keeping scheduler driver %(name)s: the reloaded '
                      'configuration is broken: %(error)s',
                      {'name': self.driver_name, 'error': self._error})

    def update_hosts(self, hosts):
        """Add or replace tracked hosts by id (node reports).

        A report may list ``consumers``, the ids of the containers running
        on the node: the claims of those consumers are settled (dropped),
        since the report now counts what they use.

        :param hosts: as for :meth:`select_destinations`.
        :raises InvalidHostData: a host is malformed; nothing is changed.
        """
        self.store.update(host_state.parse_reports(hosts))

    def remove_host(self, host_id):
        """Stop tracking a host, and drop its claims.

        :raises InvalidRequest: no tracked host has that id.
        """
        self.store.remove(sora_request.parse_id(host_id))

    def disable_host(self, host_id, reason):
        """Keep new placements off a host until :meth:`enable_host`.

        Every manager sharing the store does, whatever the host reports
        meanwhile; :meth:`hosts` shows it disabled with *reason*. Claims
        and containers already on it stay.

        :raises InvalidRequest: no tracked host has that id, the reason is
            not text of 1 to 255 characters, or the store cannot disable.
        """
        self.store.set_disabled(sora_request.parse_id(host_id),
                                sora_request.parse_reason(reason))

    def enable_host(self, host_id):
        """Let new placements go to a host an operator disabled.

        :raises InvalidRequest: no host has that id.
        """
        self.store.set_disabled(sora_request.parse_id(host_id), None)

    def release(self, consumer):
        """Drop the claim of *consumer* (its container did not start).

        :raises InvalidRequest: no claim is held for that consumer; nothing
            is changed.
        """
        self.store.release(sora_request.parse_id(consumer, 'consumer id'))

    def claims(self):
        """Return the outstanding claims, oldest first.

        Each a :class:`~sora.scheduler.claims.Claim`: ``consumer``,
        ``host``, ``memory_mb``, ``cpus``, ``disk_gb``, ``group`` and
        ``age`` (seconds).
        """
        return self.store.claims()

    def hosts(self):
        """Return the tracked hosts, claims deducted (a read-only table)."""
        return self.store.hosts()

    def report_ages(self):
        """Return ``{host id: seconds since its last report}``.

        For the tracked hosts whose store knows when they last reported
        (a host left out: unknown, such as a report an older Sora wrote
        to etcd).
        """
        return self.store.report_ages()

    @metrics.counted
    def select_destinations(self, request, hosts=None, count=1,
                            dry_run=False, consumers=None):
        """Return the ids of ``count`` hosts for ``request``, best first.

        Without ``hosts``, the decision is made on the tracked hosts and
        (unless ``dry_run``) each placement claims the request on its host
        under a consumer id, as one atomic step. With ``hosts``, it is
        made on those and nothing is tracked or claimed.

        :param request: a mapping (see
            :func:`~sora.scheduler.request.parse_request`), a
            :class:`~sora.scheduler.request.Request` or ``None``.
        :param hosts: host mappings, ``{"hosts": [...]}`` or a
            :class:`~host_state.HostTable`; ``None`` for the tracked hosts.
        :param count: how many containers to place; all or nothing.
        :param dry_run: decide but claim nothing.
        :param consumers: the consumer id of each placement (the
            containers' uuids): ``count`` distinct non-empty strings. When
            omitted, a uuid4 is generated for each.
        :returns: a :class:`Destinations`, the list of host ids, whose
            ``consumers`` attribute lists the consumer id of each placement
            (empty when nothing was claimed).
        :raises InvalidRequest: the request, count or consumers are
            malformed, or a consumer already holds a claim.
        :raises InvalidHostData: a host is malformed.
        :raises NoValidHost: fewer than ``count`` placements exist.
        """
        # Decisions on the tracked hosts take turns, request parsing
        # included (NumPy-heavy decisions running at once under CPython's
        # interpreter lock slow each other down); one on given hosts or a
        # dry run waits for none. Commits alone keep the decisions of
        # managers sharing a store apart.
        tracked = hosts is None and not dry_run
        with self._turn if tracked else contextlib.nullcontext():
            count = sora_request.parse_count(count, MAX_COUNT)
            request = sora_request.parse_request(request)
            consumers = sora_request.parse_consumers(consumers, count)
            if not tracked:
                table = self._table(hosts)
                return Destinations(self._decide(request, table, count))
            if consumers is None:
                consumers = [str(uuid.uuid4()) for _ in range(count)]
            return Destinations(self._place(request, consumers),
                                consumers)

    def explain(self, request, hosts=None, top=5, count=None):
        """Return how the driver ranks hosts for *request*; claims nothing.

        A mapping with ``hosts_total``, ``filter_counts`` and ``ranking``
        (the best *top* hosts with their per-weigher scores), and
        ``chosen_among`` from the built-in drivers, see
        :meth:`sora.scheduler.base.Scheduler.explain`. With *count*, also
        ``destinations``: the ids ``select_destinations(request, hosts,
        count, dry_run=True)`` would return, decided by the same run of the
        filters and checked the same way.

        :raises InvalidRequest: the request, *top* or *count* is malformed,
            or the driver cannot explain its decisions.
        :raises NoValidHost: with *count*, fewer than *count* placements.
        """
        top = sora_request.parse_count(top, MAX_COUNT, 'top')
        if count is not None:
            count = sora_request.parse_count(count, MAX_COUNT)
        request = sora_request.parse_request(request)
        current = self._active
        table = self._table(hosts)
        with plugins.calling('driver', current.name):
            if count is None:
                return current.driver.explain(request, table, top)
            explanation = current.driver.explain(request, table, top,
                                                 count=count)
        current.check(explanation.get('destinations') if isinstance(
            explanation, dict) else explanation, table, request, count)
        return explanation

    def _place(self, request, consumers):
        # Decide on a snapshot of the tracked hosts and claim each choice
        # under the consumer at the same position; decide again on a fresh
        # snapshot when the claims lose a race, at most ATTEMPTS times.
        for attempt in base_store.attempts():
            table, version = self.store.snapshot(consumers)
            chosen = self._decide(request, table, len(consumers))
            try:
                self.store.commit(version, request,
                                  list(zip(consumers, chosen)))
                return chosen
            except exceptions.Conflict as conflict:
                lost = conflict
                self._counting.lost_race()
                LOG.debug('Decision for %(consumers)s lost its hosts '
                          '%(chosen)s: %(conflict)s (attempt %(attempt)d)',
                          {'consumers': consumers, 'chosen': chosen,
                           'conflict': conflict, 'attempt': attempt + 1})
        raise exceptions.NoValidHost(
            len(table), [], count=len(consumers),
            reason=f'other decisions took the chosen hosts '
                   f'{base_store.ATTEMPTS} times in a row') from lost

    def _table(self, hosts):
        return self.store.hosts() if hosts is None else \
            host_state.parse_hosts(hosts)

    def _decide(self, request, hosts, count):
        current = self._active
        with plugins.calling('driver', current.name):
            chosen = current.driver.select_destinations(request, hosts, count)
        current.check(chosen, hosts, request, count)
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug('Driver %(driver)s chose %(chosen)s for %(request)s '
                      '(count %(count)d) among %(hosts)d hosts',
                      {'driver': current.name, 'chosen': chosen,
                       'request': request.to_dict(), 'count': count,
                       'hosts': len(hosts)})
        return chosen


class Destinations(list):
    """Host ids, best first, and the consumer id claimed on each.

    :ivar consumers: the consumer id of each placement, in the same order
        (empty when nothing was claimed).
    """

    def __init__(self, host_ids, consumers=()):
        super().__init__(host_ids)
        self.consumers = list(consumers)
