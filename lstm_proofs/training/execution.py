"""Where trials run: in this process, or as chunks on a Dask cluster (``--cluster``).

A trial's outcome depends only on the base seed, its index and the row's settings (see
:mod:`~lstm_proofs.training.trainer`), never on which trials share its lockstep batch, so the pending trials can be
split into chunks and run anywhere. On a cluster:

* the pending trials are dealt into as many interleaved chunks as the cluster has worker threads (at most one per
  trial); each chunk is one task, running its trials in lockstep with :func:`run_trials`;
* workers send progress and each finished trial's record as events on a topic of their own; the client (this
  process) is the only writer of the results file, and the record a chunk returns is the authority, so a lost event
  loses nothing;
* a worker that dies loses its unfinished chunk; the scheduler runs the chunk again on another worker, which
  resumes from the trials' checkpoints where the checkpoint directory is shared (always on a local cluster), and
  trials already recorded are checked to come out identical and are not stored twice;
* Ctrl-C or SIGTERM asks every worker to save its active trials at the end of their sequences and stop.

Cluster specifications: ``local`` (a :class:`distributed.LocalCluster` with one single-threaded worker process per
core), ``local:N`` (N worker processes) and ``tcp://HOST:PORT`` (a running scheduler, e.g. ``dask scheduler`` with
``dask worker`` processes started by hand, by SSH, SLURM or Kubernetes; see docs/cluster.md).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lstm_proofs.errors import UserError
from lstm_proofs.training.checkpoints import Checkpoints
from lstm_proofs.training.presets import Preset

#: Upper bound of N in ``local:N``.
MAX_LOCAL_WORKERS = 256

#: Seconds to wait for a scheduler given as ``tcp://HOST:PORT``.
CONNECT_TIMEOUT = 10.0

#: Record fields that may differ between two runs of the same trial (wall time, the code that ran it).
RUN_FIELDS = ("seconds", "code")

ProgressFn = Callable[[str, int, float], None]
ResultFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrialBatch:
    """What to run: the pending trials of one row under one set of settings (everything a worker needs)."""

    preset: Preset
    trials: tuple[int, ...]
    seed: int
    cap: int
    options: dict[str, Any]
    update: str
    backend: str
    store: Checkpoints | None = None


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed ``--cluster`` value: ``kind`` is ``local`` (``workers`` processes, None for one per core) or
    ``tcp`` (``address`` of a running scheduler)."""

    kind: str
    workers: int | None = None
    address: str | None = None

    def __str__(self) -> str:
        if self.kind == "tcp":
            return str(self.address)
        return "local" if self.workers is None else f"local:{self.workers}"


def parse_cluster(text: str) -> ClusterSpec:
    """Parse ``--cluster``: ``local``, ``local:N`` or ``tcp://HOST:PORT``; a :class:`UserError` otherwise."""
    text = text.strip()
    if text == "local":
        return ClusterSpec("local")
    if text.startswith("local:"):
        n = text.partition(":")[2]
        if not n.isdigit() or not 1 <= int(n) <= MAX_LOCAL_WORKERS:
            raise UserError(f"--cluster local:N needs a worker count N between 1 and {MAX_LOCAL_WORKERS}, got {text!r}")
        return ClusterSpec("local", workers=int(n))
    if text.startswith("tcp://"):
        host, sep, port = text[len("tcp://"):].rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise UserError(f"--cluster tcp:// needs HOST:PORT with a port between 1 and 65535, got {text!r}")
        return ClusterSpec("tcp", address=text)
    raise UserError(f"--cluster must be local, local:N or tcp://HOST:PORT, got {text!r}")


def outcome(record: dict[str, Any]) -> dict[str, Any]:
    """A trial record without its run fields (:data:`RUN_FIELDS`): what must be equal, bit for bit, whenever the
    trial is run again. Compared as JSON (what the results file keeps): records that came as Dask events have
    tuples where the worker had lists."""
    return json.loads(json.dumps({k: v for k, v in record.items() if k not in RUN_FIELDS}, default=_hex))


def _hex(value: Any) -> str:
    """Bytes (the packed weights a record carries to the results writer, training/weights.py) as hex text, so that
    they are compared bit for bit with the rest of the record."""
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} in a trial record")


