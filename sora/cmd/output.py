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

import sys

from sora.scheduler import validate


def shown(text):
    """Return a host id as text output shows it (:func:`validate.shown`)."""
    return validate.shown(
        text, getattr(sys.stdout, 'encoding', None) or 'utf-8')


def amount(value):
    """Return an amount as tables show it: 3 decimals at most, no exponent.

    Whole numbers without a fraction; ``-`` for None (unknown).
    """
    if value is None:
        return '-'
    if value == int(value):
        return str(int(value))
    return f'{value:.3f}'.rstrip('0')


def printable(text):
    """Return *text* with control characters and lone surrogates escaped."""
    return ''.join(char if char.isprintable() else
                   char.encode('unicode_escape', 'backslashreplace')
                   .decode('ascii') for char in text)


def table(rows):
    """Print *rows* (lists of strings) as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(width)
                        for cell, width in zip(row, widths)).rstrip())
