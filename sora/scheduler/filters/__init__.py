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

"""Sora's built-in filters, one module each; their names are listed here.

These names are the one list that the entry points in ``setup.cfg``, the
``[filter_scheduler] enabled_filters`` default and its help, and the checks
of every driver's answer follow.
"""

FIT = ('enabled', 'memory', 'cpu', 'disk', 'resources', 'taints')
"""Whether a host can take the request at all: enforced for every driver."""

BUILT_IN = FIT + ('labels', 'constraints', 'max_containers', 'same_host',
                  'different_host', 'affinity', 'anti_affinity', 'spread')
"""Every built-in filter, in the order the ``filter`` driver runs them."""

OPTIONAL = BUILT_IN[len(FIT):]
"""The built-in filters ``[filter_scheduler] enabled_filters`` may name."""

REQUEST = tuple(name for name in BUILT_IN if name != 'max_containers')
"""The request's hard constraints: each driver's answer must pass these."""
