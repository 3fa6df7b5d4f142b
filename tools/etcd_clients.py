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

"""``tools/etcd_clients.py``: etcd's JSON gateway or gRPC, measured.

Two ways for the etcd store to speak to etcd, each used the same bare way
(no manager, no mirror): Sora's own client (``Client`` and ``Watch`` of
``sora.scheduler.stores.etcd``, etcd's v3 JSON gateway through
``requests``) and a gRPC client from PyPI, ``etcd-sdk-python`` (module
``pyetcd``), which is optional: ``pip install -r
tools/requirements-clients.txt`` brings it; without it only the first
column is measured. Against the etcd at ``--endpoint`` (under a throwaway
prefix, deleted afterwards) it prints, one column per client:

* following: the CPU (``time.process_time``, all threads) a process spends
  watching a prefix of ``--followed`` keys while another process writes
  ``--events`` single-key puts to them, from before it opens the watch
  until it has seen the last revision, ``json.loads`` of each value
  included, per event; with the gRPC client also through its generated
  stubs directly (column ``gRPC stub``: the stream read in the thread that
  iterates it, as Sora's ``Watch`` reads its own, without the library's
  callback thread and queue);
* listing: the CPU seconds and peak RSS (``ru_maxrss``) of a process that
  lists ``--listed`` keys (paged as the store does, 10,000 keys a request,
  all at the first page's revision), makes each an ``ops.KeyValue`` and
  decodes its value; beside its resident memory before listing (its
  imports done);
* watched claim-shaped transactions per second, all processes together,
  for 1, 2 and 4 processes, each looping ``--seconds`` on a transaction
  of four comparisons and two puts on keys of its own (as
  ``tools/etcd_benchmark.py``'s ``_claim_shaped``) while a thread of it
  watches every process's writes; etcd's history is compacted before
  each run, as that script does.

Values are a node report's size (about 200 bytes of JSON). Each figure is
the median of ``--rounds`` runs, the clients taking turns; ``--measure``
picks some of the three. Run it against an etcd of its own.
"""

import argparse
import collections
import importlib
import importlib.metadata
import json
import multiprocessing
import resource
import statistics
import sys
import threading
import time
import urllib.parse
import uuid

from sora.scheduler.stores.etcd import client as etcd_client
from sora.scheduler.stores.etcd import ops
from sora.scheduler.stores.etcd import watch as etcd_watch

GRPC_PACKAGE = 'etcd-sdk-python'
INSTALL = 'pip install -r tools/requirements-clients.txt'
CLAIM = json.dumps({'host': 'n0001', 'needs': [1, 1, 0], 'group': None,
                    'made': 1764750000.25}).encode()
BATCH = 128  # etcd's default --max-txn-ops
MEASURES = ('following', 'listing', 'rates')


def _value(i):
    return json.dumps({
        'amounts': {'memory_mb': 4096000 - i % 512, 'cpus': 8000,
                    'disk_gb': 0},
        'containers': 0, 'enabled': True, 'labels': {'zone': f'az{i % 3}'},
        'groups': [], 'consumers': [], 'members': {}}).encode()


def _pyetcd():
    # The gRPC client's module, or None when it is not installed.
    try:
        import pyetcd
    except ImportError:
        return None
    return pyetcd


class _Json:
    """Sora's own client: etcd's JSON gateway through requests."""

    def __init__(self, endpoint):
        self.client = etcd_client.Client([endpoint], 30.0)
        self._watch = None

    def close(self):
        self.client.close()

    def revision(self):
        return self.client.header()[1]

    def put(self, key, value):
        self.client.txn([], [ops.put(key, value)])

    def follow(self, prefix, start):
        # (mod_revision, value) of each event from revision *start* on.
        self._watch = etcd_watch.Watch(self.client, prefix, start)
        for events in self._watch:
            for event in events:
                yield event.kv.mod_revision, event.kv.value

    def stop(self):
        self._watch.close()

    def list(self, prefix):
        return self.client.range(prefix)[1]

    def claim(self, key, aside, done):
        # etcd_benchmark._claim_shaped.
        host, version = aside + '/host', aside + '/version'
        claim = f'{key}{done}'
        self.client.txn([ops.absent(claim), ops.present(host),
                         ops.unchanged_since(host, 2 ** 62),
                         ops.unchanged_since(version, 2 ** 62)],
                        [ops.put(claim, CLAIM), ops.put(version, b'')],
                        [ops.read(claim), ops.read(host), ops.read(version)])


