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

"""Sora's built-in weighers, one module each; their names are listed here."""

SCALAR = ('memory', 'cpu', 'disk', 'containers')
"""The weighers of one amount; each has a ``<name>_weight_multiplier``."""

SOFT = ('preferences', 'soft_affinity', 'soft_anti_affinity')
"""The weighers of the request's soft rules; each has a
``<name>_weight_multiplier``. The seed's drivers narrow the candidates to
the hosts these score best before choosing their way."""

BUILT_IN = SCALAR + ('resources',) + SOFT
"""Every built-in weigher (``resources`` takes a multiplier per resource,
``resource_weight_multipliers``)."""

DEFAULT = ('memory', 'cpu', 'containers', 'resources') + SOFT
"""The ``[filter_scheduler] weighers`` enabled by default."""
