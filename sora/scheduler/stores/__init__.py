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

"""Host stores: where the manager keeps the hosts it tracks and the claims.

A store is a plugin in the ``sora.scheduler.host_stores`` namespace chosen
by ``[scheduler] host_store``: ``memory`` (the default,
:mod:`~sora.scheduler.stores.memory`) keeps everything in this process,
``etcd`` (:mod:`~sora.scheduler.stores.etcd`) shares it between processes.
Every store implements :class:`~sora.scheduler.stores.base.HostStore`.
"""

from sora.conf import diagnosis
from sora.scheduler import exceptions
from sora.scheduler import plugins
from sora.scheduler.stores import base

NAMESPACE = plugins.STORES


def load(conf):
    """Build the store ``[scheduler] host_store`` names, from its entry point.

    Through :func:`sora.scheduler.plugins.load`, as every plugin kind.

    :raises PluginNotFound: no store of that name is installed.
    :raises PluginLoadError: it fails to import or to build, is not a
        store, or several distributions register its name.
    :raises InvalidConfig: it rejects its options.
    """
    name = conf.scheduler.host_store
    [(_, store)] = plugins.load(NAMESPACE, [name], conf,
                                option=('scheduler', 'host_store'))
    where = diagnosis.setting(conf, 'scheduler', 'host_store')
    return checked(store, f'{where}: {NAMESPACE} plugin {name!r}')


def checked(store, what):
    """Return *store* if it is a :class:`~base.HostStore` set up as one.

    :param what: how messages name it.
    :raises PluginLoadError: it is not a store, or its ``__init__`` did not
        call :meth:`~base.HostStore.__init__` (which sets its ``clock``).
    """
    if not isinstance(store, base.HostStore):
        raise exceptions.PluginLoadError(
            f'{what} is not a sora.scheduler.stores.base.HostStore')
    if not hasattr(store, 'clock'):
        raise exceptions.PluginLoadError(
            f'{what} did not call HostStore.__init__ (super().__init__(conf, '
            'clock)), which sets up its conf and clock')
    return store