class _Grpc:
    """etcd-sdk-python: etcd's gRPC API, through grpcio."""

    def __init__(self, endpoint):
        url = urllib.parse.urlsplit(endpoint)
        self.pyetcd = _pyetcd()
        self.client = self.pyetcd.client(url.hostname, url.port or 2379,
                                         timeout=30)
        self._cancel = None

    def close(self):
        self.client.close()

    def revision(self):
        return self.client.get_response('\0', count_only=True).header.revision

    def put(self, key, value):
        self.client.put(key, value)

    def follow(self, prefix, start):
        events, self._cancel = self.client.watch_prefix(
            prefix, start_revision=start)
        for event in events:
            yield event.mod_revision, event.value

    def stop(self):
        self._cancel()

    def list(self, prefix):
        # As Client.range: pages of etcd_client.PAGE keys, all at the
        # first page's revision, each key an ops.KeyValue.
        end = ops.prefix_end(prefix)
        found, key, revision = [], prefix, None
        while True:
            answer = self.client.get_range_response(
                key, end, limit=etcd_client.PAGE, revision=revision)
            revision = answer.header.revision
            found += [ops.KeyValue(kv.key.decode('utf-8', 'surrogateescape'),
                                   kv.value, kv.mod_revision,
                                   kv.create_revision, kv.lease)
                      for kv in answer.kvs]
            if not answer.more:
                return found
            key = found[-1].key + '\0'

    def claim(self, key, aside, done):
        host, version = aside + '/host', aside + '/version'
        claim = f'{key}{done}'
        do = self.client.transactions
        self.client.transaction(
            [do.version(claim) == 0, do.version(host) > 0,
             do.mod(host) < 2 ** 62 + 1, do.mod(version) < 2 ** 62 + 1],
            [do.put(claim, CLAIM), do.put(version, b'')],
            [do.get(claim), do.get(host), do.get(version)])


class _GrpcStub(_Grpc):
    """etcd-sdk-python's generated stubs, its watch left aside.

    Its watch hands each response from grpc's thread to a callback thread
    and through a queue to the iterator; this one reads the stream in the
    thread that iterates, as Sora's Watch does.
    """

    def follow(self, prefix, start):
        rpc = self.pyetcd.etcdrpc
        stop = self._stop = threading.Event()

        def requests():
            yield rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
                key=prefix.encode(), range_end=ops.prefix_end(prefix).encode(),
                start_revision=start))
            stop.wait()

        self._stream = rpc.WatchStub(self.client.channel).Watch(requests())
        try:
            for answer in self._stream:
                if answer.canceled or answer.compact_revision:
                    raise RuntimeError(f'watch cancelled: {answer}')
                for event in answer.events:
                    yield event.kv.mod_revision, event.kv.value
        except importlib.import_module('grpc').RpcError:
            if not stop.is_set():
                raise

    def stop(self):
        self._stop.set()
        self._stream.cancel()


KINDS = {'json': _Json, 'grpc': _Grpc, 'grpc-stub': _GrpcStub}


def _rss():
    # This process's resident memory now, MB. Not ru_maxrss: a spawned
    # process's starts at its parent's, as Linux keeps it across exec.
    try:
        with open('/proc/self/statm') as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return float('nan')
    return pages * resource.getpagesize() / 2 ** 20


