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


"""Checks of JSON-like values, with messages that say where and what.

Each check takes the value, the field name, where it was found (e.g.
``host 3 (id 'node-4')``) and the SchedulerError class to raise.
"""

import collections.abc
import difflib
import json
import math
import numbers
import operator
import re
import types

_JSON_TYPES = {bool: 'a boolean', int: 'a number', float: 'a number',
               str: 'a string', list: 'a list', tuple: 'a list',
               dict: 'an object', type(None): 'null'}


def show(value):
    """Return a short repr of *value* and its JSON type, for messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + '...'
    kind = _JSON_TYPES.get(type(value), type(value).__name__)
    return f'{text} ({kind})'


def shown(text, encoding='utf-8'):
    """Return an id as output and logs show it: one line, unambiguous.

    An id of printable characters *encoding* can encode, not starting with
    a double quote or ``#`` (which starts ``--explain``'s lines), is shown
    as it is; any other as a JSON string (quoted, with escapes), so a
    newline in an id never splits a line.
    """
    try:
        text.encode(encoding)
    except UnicodeError:
        return json.dumps(text)
    if not text.isprintable() or text.startswith(('"', '#')):
        return json.dumps(text)
    return text


def number(value, field, where, error):
    """Return *value* as a float: a finite number >= 0, not a boolean."""
    if type(value) is not int and type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise error(f'{where}: {field} must be a number, '
                        f'got {show(value)}')
    try:
        number = float(value)
    except OverflowError:
        raise error(f'{where}: {field} is too large: {show(value)}')
    if not 0 <= number < math.inf:
        raise error(f'{where}: {field} must be a finite number >= 0, '
                    f'got {show(value)}')
    return number


def whole(value, field, where, error, least, most):
    """Return *value*: a whole number from *least* to *most*, no boolean."""
    try:
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or isinstance(value, bool) or \
            not least <= number <= most:
        raise error(f'{where}: {field} must be a whole number from {least} '
                    f'to {most}, got {show(value)}')
    return number


def labels(value, where, error):
    """Return *value* as a read-only mapping of strings to strings."""
    if not isinstance(value, collections.abc.Mapping):
        raise error(f'{where}: labels must map strings to strings, '
                    f'got {show(value)}')
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise error(f'{where}: labels must map strings to strings, '
                        f'got {show(key)}: {show(item)}')
        text(key, 'a label', where, error)
        text(item, f'label {key!r}', where, error)
    return types.MappingProxyType(dict(value))


def name(value, field, where, error):
    """Return *value*: a non-empty string of text (None: missing)."""
    if value is None:
        raise error(f'{where}: {field} must be a non-empty string, got '
                    'none (missing or null)')
    if not isinstance(value, str) or not value:
        raise error(f'{where}: {field} must be a non-empty string, '
                    f'got {show(value)}')
    return text(value, field, where, error)


def text(value, field, where, error):
    """Return the string *value* if UTF-8 can encode it.

    A lone surrogate (JSON's ``"\\ud800"``, or a command-line argument
    that was not UTF-8) cannot be stored, printed or sent to etcd.
    """
    if not is_text(value):
        raise error(f'{where}: {field} is not Unicode text (it holds a '
                    f'lone surrogate): {show(value)}')
    return value


def is_text(value):
    """Whether UTF-8 can encode the string *value* (fast when ASCII)."""
    if value.isascii():
        return True
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def names(value, field, where, error):
    """Return *value* as a tuple of non-empty strings."""
    if isinstance(value, (str, bytes, collections.abc.Mapping)) or \
            not isinstance(value, collections.abc.Iterable):
        raise error(f'{where}: {field} must be a list of strings, '
                    f'got {show(value)}')
    return tuple(name(item, f'each of {field}', where, error)
                 for item in value)


def check_fields(data, accepted, where, error):
    """Check *data* is a mapping of only the *accepted* field names."""
    if not isinstance(data, collections.abc.Mapping):
        raise error(f'{where}: expected an object (mapping), '
                    f'got {show(data)}')
    unknown = [key for key in data if key not in accepted]
    if unknown:
        raise error(f'{where}: unknown field {unknown[0]!r}; '
                    f'accepted fields: {", ".join(accepted)}')


def did_you_mean(name, known):
    """Return a hint for a misspelt *name*: those of *known* closest to it.

    ``' (did you mean 'gpu'?)'``, or ``''`` when none is close.
    """
    close = difflib.get_close_matches(name, sorted(known), n=2)
    return f' (did you mean {" or ".join(map(repr, close))}?)' if close \
        else ''


def loads_json(text):
    """Parse JSON text, refusing an object that repeats a key.

    :raises ValueError: the text is not JSON, or repeats a key.
    """
    return json.loads(text, object_pairs_hook=_unique_keys)


def _unique_keys(pairs):
    data = dict(pairs)
    if len(data) != len(pairs):
        seen = set()
        repeated = next(key for key, _ in pairs
                        if key in seen or seen.add(key))
        raise ValueError(f'key {repeated!r} appears twice in one object')
    return data


RESOURCE_NAME = re.compile(r'[a-z][a-z0-9_./-]{0,62}')
"""A countable resource's name: 1-63 characters of lowercase letters,
digits and ``_ - . /``, starting with a letter."""
NAME_RULE = ('1-63 characters of lowercase letters, digits and _ - . /, '
             'starting with a letter')
MAX_RESOURCES = 64
"""The most countable resources one report or request may name (each
name in a cluster costs every host a column entry)."""


def is_resource_name(value):
    """Whether *value* is a countable resource's name (a string)."""
    return type(value) is str and RESOURCE_NAME.fullmatch(value) is not None


def resources(value, field, where, error, least=0, most=2 ** 50):
    """Return *value* as a read-only mapping of resource name to amount.

    Amounts are whole numbers from *least* to *most*, not booleans; names
    follow :data:`RESOURCE_NAME`. Sorted by name.
    """
    if not isinstance(value, collections.abc.Mapping):
        raise error(f'{where}: {field} must map resource names to whole '
                    f'numbers, e.g. {{"gpu": 2}}, got {show(value)}')
    if len(value) > MAX_RESOURCES:
        raise error(f'{where}: {field} names {len(value)} resources, more '
                    f'than the {MAX_RESOURCES} accepted')
    for key, amount in value.items():
        if not is_resource_name(key):
            raise error(f'{where}: {field}: {show(key)} is not a resource '
                        f'name; a name is {NAME_RULE}')
        if type(amount) is not int or not least <= amount <= most:
            raise error(f'{where}: {field} {key!r} must be a whole number '
                        f'from {least} to {most}, got {show(amount)}')
    return types.MappingProxyType(dict(sorted(value.items())))
