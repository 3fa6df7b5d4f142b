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

"""Loading filters by name and running them over a host table.

Built-in filters are vectorised (``filter_mask``); a third-party filter may
instead answer per host (``host_passes``), and is asked only about the hosts
every earlier filter kept. A vectorised filter whose rule depends on which
hosts the request's other hard rules keep (``needs_candidates``, as
``spread``) runs after the others and gets that mask too. Among the hosts
that pass, :func:`place` keeps off those a ``prefer_no_schedule`` taint
the request does not tolerate marks, while another host fits
(:func:`preferred`).
"""

import numpy as np

from sora.scheduler import exceptions
from sora.scheduler import filters as built_in
from sora.scheduler import plugins
from sora.scheduler import request as sora_request
from sora.scheduler import taints


def load(names, conf, option=None):
    """Build the filters called *names*; return ``[(name, filter)]``.

    See :func:`sora.scheduler.plugins.load`.
    """
    return plugins.load(plugins.FILTERS, names, conf, option,
                        ('filter_mask', 'host_passes'))


def check_request(filters, request):
    """Refuse a request whose constraints no filter in *filters* enforces.

    Soft rules (``preferences``, the soft group policies) are the
    weighers' and never refused here.

    :raises InvalidRequest: naming the constraint and what to enable.
    """
    wanted = [field for field in ('labels', 'constraints', 'same_host',
                                  'different_host', 'spread')
              if getattr(request, field)]
    if request.group_policy in sora_request.HARD_POLICIES:
        wanted.append(request.group_policy)
        if request.topology_key is not None:
            wanted.append('topology_key')
    enforced = {field for _name, plugin in filters
                for field in getattr(plugin, 'request_fields', ())}
    missing = [field for field in wanted if field not in enforced]
    if missing:
        raise exceptions.InvalidRequest(
            f'the request asks for {", ".join(missing)} but no enabled '
            'filter enforces it: add the filter for it (built in: '
            f'{", ".join(built_in.REQUEST[len(built_in.FIT):])}) to '
            '[filter_scheduler] enabled_filters')


def run(filters, hosts, request, time_limit=0, details=None):
    """Return the mask of hosts passing every filter, and the counts.

    Filters run in order, except that those that need the candidates run
    last; these get, besides, the mask of the hosts that the request's
    hard rules before them keep (the built-in filters of
    :data:`~sora.scheduler.filters.REQUEST`: an operator's limits, such as
    ``max_containers``, and third-party filters do not count there, so
    that the manager's check of any driver's answer agrees).

    The counts are ``[(filter name, hosts left after it)]`` for each
    filter that had something to check, up to the first that leaves none.
    *time_limit* is the seconds each filter may take (0: any). *details*,
    a mapping, gets ``{name: why}`` from the filter that leaves none, if it
    says (``describe_refusal``).

    :raises PluginError: a filter raised, answered in the wrong shape or
        took too long.
    """
    mask = np.ones(len(hosts), dtype=bool)
    counts, hard = [], _Hard(len(hosts))
    for name, plugin in _ordered(filters):
        passed = _apply(name, plugin, hosts, request, mask, time_limit, hard)
        if passed is None:
            continue
        before, mask = mask, mask & passed
        hard.add(name, plugin, passed)
        counts.append((name, int(np.count_nonzero(mask))))
        if not counts[-1][1]:
            describe = getattr(plugin, 'describe_refusal', None)
            if details is not None and describe is not None:
                with plugins.calling('filter', name, time_limit):
                    details[name] = describe(hosts, request, before)
            break
    return mask, counts


def refusal(filters, hosts, request, chosen):
    """Return why *filters* refuse the placements *chosen*, or ``None``.

    *chosen* are rows of *hosts*, placed in that order: each is checked on
    the table in which the ones before it have taken their resources, so a
    host listed twice must fit the request twice.
    """
    for placed, row in enumerate(chosen):
        if placed:
            hosts = hosts.consume([chosen[placed - 1]], request)
        only = np.zeros(len(hosts), dtype=bool)
        only[row] = True
        hard = _Hard(len(hosts))
        for name, plugin in _ordered(filters):
            passed = _apply(name, plugin, hosts, request, only, hard=hard)
            if passed is None:
                continue
            if not passed[row]:
                return (f'filter {name} refuses host {hosts.ids[row]!r} for '
                        f'placement {placed + 1} of {len(chosen)}')
            hard.add(name, plugin, passed)
    return None