def _follower(kind, endpoint, prefix, start, last, ready, results):
    # Follow *prefix* from *start* until revision *last*: CPU, events.
    if kind == 'grpc':
        _pyetcd()  # imported before, as by a process that uses it
    before = time.process_time()
    client = KINDS[kind](endpoint)
    seen = 0
    ready.set()
    for revision, value in client.follow(prefix, start):
        json.loads(value)
        seen += 1
        if revision >= last:
            break
    results.put((time.process_time() - before, seen))
    client.stop()
    client.close()


def _lister(kind, endpoint, prefix, results):
    # List and decode *prefix*: CPU, peak RSS, RSS before, keys.
    if kind == 'grpc':
        _pyetcd()
    base = _rss()
    before = time.process_time()
    client = KINDS[kind](endpoint)
    found = client.list(prefix)
    for kv in found:
        json.loads(kv.value)
    results.put((time.process_time() - before,
                 resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                 base, len(found)))
    client.close()


def _claimer(kind, endpoint, prefix, seconds, start, results):
    # etcd_benchmark._raw with watch=True and shape=_claim_shaped.
    client = KINDS[kind](endpoint)
    key = f'{prefix}/raw/{uuid.uuid4().hex}'
    aside = f'{prefix}/aside/{uuid.uuid4().hex}'
    client.put(aside + '/host', b'{}')
    follower = client.follow(f'{prefix}/raw/', client.revision() + 1)
    thread = threading.Thread(target=collections.deque,
                              args=(follower, 0), daemon=True)
    thread.start()
    start.wait()
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        client.claim(key, aside, done)
        done += 1
    results.put(done)
    client.stop()
    thread.join(5)
    client.close()


def _write(client, prefix, count, offset=0):
    # Keys prefix + n000000...: count of them, BATCH puts a transaction.
    for first in range(0, count, BATCH):
        client.txn([], [ops.put(f'{prefix}n{i:06d}', _value(i + offset))
                        for i in range(first, min(count, first + BATCH))])


def _compact(client):
    revision = client.header()[1]
    client.call('kv/compaction', {'revision': str(revision),
                                  'physical': True})


def _follow(context, kind, endpoint, client, prefix, followed, events):
    # One following run: CPU per event in us.
    _compact(client)
    start = client.header()[1] + 1
    last = start + events - 1
    ready, results = context.Event(), context.Queue()
    follower = context.Process(target=_follower, args=(
        kind, endpoint, prefix, start, last, ready, results))
    follower.start()
    ready.wait(timeout=120)
    for i in range(events):
        _, revision, _ = client.txn([], [ops.put(
            f'{prefix}n{i % followed:06d}', _value(i + 1))])
    if revision != last:
        raise RuntimeError(f'another writer on this etcd: revision '
                           f'{revision}, {last} expected')
    cpu, seen = results.get(timeout=600)
    follower.join()
    return cpu / seen * 1e6


def _list(context, kind, endpoint, client, prefix):
    results = context.Queue()
    lister = context.Process(target=_lister, args=(
        kind, endpoint, prefix, results))
    lister.start()
    figures = results.get(timeout=600)
    lister.join()
    return figures


