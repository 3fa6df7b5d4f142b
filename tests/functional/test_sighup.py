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

"""A real SIGHUP to a running oslo.service process reloads the driver."""

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

APP = os.path.join(os.path.dirname(__file__), 'oslo_service_app.py')
FILTER = ('[DEFAULT]\nscheduler_driver = filter\nuse_stderr = true\n'
          '[filter_scheduler]\nweighers = containers\n')


class SighupTest(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.conf = os.path.join(tmp.name, 'sora.conf')
        self.write('[DEFAULT]\nuse_stderr = true\n')
        self.process = subprocess.Popen(
            [sys.executable, APP, '--config-file', self.conf],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, HOME=tmp.name))
        self.addCleanup(self.stop)
        self.lines = queue.Queue()
        threading.Thread(target=self.read, daemon=True).start()

    def write(self, text):
        with open(self.conf, 'w') as conf_file:
            conf_file.write(text)

    def read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.process.stdout.close()

    def wait_for(self, text, seconds=30):
        """Return the output seen until a line containing *text*."""
        seen, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return seen
        self.fail(f'no line with {text!r} in {seconds} s; saw:\n'
                  + '\n'.join(seen[-20:]))

    def test_sighup_swaps_the_driver_and_survives_a_broken_config(self):
        self.wait_for('driver=memorybase chose=big')
        self.write(FILTER)
        self.process.send_signal(signal.SIGHUP)
        self.wait_for('driver=filter chose=idle')
        self.write('[DEFAULT]\nscheduler_driver = nosuch\nuse_stderr = true\n')
        self.process.send_signal(signal.SIGHUP)
        self.wait_for("Keeping scheduler driver filter: the reloaded "
                      "configuration is broken: [DEFAULT] scheduler_driver "
                      f"(set in {self.conf}): no plugin named 'nosuch'")
        self.wait_for('driver=filter chose=idle')
        self.assertIsNone(self.process.poll())