@dataclass(frozen=True)
class Runner:
    """What :func:`runner` yields: called as ``run(batch, progress, result)``; ``slots`` is how many trials' chunks
    it runs at once (1 in this process; the cluster's threads on a cluster)."""

    run: Callable[[TrialBatch, ProgressFn, ResultFn], None]
    slots: int = 1

    def __call__(self, batch: TrialBatch, progress: ProgressFn, result: ResultFn) -> None:
        self.run(batch, progress, result)

    def cores(self, trials: int) -> int:
        """The cores a batch of ``trials`` trials holds: one per chunk (:func:`_chunks`)."""
        return max(1, min(trials, self.slots))


@contextmanager
def runner(cluster: ClusterSpec | None, announce: Callable[[str], None] = print) -> Iterator[Runner]:
    """A function that runs the trials of a :class:`TrialBatch`: in this process (``cluster`` None, one lockstep
    batch) or on a Dask cluster, which is reached (or started) on entering and left on exit, so that an unreachable
    scheduler is reported before anything is written.

    The function is called as ``run(batch, progress, result)``: ``progress(source, new sequences, running error)``
    comes every half second or so per source (this process, or a chunk on a worker) and ``result(record)`` once per
    finished trial, both in the calling thread. ``announce`` prints the cluster and its dashboard address.
    """
    if cluster is None:
        yield Runner(_run_here)
        return
    with connect(cluster) as client:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        slots = sum(w.get("nthreads", 1) for w in workers.values()) or 1
        served = importlib.util.find_spec("bokeh") is not None
        announce(f"cluster {cluster}: {len(workers)} worker(s), {slots} thread(s); dashboard "
                 + (client.dashboard_link if served or cluster.kind == "tcp" else
                    "not served here (pip install bokeh, or -e '.[dashboard]')"))
        yield Runner(lambda batch, progress, result: _run_on_cluster(client, slots, batch, progress, result), slots)


class Throttle:
    """Forward progress at most every ``interval`` seconds (sums the sequence counts in between; the running
    error, a function, is evaluated only when it is sent)."""

    def __init__(self, send: Callable[[int, float], None], interval: float = 0.5) -> None:
        self.send, self.interval = send, interval
        self.n, self.err, self.last = 0, (lambda: float("nan")), time.monotonic()

    def __call__(self, n: int, err: Callable[[], float]) -> None:
        self.n += n
        self.err = err
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.n:
            self.send(self.n, self.err())
        self.n, self.last = 0, time.monotonic()


def _train(batch: TrialBatch, trials: list[int], on_result: ResultFn, send: Callable[[int, float], None]) -> \
        list[dict[str, Any]]:
    from lstm_proofs.training.trainer import run_trials

    throttle = Throttle(send)
    records = run_trials(batch.preset, trials, batch.seed, batch.cap, batch.options, batch.update,
                         on_result=on_result, on_progress=lambda n, err, active: throttle(n, err),
                         backend=batch.backend, checkpoints=batch.store)
    throttle.flush()
    return records


def _run_here(batch: TrialBatch, progress: ProgressFn, result: ResultFn) -> None:
    _train(batch, list(batch.trials), result, lambda n, err: progress("here", n, err))


# ----- on a Dask cluster -----

#: Topics of the chunks running in this (worker) process, with their counts.
_RUNNING: dict[str, int] = {}


def run_chunk(batch: TrialBatch, chunk: list[int], topic: str) -> list[dict[str, Any]]:
    """The task a worker runs: the trials ``chunk`` of ``batch`` in lockstep, with progress and each finished
    record sent as events on ``topic``; returns the chunk's records (all of them, unless asked to stop).

    Trials that the client has already stored (listed in the Dask variable ``topic``, when the chunk is run again
    after a lost worker) are skipped."""
    from distributed import Variable, get_worker

    worker = get_worker()
    source = f"{worker.address}/{chunk[0]}"
    stored = set(Variable(topic).get(timeout=CONNECT_TIMEOUT))
    chunk = [t for t in chunk if t not in stored]
    if not chunk:
        return []

    def send(kind: str, payload: Any) -> None:
        try:
            worker.log_event(topic, {"kind": kind, "source": source, "payload": payload})
        except Exception:  # noqa: BLE001 - events only speed things up; the returned records are the authority
            pass

    done: list[dict[str, Any]] = []

    def finished(rec: dict[str, Any]) -> None:
        done.append(rec)
        send("result", rec)

    _RUNNING[topic] = _RUNNING.get(topic, 0) + 1
    try:
        return _train(batch, chunk, finished, lambda n, err: send("progress", [n, err]))
    except KeyboardInterrupt:  # asked to stop: the active trials are saved; the finished ones go back
        return done
    finally:
        _RUNNING[topic] -= 1
        if not _RUNNING[topic]:
            del _RUNNING[topic]