def place(request, hosts, count, filters, choose, time_limit=0, first=None):
    """Pick ``count`` hosts one at a time, each pick taking its resources.

    A helper for drivers: the hosts that pass *filters* (``(name, filter)``
    pairs, see :func:`load`) are the candidates, and
    ``choose(hosts, request, mask)`` returns the row to use among the
    rows where ``mask`` is true. It is called again on a table in which
    the previous pick has consumed the request; *mask* leaves out the hosts
    :func:`preferred` keeps off. *time_limit* is the seconds
    each filter may take (the ``plugin_time_limit`` the driver was built
    with; 0: any). *first* is the ``(mask, counts)`` of :func:`run` for
    the first pick when the caller has run the filters already. All or
    nothing: raises :class:`NoValidHost` when fewer than ``count`` picks
    are possible.
    """
    chosen = []
    for placed in range(count):
        details = {}
        if placed or first is None:
            first = run(filters, hosts, request, time_limit, details)
        elif not first[0].any():
            # The caller's run kept no details of the refusal.
            run(filters, hosts, request, time_limit, details)
        mask, counts = first
        if not mask.any():
            raise no_valid_host(filters, hosts, request, counts, count,
                                placed, details)
        row = choose(hosts, request, preferred(hosts, request, mask))
        chosen.append(hosts.ids[row])
        if placed + 1 < count:
            hosts = hosts.consume([row], request)
    return chosen


def preferred(hosts, request, mask):
    """Return *mask* less the hosts the request would rather avoid.

    Those with a ``prefer_no_schedule`` taint it does not tolerate; *mask*
    itself if that leaves none.
    """
    avoided = taints.refused(hosts, request.tolerations,
                             taints.PREFER_NO_SCHEDULE)
    if avoided is None:
        return mask
    kept = mask & ~avoided
    return kept if kept.any() else mask


def _ordered(filters):
    # The filters in the order they run: those needing candidates last.
    return sorted(filters, key=lambda pair: _needs_candidates(pair[1]))


def _needs_candidates(plugin):
    return bool(getattr(plugin, 'needs_candidates', False)) and \
        hasattr(plugin, 'filter_mask')


class _Hard:
    # The hosts the request's hard rules (the built-in REQUEST filters)
    # kept so far, combined only if a filter asks for them.

    def __init__(self, size):
        self._size, self._masks = size, []

    def add(self, name, plugin, passed):
        if name in built_in.REQUEST and hasattr(plugin, 'filter_mask'):
            self._masks.append(passed)

    def mask(self):
        kept = np.ones(self._size, dtype=bool)
        for passed in self._masks:
            kept &= passed
        return kept


def _apply(name, plugin, hosts, request, mask, time_limit=0, hard=None):
    # One filter's mask over the table, or None when the request gives it
    # nothing to check; a per-host filter is asked about the rows of mask,
    # one that needs the candidates is given those *hard* (a _Hard) kept.
    with plugins.calling('filter', name, time_limit):
        vectorised = getattr(plugin, 'filter_mask', None)
        if vectorised is None:
            return _per_host(name, plugin, hosts, request, mask)
        passed = vectorised(hosts, request, hard.mask()) if \
            _needs_candidates(plugin) else vectorised(hosts, request)
        return None if passed is None else _checked_mask(name, passed,
                                                         len(hosts))


def _checked_mask(name, passed, size):
    passed = np.asarray(passed)
    if passed.dtype != bool or passed.shape != (size,):
        raise exceptions.PluginError(
            f'filter {name!r} returned {passed.dtype} values of shape '
            f'{passed.shape}, not {size} booleans (one per host)')
    return passed


def _per_host(name, plugin, hosts, request, mask):
    passed = np.zeros(len(hosts), dtype=bool)
    for row in np.flatnonzero(mask):
        answer = plugin.host_passes(hosts[row], request)
        if not isinstance(answer, (bool, np.bool_)):
            raise exceptions.PluginError(
                f'filter {name!r} answered {answer!r:.60} for host '
                f'{hosts.ids[row]!r}, not True or False')
        passed[row] = answer
    return passed


def no_valid_host(filters, hosts, request, counts, count=1, placed=0,
                  refusals=None):
    """Return the :class:`NoValidHost` explaining *counts*.

    *refusals* are the details :func:`run` collected: they stand for what
    the filter that left none would otherwise describe.
    """
    details = {}
    for name, plugin in filters:
        describe = getattr(plugin, 'describe', None)
        text = describe(request) if describe is not None else None
        if text:
            details[name] = text
    details.update({name: text for name, text in (refusals or {}).items()
                    if text})
    return exceptions.NoValidHost(len(hosts), counts, count=count,
                                  placed=placed, details=details)
