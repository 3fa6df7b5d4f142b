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

"""Pin every requirement to its declared minimum, for ``tox -e min``.

Reads requirements files and writes a pip constraints file in which each
``name>=X`` becomes ``name==X`` (environment markers kept), so that the
floors in requirements.txt and test-requirements.txt stay the one place
where minimums are declared::

    python tools/minimums.py -o min.txt requirements.txt test-requirements.txt
    pip install -c min.txt -r requirements.txt -r test-requirements.txt .

A requirement without a ``>=`` floor, or one whose floors differ between
files, is an error: its minimum could not be tested.
"""

import argparse
import re
import sys

REQUIREMENT = re.compile(
    r'^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*'
    r'(?P<specs>[^;]*?)\s*(?:;\s*(?P<marker>.*))?$')


def minimums(paths):
    """Return ``[(name, floor, marker)]`` for the requirements in *paths*.

    :raises ValueError: for a line that is not ``name>=X...``, or a name
        whose floors differ between lines.
    """
    found = {}
    for path in paths:
        with open(path, encoding='utf-8') as lines:
            for number, line in enumerate(lines, 1):
                line = line.split('#', 1)[0].strip()
                if not line:
                    continue
                where = f'{path}:{number}'
                match = REQUIREMENT.match(line)
                floors = [spec.strip()[2:].strip()
                          for spec in (match['specs'] if match else '').split(
                              ',') if spec.strip().startswith('>=')]
                if len(floors) != 1:
                    raise ValueError(f'{where}: {line!r} declares no single '
                                     f'">=" minimum')
                key = (re.sub(r'[-_.]+', '-', match['name']).lower(),
                       match['marker'])
                entry = (match['name'], floors[0], match['marker'])
                if key in found and found[key][0][1] != floors[0]:
                    raise ValueError(
                        f'{where}: {match["name"]}>={floors[0]}, but '
                        f'{found[key][1]} declares >={found[key][0][1]}')
                found.setdefault(key, (entry, where))
    return [entry for entry, _ in found.values()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('requirements', nargs='+',
                        help='requirements files with ">=" minimums')
    parser.add_argument('-o', '--output', default='-',
                        help='constraints file to write (default: stdout)')
    args = parser.parse_args(argv)
    try:
        pins = minimums(args.requirements)
    except (OSError, ValueError) as error:
        parser.exit(2, f'{parser.prog}: error: {error}\n')
    text = ''.join(f'{name}=={floor}' + (f'; {marker}' if marker else '')
                   + '\n' for name, floor, marker in pins)
    if args.output == '-':
        sys.stdout.write(text)
    else:
        with open(args.output, 'w', encoding='utf-8') as out:
            out.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