def _rate(context, kind, endpoint, client, prefix, processes, seconds):
    _compact(client)
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_claimer, args=(
        kind, endpoint, prefix, seconds, start, results))
        for _ in range(processes)]
    for worker in workers:
        worker.start()
    time.sleep(2 + processes)  # each imports, connects and watches first
    start.set()
    total = sum(results.get(timeout=120 + seconds) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return 'not installed'


def _following(args, kinds, context, client, root, row):
    # The following row: a prefix of args.followed keys, written to.
    followed = f'{root}/followed/'
    _write(client, followed, args.followed)
    runs = collections.defaultdict(list)
    for _ in range(args.rounds):
        for kind in kinds + ['grpc-stub'] * ('grpc' in kinds):
            runs[kind].append(_follow(context, kind, args.endpoint,
                                      client, followed, args.followed,
                                      args.events))
    row(f'following {args.events} puts at {args.followed} keys, '
        'us/event', runs, '{:.0f}'.format)


def _listing(args, kinds, context, client, root, row):
    # The listing rows: args.listed keys, deleted afterwards.
    listed = f'{root}/listed/'
    _write(client, listed, args.listed)
    runs = collections.defaultdict(list)
    for _ in range(args.rounds):
        for kind in kinds:
            runs[kind].append(_list(context, kind, args.endpoint,
                                    client, listed))
    for kind in runs:
        if any(figures[3] != args.listed for figures in runs[kind]):
            raise RuntimeError(f'{kind} listed a wrong count of keys')
    for label, index, form in (('CPU s', 0, '{:.2f}'),
                               ('peak RSS MB', 1, '{:.0f}'),
                               ('RSS before listing MB', 2, '{:.0f}')):
        row(f'listing {args.listed} keys: {label}',
            {kind: [figures[index] for figures in runs[kind]]
             for kind in runs}, form.format)
    client.delete(listed)


def _rates(args, kinds, context, client, root, row):
    # A rate row for each count of processes.
    for processes in args.processes:
        runs = collections.defaultdict(list)
        for _ in range(args.rounds):
            for kind in kinds:
                runs[kind].append(_rate(
                    context, kind, args.endpoint, client, root,
                    processes, args.seconds))
        row(f'claim-shaped watched txn/s, {processes} process'
            f'{"es" if processes > 1 else ""}', runs, '{:.0f}'.format)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--endpoint', default='http://127.0.0.1:2379',
                        help='etcd client URL (an etcd of its own)')
    parser.add_argument('--followed', type=int, default=20000,
                        help='keys under the followed prefix')
    parser.add_argument('--events', type=int, default=3000,
                        help='single-key puts the follower sees')
    parser.add_argument('--listed', type=int, default=100000,
                        help='keys listed')
    parser.add_argument('--seconds', type=float, default=10.0,
                        help='length of each transaction rate run')
    parser.add_argument('--processes', type=int, nargs='+',
                        default=[1, 2, 4], help='rate runs of this many '
                        'processes')
    parser.add_argument('--rounds', type=int, default=3,
                        help='runs of each figure; the median is printed')
    parser.add_argument('--measure', nargs='+', default=list(MEASURES),
                        choices=MEASURES, help='what to measure (all when '
                        'omitted)')
    args = parser.parse_args(argv)

    kinds = ['json']
    if _pyetcd() is None:
        print(f'The gRPC client {GRPC_PACKAGE} is not installed: its '
              f'column is left empty. To measure it too: {INSTALL}',
              file=sys.stderr, flush=True)
    else:
        kinds.append('grpc')
    print(f'JSON gateway: requests {_version("requests")}; gRPC: '
          f'{GRPC_PACKAGE} {_version(GRPC_PACKAGE)}, grpcio '
          f'{_version("grpcio")}, protobuf {_version("protobuf")}; '
          f'median of {args.rounds}', flush=True)

    context = multiprocessing.get_context('spawn')
    root = f'/sora-clients-{uuid.uuid4().hex}'
    client = etcd_client.Client([args.endpoint], 60.0)
    rows = []

    def row(label, runs, form):
        # One line: the median of each kind's runs, in *form*.
        cells = [form(statistics.median(runs[kind])) if runs.get(kind)
                 else '-' for kind in KINDS]
        rows.append((label, cells))
        print(f'{label:<44}' + ''.join(f'{cell:>14}' for cell in cells),
              flush=True)

    try:
        print(f'{"":<44}{"JSON gateway":>14}{"gRPC":>14}'
              f'{"gRPC stub":>14}', flush=True)
        if 'following' in args.measure:
            _following(args, kinds, context, client, root, row)
        if 'listing' in args.measure:
            _listing(args, kinds, context, client, root, row)
        if 'rates' in args.measure:
            _rates(args, kinds, context, client, root, row)
    finally:
        client.delete(root)
        client.close()
    return rows


if __name__ == '__main__':
    main()
