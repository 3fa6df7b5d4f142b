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

"""The config files a conf reads: their size and kind, names and sections."""

import configparser
import glob
import os
import stat

from oslo_config import cfg

from sora.scheduler import exceptions

MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024
"""The largest config file Sora reads (16 MiB); a larger one is refused."""


def check_config_file(path, limit=MAX_CONFIG_FILE_BYTES):
    """Refuse a config file that is too large or not a regular file.

    Call it before oslo.config reads *path*: oslo.config reads a file whole,
    whatever its size (``/dev/zero`` never ends). ``/dev/null`` passes as an
    empty file; a path that does not exist or is a directory is left for
    oslo.config to report.

    :raises InvalidConfig: naming the file and the limit.
    """
    try:
        info = os.stat(os.path.expanduser(path))
    except (OSError, ValueError):
        return
    if stat.S_ISDIR(info.st_mode):
        return
    if not stat.S_ISREG(info.st_mode):
        try:
            if os.path.samefile(os.path.expanduser(path), os.devnull):
                return
        except OSError:
            pass
        raise exceptions.InvalidConfig(
            f'config file {path} is not a regular file')
    if info.st_size > limit:
        raise exceptions.InvalidConfig(
            f'config file {path} is too large: {info.st_size} bytes, the '
            f'limit is {limit}')


def config_files(conf):
    """Return the config files *conf* was parsed from, in the order read.

    Taken from oslo.config: the ``--config-file`` files (or the default
    ones), then the ``*.conf`` files of each ``--config-dir`` (or default
    directory) that exists. Empty when *conf* has not been parsed.
    """
    try:
        files = list(conf.config_file or [])
        dirs = conf.config_dir or []
    except cfg.Error:
        return []
    if isinstance(dirs, str):  # oslo.config before 9.7
        dirs = [dirs]
    for directory in dirs:
        files += config_files_in(directory)
    return files


def config_files_in(directory):
    """Return the ``*.conf`` files of *directory* in the order read."""
    return sorted(glob.glob(os.path.join(os.path.expanduser(directory),
                                         '*.conf')))


def sections(path):
    """Return *path* parsed as an ini file, or None if it cannot be."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None,
                                          default_section='\0')
    parser.optionxform = str
    try:
        parser.read(path, encoding='utf-8')
    except (configparser.Error, UnicodeError):
        return None  # oslo.config refuses it itself
    return parser


def fixpath(path):
    """Return *path* as oslo.config's locations name it."""
    return os.path.abspath(os.path.expanduser(path))
