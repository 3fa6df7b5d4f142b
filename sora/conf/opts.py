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

"""Every Sora option, listed for oslo-config-generator and the docs."""

from sora import conf


def list_opts():
    """Return [(group, [options])] for the "sora" generator namespace.

    A group is its ``OptGroup`` (so that its help reaches the sample config
    and the docs), or ``'DEFAULT'``; groups come sorted by name.
    """
    groups = {}
    for module in conf.MODULES:
        for group, opts in module.list_opts().items():
            name = getattr(group, 'name', group)
            groups.setdefault(name, (group, []))[1].extend(opts)
    return [groups[name] for name in sorted(groups)]
