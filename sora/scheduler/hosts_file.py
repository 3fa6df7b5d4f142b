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

"""Reading a JSON hosts file (or stdin), bounded in size.

:func:`load_hosts` reads the file and hands its content to
:mod:`sora.scheduler.host_state` to validate.
"""

import os
import sys

from sora.scheduler import exceptions
from sora.scheduler import host_state
from sora.scheduler import validate

MAX_HOSTS_FILE_BYTES = 512 * 2**20
"""The largest hosts file :func:`load_hosts` reads: 512 MiB, room for a
million hosts (a million hosts like the documented example take 210 MB,
285 MB indented)."""


def load_hosts(path, limit=None, parse=None):
    """Read and validate a JSON hosts file (``-`` reads stdin).

    :param limit: the most bytes to read; :data:`MAX_HOSTS_FILE_BYTES` when
        omitted. A larger input is refused before it is parsed.
    :param parse: what validates the data:
        :func:`~sora.scheduler.host_state.parse_hosts` (a
        :class:`~sora.scheduler.host_table.HostTable`) when omitted, or
        :func:`~sora.scheduler.host_state.parse_reports`.
    :raises InvalidHostData: the file cannot be read, is too large, is not
        JSON, or holds malformed hosts.
    """
    limit = MAX_HOSTS_FILE_BYTES if limit is None else limit
    name = 'standard input (--hosts -)' if path == '-' else \
        f'hosts file {path}'
    try:
        if path == '-':
            if sys.stdin is None:
                raise exceptions.InvalidHostData(
                    f'cannot read {name}: stdin is closed')
            text = _read_bounded(getattr(sys.stdin, 'buffer', sys.stdin),
                                 name, limit)
        else:
            with open(path, 'rb') as hosts_file:
                if os.fstat(hosts_file.fileno()).st_size > limit:
                    _too_large(name, limit)
                text = _read_bounded(hosts_file, name, limit)
        if isinstance(text, bytes):
            text = text.decode('utf-8')
        data = validate.loads_json(text)
    except exceptions.InvalidHostData:
        raise
    except OSError as error:
        raise exceptions.InvalidHostData(
            f'cannot read {name}: {error.strerror}') from None
    except (ValueError, RecursionError) as error:
        raise exceptions.InvalidHostData(
            f'{name} is not valid JSON: {error}') from None
    return (parse or host_state.parse_hosts)(data)


def _read_bounded(stream, name, limit):
    data = stream.read(limit + 1)  # one more: is there more than limit?
    if len(data) > limit:
        _too_large(name, limit)
    return data


def _too_large(name, limit):
    raise exceptions.InvalidHostData(
        f'{name} is larger than {limit // 2**20} MiB, the most '
        'sora-scheduler reads')
