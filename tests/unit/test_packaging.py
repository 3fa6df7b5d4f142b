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

"""The declared requirements: floors, the extra, tools/minimums.py."""

import contextlib
import importlib.metadata
import importlib.util
import io
import os

from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
REQUIREMENTS = os.path.join(ROOT, 'requirements.txt')
TEST_REQUIREMENTS = os.path.join(ROOT, 'test-requirements.txt')


def load_minimums():
    spec = importlib.util.spec_from_file_location(
        'minimums', os.path.join(ROOT, 'tools', 'minimums.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


minimums = load_minimums()


class RequirementsTest(base.TestCase):

    def floors(self, *paths):
        return {name: floor for name, floor, _ in minimums.minimums(paths)}

    def test_every_requirement_declares_one_minimum(self):
        # tox -e min installs exactly these; a requirement without a floor
        # would go untested there.
        floors = self.floors(REQUIREMENTS, TEST_REQUIREMENTS)
        self.assertIn('oslo.log', floors)
        self.assertIn('pytest', floors)

    def test_numpy_floor_has_wheels_for_every_python(self):
        # numpy 2.1.0 is the first release with wheels for Python 3.13.
        floor = self.floors(REQUIREMENTS)['numpy']
        self.assertGreaterEqual(tuple(map(int, floor.split('.'))), (2, 1))

    def test_installed_metadata_matches_requirements(self):
        declared = importlib.metadata.requires('sora')
        runtime = sorted(r for r in declared if ';' not in r)
        self.assertEqual(
            sorted(f'{name}>={floor}'
                   for name, floor in self.floors(REQUIREMENTS).items()),
            runtime)

    def test_fixtures_extra_for_the_plugin_test_fixture(self):
        # sora.scheduler.fixture imports fixtures, which Sora itself does
        # not need: pip install 'sora[fixtures]' brings it.
        floor = self.floors(TEST_REQUIREMENTS)['fixtures']
        self.assertIn(f'fixtures>={floor}; extra == "fixtures"',
                      importlib.metadata.requires('sora'))


class MinimumsToolTest(base.TestCase):

    def run_tool(self, *paths):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                status = minimums.main(list(paths))
            except SystemExit as exit:
                status = exit.code
        return status, out.getvalue(), err.getvalue()

    def test_floors_become_pins(self):
        path = self.write_file('req.txt', '''\
            # a comment
            pbr>=6.1.1 # Apache-2.0
            numpy>=2.1.0,!=2.2.0  # BSD
            oslo.log[fixtures] >= 8.3.0
            tomli>=2.0.1;python_version<"3.12"
            ''')
        self.assertEqual(
            (0, 'pbr==6.1.1\nnumpy==2.1.0\noslo.log==8.3.0\n'
                'tomli==2.0.1; python_version<"3.12"\n', ''),
            self.run_tool(path))

    def test_one_pin_for_a_requirement_in_two_files(self):
        first = self.write_file('a.txt', 'fixtures>=4.1.0\n')
        second = self.write_file('b.txt', 'Fixtures>=4.1.0\nmock>=5.0\n')
        out = self.write_file('out.txt', '')
        self.assertEqual((0, '', ''),
                         self.run_tool('-o', out, first, second))
        with open(out) as pins:
            self.assertEqual('fixtures==4.1.0\nmock==5.0\n', pins.read())

    def test_a_requirement_without_one_floor_is_an_error(self):
        for line in ('six', 'six<2', 'six>=1,>=1.2', 'six==1.16.0'):
            path = self.write_file('req.txt', line + '\n')
            status, out, err = self.run_tool(path)
            self.assertEqual((2, ''), (status, out))
            self.assertIn(f"{path}:1: '{line}' declares no single \">=\" "
                          'minimum', err)

    def test_floors_that_differ_between_files_are_an_error(self):
        first = self.write_file('a.txt', 'fixtures>=4.1.0\n')
        second = self.write_file('b.txt', 'fixtures>=4.2.0\n')
        status, out, err = self.run_tool(first, second)
        self.assertEqual((2, ''), (status, out))
        self.assertIn(f'{second}:1: fixtures>=4.2.0, but {first}:1 declares '
                      '>=4.1.0', err)