def _stop_chunks(topic: str) -> None:
    """Run on each worker: if it runs a chunk of the run ``topic``, the trainer saves its active trials at the end
    of their sequences and returns (the trainer's stop flag is per process, so a worker should have one thread)."""
    from lstm_proofs.training.trainer import request_stop

    if topic in _RUNNING:
        request_stop()


@contextmanager
def connect(spec: ClusterSpec) -> Iterator[Any]:
    """A :class:`distributed.Client` on the cluster ``spec`` (a local cluster is started and shut down here)."""
    from distributed import Client, LocalCluster

    if spec.kind == "local":
        n = spec.workers or os.cpu_count() or 1
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                          silence_logs=50) as local, Client(local) as client:
            yield client
        return
    try:
        client = Client(spec.address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise UserError(f"cannot reach the Dask scheduler at {spec.address}: {exc}".splitlines()[0]) from None
    with client:
        yield client


def _tell_stop(client: Any, topic: str) -> None:
    """Ask the workers running chunks of ``topic`` to stop (a worker that is gone has nothing to stop)."""
    try:
        client.run(_stop_chunks, topic, on_error="ignore")
    except OSError:  # the scheduler itself is unreachable
        pass


def _chunks(trials: tuple[int, ...], slots: int) -> list[list[int]]:
    n = max(1, min(len(trials), slots))
    return [list(trials[i::n]) for i in range(n)]  # interleaved, so that each chunk gets a similar mix


def _run_on_cluster(client: Any, slots: int, batch: TrialBatch, progress: ProgressFn, result: ResultFn) -> None:
    """Run ``batch`` as chunks of trials on the cluster of ``client`` (``slots`` worker threads); see the module
    docstring."""
    from distributed import Variable, wait

    from lstm_proofs.training.trainer import stop_requested

    if not batch.trials:
        return
    if batch.store is not None:  # workers may run elsewhere: the checkpoint directory by its absolute path
        batch = replace(batch, store=Checkpoints(Path(batch.store.directory).resolve(), batch.store.settings,
                                                 batch.store.every))
    chunks = _chunks(batch.trials, slots)
    topic = f"lstm-proofs-train-{uuid.uuid4().hex}"
    events: queue.Queue[Any] = queue.Queue()
    client.subscribe_topic(topic, events.put)
    stored = Variable(topic, client=client)
    stored.set([])
    futures = [client.submit(run_chunk, batch, chunk, topic, pure=False) for chunk in chunks]
    seen: dict[int, dict[str, Any]] = {}

    def take(rec: dict[str, Any]) -> None:
        trial = int(rec["trial"])
        if trial in seen:  # a chunk run again after a lost worker: the trial must come out the same
            if outcome(seen[trial]) != outcome(rec):
                raise RuntimeError(f"trial {trial} came out differently when run again on the cluster; "
                                   "results are not reproducible (please report this)")
            return
        seen[trial] = rec
        result(rec)
        stored.set(sorted(seen))

    told = 0.0
    try:
        while True:
            if stop_requested() and time.monotonic() - told > 1.0:  # repeated for chunks that start later
                _tell_stop(client, topic)
                told = time.monotonic()
            try:
                _, msg = events.get(timeout=0.2)
            except queue.Empty:
                if all(f.done() for f in futures):
                    break
                continue
            if msg["kind"] == "progress":
                progress(msg["source"], int(msg["payload"][0]), float(msg["payload"][1]))
            else:
                take(msg["payload"])
        wait(futures)
        for f in futures:
            try:
                records = f.result()
            except ImportError as exc:  # a worker without lstm-proofs (or without one of its dependencies)
                raise UserError(f"a Dask worker cannot import {exc.name or 'a module'}: install lstm-proofs (the "
                                "same version) in every worker's environment") from None
            for rec in records:  # the authority: records whose events were lost are stored here
                take(rec)
        while not events.empty():
            _, msg = events.get_nowait()
            if msg["kind"] == "result":
                take(msg["payload"])
        if stop_requested():
            raise KeyboardInterrupt
    except BaseException:
        if not stop_requested():  # an error here: ask the workers to save their trials and stop
            _tell_stop(client, topic)
        client.cancel(futures)
        raise
    finally:
        client.unsubscribe_topic(topic)
        stored.delete()


def finite_mean(values: list[float]) -> float:
    """Mean of the finite values (nan if there are none)."""
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else float("nan")
