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

"""The ``etcd`` host store: node reports and claims shared through etcd.

Every manager configured with it sees the same hosts and claims. Under
``[etcd] prefix`` etcd holds:

``hosts/<host id>``
    a node report (JSON, amounts in whole units, and the groups kept for
    the placed containers it lists), with a lease when ``[etcd] host_ttl``
    is set;
``claims/<consumer>``
    a claim: host, amounts, group and when it was made (Unix time), with a
    lease of its maker's ``[scheduler] claim_timeout``;
``versions-of-hosts/<host id>`` and ``versions-of-groups/<group>``
    empty keys every claim on the host (in the group) rewrites, and a
    report that adds the group to its host or changes the labels of a host
    running it, so that a claim commits only if nothing it relied on
    changed. Managers watch ``claims/`` and
    ``hosts/`` only: these keys cost no watch traffic.

The parts: :mod:`.client` (etcd's JSON gateway), :mod:`.codec` (keys and
records), :mod:`.leases`, :mod:`.mirror` (the copy a manager decides on,
kept by a watch), :mod:`.reports` (writing node reports) and :mod:`.store`
(:class:`~.store.EtcdHostStore`, the transactions).
"""
