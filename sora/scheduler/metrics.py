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

"""The scheduler's Prometheus metrics, in the default registry.

Each is defined once, here, with a ``manager`` label: a number given to
each :class:`~sora.scheduler.manager.SchedulerManager` of the process in
the order they are built, so that several managers never register twice
and each one's series stay apart (``sum without (manager)`` adds them).
Closing a manager removes its series: counters, histograms and the gauges
read from its store at each scrape. A store counts under the label of the
first manager it serves (:class:`Scope`).
"""

import collections
import functools
import itertools
import threading
import time
import weakref

import prometheus_client
from prometheus_client import core

from sora.scheduler import exceptions

MANAGER = 'manager'
OUTCOMES = ('placed', 'no_valid_host', 'conflict', 'error')
CLAIM_EVENTS = ('made', 'settled', 'released', 'expired')
NO_FILTER = 'none'
"""The ``filter`` of a no-valid-host failure no filter explains."""

_SECONDS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5,
            10)

DECISIONS = prometheus_client.Counter(
    'sora_scheduler_decisions', 'Calls of select_destinations, by outcome: '
    'placed, no_valid_host, conflict (other decisions kept taking the chosen '
    'hosts), error (anything else: a bad request, a plugin or store error).',
    [MANAGER, 'outcome'])
DECISION_SECONDS = prometheus_client.Histogram(
    'sora_scheduler_decision_seconds', 'Time one call of '
    'select_destinations took, whatever its outcome.', [MANAGER],
    buckets=_SECONDS)
NO_VALID_HOST = prometheus_client.Counter(
    'sora_scheduler_no_valid_host', 'Decisions that found no valid host, by '
    'the first filter that left no host ("none": no host at all, or fewer '
    'than the count asked for).', [MANAGER, 'filter'])
CLAIM_EVENTS_TOTAL = prometheus_client.Counter(
    'sora_scheduler_claim_events', 'Claims made by the manager, and how they '
    'ended: settled by a node report, released (or removed with their '
    'host), expired.', [MANAGER, 'event'])
LOST_RACES = prometheus_client.Counter(
    'sora_scheduler_lost_races', 'Commits of a decision refused because '
    'what it relied on changed meanwhile (the decision is made again).',
    [MANAGER])
REPORTS_APPLIED = prometheus_client.Counter(
    'sora_scheduler_reports_applied', 'Node reports applied to the '
    'manager\'s hosts (with etcd: every scheduler\'s, as the watch brings '
    'them).', [MANAGER])
STORE_CALLS = prometheus_client.Histogram(
    'sora_scheduler_store_call_seconds', 'Time of each call to the shared '
    'store (etcd), retries included, by operation.', [MANAGER, 'operation'],
    buckets=_SECONDS)
STORE_ERRORS = prometheus_client.Counter(
    'sora_scheduler_store_errors', 'Calls to the shared store (etcd) that '
    'failed, by operation.', [MANAGER, 'operation'])
WATCH_EVENTS = prometheus_client.Counter(
    'sora_scheduler_watch_events', 'Changes the etcd watch brought to the '
    'manager\'s copy.', [MANAGER])
WATCH_RESTARTS = prometheus_client.Counter(
    'sora_scheduler_watch_restarts', 'Times the etcd watch was started '
    'again after it failed or etcd\'s history was lost.', [MANAGER])
RELISTS = prometheus_client.Counter(
    'sora_scheduler_relists', 'Times the manager listed etcd again '
    '(after an outage, or its history going back or compacted).', [MANAGER])

_numbers = itertools.count(1)
_lock = threading.Lock()
_children = {}  # {manager label: {(metric, label values)}}
_closed = collections.deque()  # labels whose series are to be removed


def _child(metric, label, *values):
    # The child of *metric* for *label* and *values*, noted for _forget.
    key = (label, *values)
    with _lock:
        _children.setdefault(label, set()).add((metric, key))
    return metric.labels(*key)


class Scope:
    """What a store counts, under the label of the manager it serves.

    Counts nothing until a manager binds it, nor once that manager closed.

    :ivar counters: the counters without other labels that a manager's
        series start at 0 in.
    """

    def __init__(self):
        self.label = None
        self.counters = [REPORTS_APPLIED]

    def count(self, counter, *values, amount=1):
        """Add *amount* to *counter* for *values* of its other labels."""
        label = self.label
        if label is not None and amount:
            _child(counter, label, *values).inc(amount)

    def observe(self, histogram, seconds, *values):
        """Observe *seconds* in *histogram* for *values*."""
        label = self.label
        if label is not None:
            _child(histogram, label, *values).observe(seconds)


