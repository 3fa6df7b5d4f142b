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

"""The Python examples of the README and the user guides run as shown.

Each page's literal blocks that start with an import run in order in one
namespace, which supplies only what the examples call the service's own
work (``start_container``); in the guides, so do the blocks after the
first of them that hold a Python statement (not only an expression, such
as a JSON document or an output line).
"""

import ast
import collections
import os
import textwrap

import fixtures

from tests import base

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def python_blocks(path, continued=False):
    """Return the literal blocks (``::``) of *path* that start an import.

    *continued*: and those after the first that hold a Python statement.
    """
    with open(os.path.join(ROOT, path), encoding='utf-8') as page:
        lines = page.read().splitlines()
    blocks, block = [], None
    for line in lines + ['']:
        if block is not None:
            if not line.strip() or line[:1].isspace():
                block.append(line)
                continue
            code = textwrap.dedent('\n'.join(block)).strip()
            if code.startswith(('import ', 'from ')) or \
                    continued and blocks and _statement(code):
                blocks.append(code)
            block = None
        if line.rstrip().endswith('::') and not line.startswith('..'):
            block = []
    return blocks


def _statement(code):
    # Whether *code* is Python with a statement that is no expression.
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    return any(not isinstance(node, ast.Expr) for node in body)


class ExamplesTest(base.TestCase):

    def run_examples(self, path):
        # No ~/.sora/sora.conf of the machine: conf([], project='sora').
        self.useFixture(fixtures.EnvironmentVariable(
            'HOME', self.useFixture(fixtures.TempDir()).path))
        started = []
        namespace = {'start_container': lambda node, container:
                     started.append((node, container))}
        blocks = python_blocks(path, continued=path.startswith('doc/'))
        self.assertTrue(blocks, f'{path} shows no Python example')
        for code in blocks:
            exec(compile(code, path, 'exec'), namespace)
        self.addCleanup(namespace['scheduler'].close)
        return namespace, started

    def test_readme_embedding_example(self):
        namespace, started = self.run_examples('README.rst')
        self.assertEqual([('node-2', namespace['container'])], started)
        self.assertEqual([], namespace['scheduler'].claims())

    def test_embedding_guide_life_of_a_claim(self):
        namespace, started = self.run_examples(
            'doc/source/user/embedding.rst')
        self.assertEqual([('node-1', namespace['container'])], started)
        self.assertEqual([], namespace['scheduler'].claims())
        [host] = namespace['scheduler'].hosts()
        self.assertEqual((3584, 3.5), (host.memory_mb, host.cpus))

    def test_embedding_guide_gpus(self):
        namespace, _ = self.run_examples('doc/source/user/embedding.rst')
        gpus = namespace['gpus']
        self.addCleanup(gpus.close)
        self.assertEqual(['gpu-1'] * 3, namespace['nodes'])
        self.assertEqual([], gpus.claims())
        self.assertEqual([('gpu-1', {'gpu': 1}, {'gpu': 8}),
                          ('cpu-1', {}, {})],
                         [(host.id, host.resources, host.resources_total)
                          for host in gpus.hosts()])

    def test_embedding_guide_zones(self):
        namespace, _ = self.run_examples('doc/source/user/embedding.rst')
        zones = namespace['zones']
        self.addCleanup(zones.close)
        self.assertEqual({'az1': 2, 'az2': 2, 'az3': 2}, collections.Counter(
            node.split('-')[0] for node in namespace['replicas']))
        self.assertEqual(['az1', 'az2', 'az3'], sorted(
            node.split('-')[0] for node in namespace['databases']))

    def test_placement_recipes(self):
        namespace, _ = self.run_examples('doc/source/user/placement.rst')
        scheduler = namespace['scheduler']
        labels = {host.id: host.labels for host in scheduler.hosts()}
        self.assertEqual(['az1', 'az2', 'az3'],
                         sorted(labels[node]['zone']
                                for node in namespace['db']))
        racks = collections.Counter(labels[node]['rack']
                                    for node in namespace['web'])
        self.assertEqual([2] * 6, list(racks.values()))
        self.assertEqual('gpu-1', namespace['trainer'])
        self.assertIn('memory 1 (needs 32768 MB), taints 0 (taint '
                      'dedicated=gpu:no_schedule: 1 host)',
                      namespace['refusal'])
        self.assertEqual('true', labels[namespace['cache']]['ssd'])
        self.assertEqual('old-1', namespace['fallback'])
        self.assertIn(labels[namespace['batch']]['zone'], ('az1', 'az2'))
