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

"""How the commands write results: host ids and tables on stdout."""

import json
import sys


def shown(text):
    """Return a host id as text output shows it, one line, unambiguous.

    An id of printable characters the output can encode, not starting with
    a double quote or ``#`` (which starts ``--explain``'s lines), is shown
    as it is; any other is shown as a JSON string (quoted, with escapes),
    so a newline in an id never splits a line.
    """
    encoding = getattr(sys.stdout, 'encoding', None) or 'utf-8'
    try:
        text.encode(encoding)
    except UnicodeError:
        return json.dumps(text)
    if not text.isprintable() or text.startswith(('"', '#')):
        return json.dumps(text)
    return text


def table(rows):
    """Print *rows* (lists of strings) as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(width)
                        for cell, width in zip(row, widths)).rstrip())