class Counting:
    """A manager's label and the children its decisions count in.

    :param manager: the :class:`~sora.scheduler.manager.SchedulerManager`,
        held weakly; its store counts under its label unless another
        manager's already does.
    """

    def __init__(self, manager):
        self.label = label = str(next(_numbers))
        self._decided = {outcome: _child(DECISIONS, label, outcome)
                         for outcome in OUTCOMES}
        self._seconds = _child(DECISION_SECONDS, label)
        self._made = _child(CLAIM_EVENTS_TOTAL, label, 'made')
        self._lost = _child(LOST_RACES, label)
        for event in CLAIM_EVENTS[1:]:
            _child(CLAIM_EVENTS_TOTAL, label, event)
        scope = manager.store.metrics
        if scope.label is None:
            scope.label = label
            for counter in scope.counters:
                _child(counter, label)
        _GAUGES.add(label, manager)
        self._finalizer = weakref.finalize(manager, _forget, label, scope)
        _remove_closed()

    def close(self):
        """Remove the manager's series; it counts nothing more."""
        self._finalizer()
        _remove_closed()

    def no_valid_host(self, error):
        """Count a :class:`~exceptions.NoValidHost` by its filter."""
        if self._finalizer.alive:
            _child(NO_VALID_HOST, self.label, failed_filter(error)).inc()

    def lost_race(self):
        """Count a commit refused by :class:`~exceptions.Conflict`."""
        self._lost.inc()

    def decided(self, outcome, seconds, made=0):
        """Count a decision of *outcome*: its *seconds*, the claims *made*."""
        self._decided[outcome].inc()
        self._seconds.observe(seconds)
        if made:
            self._made.inc(made)


def counted(select):
    """Decorate ``select_destinations``: count each call and its outcome."""
    @functools.wraps(select)
    def counting(manager, *args, **kwargs):
        started = time.perf_counter()
        try:
            chosen = select(manager, *args, **kwargs)
        except exceptions.NoValidHost as error:
            seconds = time.perf_counter() - started
            if isinstance(error.__cause__, exceptions.Conflict):
                manager._counting.decided('conflict', seconds)
            else:
                manager._counting.decided('no_valid_host', seconds)
                manager._counting.no_valid_host(error)
            raise
        except Exception:
            manager._counting.decided('error', time.perf_counter() - started)
            raise
        manager._counting.decided('placed', time.perf_counter() - started,
                                  len(chosen.consumers))
        return chosen
    return counting


def failed_filter(error):
    """Return the first filter that left no host in a NoValidHost."""
    for name, left in error.filter_counts:
        if not left:
            return name
    return NO_FILTER


def _forget(label, scope):
    # Stop counting under *label*. It may run in the garbage collector,
    # inside a thread holding _lock or a metric's: it takes no lock, and
    # leaves the series to _remove_closed.
    if scope.label == label:
        scope.label = None
    _GAUGES.discard(label)
    _closed.append(label)


def _remove_closed():
    # Remove the series of the managers closed (or freed) since last time.
    while _closed:
        label = _closed.popleft()
        with _lock:
            owned = _children.pop(label, ())
        for metric, key in owned:
            try:
                metric.remove(*key)
            except KeyError:
                pass


class _Gauges:
    """Collects, at each scrape, what each live manager's store holds."""

    def __init__(self):
        self._managers = weakref.WeakValueDictionary()

    def add(self, label, manager):
        self._managers[label] = manager

    def discard(self, label):
        self._managers.pop(label, None)

    def describe(self):
        return self._families()

    def collect(self):
        _remove_closed()
        hosts, claims, revisions, seconds = families = self._families()
        for label, manager in sorted(self._managers.items(),
                                     key=lambda item: int(item[0])):
            store = manager.store
            try:
                hosts.add_metric([label], len(store.hosts()))
                claims.add_metric([label], len(store.claims()))
            except exceptions.SchedulerError:
                pass  # the store is away: its errors and lag say so
            lag = getattr(store, 'lag', None)
            if lag is not None:
                behind, late = lag()
                revisions.add_metric([label], behind)
                seconds.add_metric([label], late)
        return families

    def _families(self):
        return [core.GaugeMetricFamily(name, text, labels=[MANAGER])
                for name, text in (
                    ('sora_scheduler_hosts', 'Hosts the manager tracks.'),
                    ('sora_scheduler_claims_outstanding', 'Claims in the '
                     'manager\'s store (with etcd: every scheduler\'s).'),
                    ('sora_scheduler_store_lag_revisions', 'Revisions of '
                     'etcd the manager knows of and its copy has not '
                     'applied yet.'),
                    ('sora_scheduler_store_lag_seconds', 'Seconds since the '
                     'oldest revision the manager\'s copy lacks was known '
                     '(0: up to date).'))]


_GAUGES = _Gauges()
prometheus_client.REGISTRY.register(_GAUGES)
