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

"""The ``filter`` driver: filter the hosts, weigh the rest, pick the best.

The shape of Nova's FilterScheduler, for containers and vectorised: the
filters produce boolean masks over the host table and the weighers score
whole columns; per-host plugins are adapted. The seed's drivers are this
driver with fixed filters and weighers.
"""

import random

import numpy as np

from sora.scheduler import base
from sora.scheduler import filtering
from sora.scheduler import filters as built_in
from sora.scheduler import weighers as built_in_weighers
from sora.scheduler import weighing

GROUP = 'filter_scheduler'


class FilterScheduler(base.Scheduler):
    """Filter and weigh hosts as [filter_scheduler] configures, pick the best.

    :ivar filters: ``[(name, filter)]``, run in order.
    :ivar weighers: ``[(name, weigher)]``.
    :ivar subset_size: pick at random among this many of the best hosts
        (``None``: among all candidates).
    :ivar time_limit: seconds each filter or weigher may take.
    :ivar soft: ``[(name, weigher)]`` that narrow the candidates to the
        hosts they score best before :attr:`weighers` choose (the soft
        rules' weighers for a driver that sets :attr:`soft_first`; none
        for this one, which lists them among its weighers).
    """

    soft_first = False
    """Whether the request's soft rules narrow the candidates first."""

    def __init__(self, conf=None):
        super().__init__(conf)
        self.random = random.Random()
        self.time_limit = self.conf.plugin_time_limit
        self.filters, self.weighers, self.subset_size = self.configure()
        self.soft = weighing.load(built_in_weighers.SOFT, self.conf) \
            if self.soft_first else []

    def configure(self):
        """Return the filters, weighers and subset size to use.

        The fit filters (enabled, memory, cpu, disk) always run first; the
        ``enabled_filters`` that follow may name them again.
        """
        opts = self.conf.filter_scheduler
        names = list(built_in.FIT) + [name for name in opts.enabled_filters
                                      if name not in built_in.FIT]
        return (filtering.load(names, self.conf, (GROUP, 'enabled_filters')),
                weighing.load(opts.weighers, self.conf, (GROUP, 'weighers')),
                opts.host_subset_size)

    def select_destinations(self, request, hosts, count=1):
        filtering.check_request(self.filters, request)
        return filtering.place(request, hosts, count, self.filters,
                               self._choose, self.time_limit)

    def _choose(self, hosts, request, mask):
        rows = np.flatnonzero(mask)
        if self.soft:
            rows = rows[self._best_soft(self._scores(
                self.soft, hosts, request, rows)[1])]
        return self._pick(hosts, rows, self._scores(
            self.weighers, hosts, request, rows)[1])

    def _scores(self, weighers, hosts, request, rows):
        # {name: weighted scores} of *rows*, and their totals.
        weighted = weighing.scores(weighers, hosts, request, rows,
                                   self.time_limit)
        return weighted, sum(weighted.values()) if weighted else \
            np.zeros(len(rows))

    @staticmethod
    def _best_soft(soft):
        # The mask of the rows with the best *soft* totals.
        return soft >= soft.max(initial=-np.inf)

    def _pick(self, hosts, rows, totals):
        # The best row (ties: lowest id), or one at random among the best
        # subset_size (all the rows when there is no weigher).
        pool = self._pool(len(rows))
        if pool == len(rows) and not self.weighers:
            return int(rows[self.random.randrange(len(rows))])
        best = hosts.best(rows, totals, pool)
        return best[0] if len(best) == 1 else \
            best[self.random.randrange(len(best))]

    def _pool(self, passed):
        # How many of the *passed* hosts, best first, a pick is drawn from.
        if self.subset_size is None and not self.weighers:
            return passed
        return min(self.subset_size or passed, passed)

    def explain(self, request, hosts, top=5, count=None):
        """Return how the first pick would go; see ``Scheduler.explain``.

        With *count*, the first pick is made from this same ranking. A
        driver that narrows by the soft rules first ranks by their total
        first, then by its weighers'; ``weight`` adds both.
        """
        filtering.check_request(self.filters, request)
        mask, counts = filtering.run(self.filters, hosts, request,
                                     self.time_limit)
        rows = np.flatnonzero(filtering.preferred(hosts, request, mask))
        soft, first = self._scores(self.soft, hosts, request, rows)
        weighted, totals = self._scores(self.weighers, hosts, request, rows)
        weighted = {**soft, **weighted}
        ranking = []
        for best in np.lexsort((hosts.id_rank[rows], -totals,
                                -first))[:top]:
            ranking.append({
                'id': hosts.ids[rows[best]],
                'weight': float(first[best] + totals[best]) + 0.0,  # not -0
                'weighers': {name: float(values[best]) + 0.0
                             for name, values in weighted.items()}})
        kept = self._best_soft(first)
        explanation = {'hosts_total': len(hosts), 'filter_counts': counts,
                       'ranking': ranking, 'chosen_among': self._pool(
                           int(np.count_nonzero(kept))),
                       'avoided': int(np.count_nonzero(mask)) - len(rows)}
        if count is not None:
            picks = [self._pick(hosts, rows[kept], totals[kept])] \
                if len(rows) else []

            def choose(table, request, mask):
                return picks.pop() if picks else \
                    self._choose(table, request, mask)

            explanation['destinations'] = filtering.place(
                request, hosts, count, self.filters, choose, self.time_limit,
                first=(mask, counts))
        return explanation
