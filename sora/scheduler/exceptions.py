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

"""Errors the scheduler raises; callers catch :class:`SchedulerError`.

Every error a user can cause is a :class:`SchedulerError` whose message says
what was wrong and what is accepted. Errors caused by bad input also derive
from :class:`ValueError`, so natural ``except`` clauses keep working.
"""


class SchedulerError(Exception):
    """Base class of every error the Sora scheduler raises on purpose."""


class PluginNotFound(SchedulerError, LookupError):
    """No installed plugin of a kind has the requested name.

    Drivers, filters, weighers and host stores alike (``DriverNotFound`` is
    the same class, under its first name).

    :param namespace: the entry point namespace that was searched.
    :param name: the name that was looked up.
    :param available: the names installed in that namespace.
    """

    def __init__(self, namespace, name, available):
        self.namespace = namespace
        self.name = name
        self.available = sorted(available)
        names = ', '.join(self.available) or 'none'
        super().__init__(
            f'no plugin named {name!r} in namespace {namespace!r}; '
            f'installed: {names}')


class PluginLoadError(SchedulerError):
    """An installed plugin could not be imported, built or chosen.

    Of any kind (``DriverLoadError`` is the same class, under its first
    name).
    """


DriverNotFound = PluginNotFound
DriverLoadError = PluginLoadError


class PluginError(SchedulerError):
    """A plugin misbehaved during a decision; nothing was placed."""


class StoreUnavailable(SchedulerError):
    """The shared host store (etcd) did not answer, or refused a call."""


class Conflict(SchedulerError):
    """A decision's claims lost a race: what it relied on changed meanwhile.

    The manager makes the decision again on a fresh snapshot; a store
    raises it from ``commit``.
    """


class InvalidConfig(SchedulerError, ValueError):
    """A configuration file or option value is malformed."""


class InvalidHostData(SchedulerError, ValueError):
    """A host (node report) is malformed."""


class InvalidRequest(SchedulerError, ValueError):
    """A request, or the number of destinations asked for, is malformed."""


class NoValidHost(SchedulerError):
    """Fewer hosts than requested can take the request.

    :param hosts_total: the number of hosts considered.
    :param filter_counts: ordered ``(filter name, hosts left after it)``
        pairs explaining where the hosts were lost.
    :param count: the number of destinations asked for.
    :param placed: how many of them could be placed (all or nothing: none
        were claimed).
    :param details: optional ``{filter name: text}`` shown beside a count,
        such as what the request needed.
    :param reason: why, when it is not the filters (e.g. other decisions
        kept taking the chosen hosts).
    """

    def __init__(self, hosts_total, filter_counts, count=1, placed=0,
                 details=None, reason=None):
        self.hosts_total = hosts_total
        self.filter_counts = list(filter_counts)
        self.count = count
        self.placed = placed
        self.reason = reason
        details = details or {}
        steps = ', '.join(
            f'{name} {left}' + (f' ({details[name]})' if name in details
                                else '')
            for name, left in self.filter_counts)
        message = f'no valid host among {hosts_total}'
        if count > 1:
            message += f' for container {placed + 1} of {count}'
            if placed:
                fitted = ('the one that fitted was' if placed == 1 else
                          f'the {placed} that fitted were')
                message += f' (all or nothing: {fitted} not placed)'
        if steps:
            message += f': {steps}'
        if reason:
            message += f': {reason}'
        super().__init__(message)
