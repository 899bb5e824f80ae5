"""``train --cluster``: trials on a Dask cluster give the records (and stored weights) of a serial run, bit for bit,
on a local cluster, against a scheduler and workers started by hand, after a worker is killed mid-run, and after a
stop and rerun."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lstm_proofs.cli import main
from lstm_proofs.errors import UserError
from lstm_proofs.training import execution
from lstm_proofs.training.execution import ClusterSpec, outcome, parse_cluster
from lstm_proofs.training.weights import load_trial

#: Four trials of Exp. 6a, short enough for CI, long enough (several seconds per chunk) to be killed mid-run.
ROW = ["train", "6a", "--trials", "4", "--max-sequences", "4000", "--quiet"]
CLI = [sys.executable, "-m", "lstm_proofs.cli"]


def _outcomes(path: Path) -> list[dict]:
    """The records without their run fields, each with the trial's stored weights (final and snapshots)."""
    data = json.loads(Path(path).read_text())
    out = []
    for t in data["trials"]:
        w = load_trial(path, t["trial"])
        arrays = {f"{n}/{k}": v.tobytes() for n, p in [("final", w.final), *w.kept.items()]
                  for k, v in p.arrays.items()}
        out.append({**outcome(t), "weights": arrays})
    return out


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    path = tmp_path_factory.mktemp("serial") / "serial.json"
    assert main([*ROW, "--json", str(path)]) == 0
    assert [t["trial"] for t in _outcomes(path)] == [0, 1, 2, 3]
    return _outcomes(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_parse_cluster():
    assert parse_cluster("local") == ClusterSpec("local")
    assert parse_cluster("local:3") == ClusterSpec("local", workers=3)
    assert parse_cluster("tcp://10.0.0.1:8786") == ClusterSpec("tcp", address="tcp://10.0.0.1:8786")
    for bad in ("", "local:0", "local:x", "tcp://host", "tcp://:8786", "tcp://h:99999", "ssh://h:1", "local:"):
        with pytest.raises(UserError, match="--cluster"):
            parse_cluster(bad)


@pytest.mark.parametrize("args, message", [
    (["--cluster", "local:2", "--jobs", "2"], "not both"),
    (["--cluster", "mesos://x"], "--cluster must be local"),
    (["--jobs", "0"], "--jobs must be between 1"),
])
def test_bad_cluster_arguments_are_one_line_errors(args, message, tmp_path, capsys):
    assert main([*ROW, *args, "--json", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.json").exists()


def test_unreachable_scheduler_is_a_one_line_error_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(execution, "CONNECT_TIMEOUT", 2.0)
    path = tmp_path / "x.json"
    assert main([*ROW, "--cluster", f"tcp://127.0.0.1:{_free_port()}", "--json", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:" in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == [".x.json.lock"]  # the lock file stays (filelock's rule)


def test_local_cluster_equals_serial_run(serial, tmp_path, capsys):
    path = tmp_path / "local.json"
    assert main([*ROW, "--cluster", "local:2", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cluster local:2: 2 worker(s), 2 thread(s); dashboard " in out
    try:
        import bokeh  # noqa: F401  (the README's set-up installs it: the 'dashboard' extra)
    except ImportError:
        pass
    else:
        assert "; dashboard http://127.0.0.1:" in out
    assert _outcomes(path) == serial
    data = json.loads(path.read_text())  # 4 trials in 2 chunks: the run held both cores
    assert data["core_seconds"] == pytest.approx(2 * data["wall_seconds"], rel=1e-3)


def _stop(procs: list[subprocess.Popen]) -> None:
    """Terminate the hand-started scheduler and workers; kill any that has not exited after 30 s (a loaded
    machine can take that long to shut a worker down; the test's assertions are made before)."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def test_scheduler_and_workers_started_by_hand(serial, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)]
    try:
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                  "--no-dashboard", "--no-nanny"]
        procs += [subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
                  for _ in range(2)]
        path = tmp_path / "tcp.json"
        run = subprocess.run([*CLI, *ROW, "--cluster", address, "--json", str(path)], capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        assert f"cluster {address}: 2 worker(s), 2 thread(s)" in run.stdout
        assert _outcomes(path) == serial
    finally:
        _stop(procs)


def _start_cluster_run(path: Path) -> subprocess.Popen:
    """A ``train --cluster local:2`` subprocess, returned once both chunks have written a checkpoint."""
    proc = subprocess.Popen([*CLI, *ROW, "--cluster", "local:2", "--checkpoint-every", "0.2", "--json", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpt = path.with_suffix(".ckpt")
    deadline = time.monotonic() + 300
    while len(list(ckpt.glob("trial_*.npz"))) < 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    return proc


def _workers(proc: subprocess.Popen) -> list:
    """The Dask worker processes of a local cluster started by ``proc`` (its children spawned by multiprocessing)."""
    return [c for c in psutil.Process(proc.pid).children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]


def test_killed_worker_changes_nothing(serial, tmp_path):
    path = tmp_path / "killed.json"
    proc = _start_cluster_run(path)
    workers = _workers(proc)
    assert len(workers) == 2, [w.cmdline() for w in workers]
    os.kill(workers[0].pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert _outcomes(path) == serial
    assert not list(path.with_suffix(".ckpt").glob("trial_*.npz"))  # none unfinished (at-cap/ keeps the capped)


def test_stopped_cluster_run_resumes_to_the_serial_records(serial, tmp_path):
    path = tmp_path / "stopped.json"
    proc = _start_cluster_run(path)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "Traceback" not in err and "rerun the same command" in err
    assert len(list(path.with_suffix(".ckpt").glob("trial_*.npz"))) + len(_outcomes(path)) == 4
    rerun = subprocess.run([*CLI, *ROW, "--cluster", "local:2", "--json", str(path)], capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert _outcomes(path) == serial
