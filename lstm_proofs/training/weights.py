"""Trained weights kept beside a results file: every finished trial's final weights and its weights at a few
points during training, so that anything can be measured on the trained networks without training them again.

Where they are: ``<results stem>.weights/trial_0007.npz`` beside ``<results stem>.json`` (as the checkpoints of
unfinished trials live in ``<results stem>.ckpt/``). One compact file per trial (``numpy.savez_compressed``,
float64 arrays exactly as trained) holding:

* ``meta``: JSON with ``format``, the run's ``settings`` (as in the results file), ``trial``, ``solved``,
  ``stop``, ``sequences``, the network's ``topology`` (the fields of
  :class:`~lstm_proofs.network.Topology`) and ``kept``, the sequence counts of the snapshots;
* ``final__<array>``: the weights when the trial finished (the weights its final test was run with);
* ``at_<n>__<array>``: the weights after ``n`` training sequences, for each ``n`` of :data:`KEEP_AT` the trial
  reached (``at_0``: the initial weights; under sequential construction the hidden part is still zero there).

How they travel (one rule for every caller of the trainer, ``train`` and anything else built on
:func:`~lstm_proofs.training.trainer.run_trials`): the trainer puts them, packed as plain bytes
(:func:`pack_params`), into the finished trial's record under :data:`WEIGHTS_FIELD`. The record travels as it did
before: returned from ``run_trials``, or streamed by a Dask worker to the client as an event and returned by the
chunk (bytes survive both, and the cluster's check that a rerun trial comes out identical covers the weights too).
The writer of the results file (:meth:`~lstm_proofs.training.results.ResultsFile.add`) takes the field out of the
record, writes the weights file atomically (temporary file, then rename) and only then stores the record: a trial in
the results file has its weights file, and the JSON never holds weights. The record fields that ``replay`` compares
are therefore unchanged; ``lstm-proofs replay`` writes the weights of the trials it reran identically, which gives
rows trained before weights were kept their weights without training them again.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.network import Params, Topology
from lstm_proofs.results import atomic_file

FORMAT = "lstm-proofs/weights/1"

#: The record field that carries a finished trial's weights from the trainer to the writer of the results file.
WEIGHTS_FIELD = "weights"

#: Training sequences after which a trial's weights are kept (0: the initial weights), log-spaced: a handful of
#: snapshots per trial, each costing one copy of the weights when it is taken.
KEEP_AT = (0, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)


def weights_dir(results_path: Path) -> Path:
    """The weights directory of a results file (``x.json`` -> ``x.weights``)."""
    results_path = Path(results_path)
    return results_path.with_name(results_path.stem + ".weights")


def weights_path(results_path: Path, trial: int) -> Path:
    """The weights file of one trial of a results file."""
    return weights_dir(results_path) / f"trial_{int(trial):04d}.npz"


def pack_params(params: Params) -> dict[str, bytes]:
    """Weights as plain data that survives pickling and Dask's event stream (msgpack) bit for bit:
    ``{array name: the array in NumPy's .npy format}`` (float64; the format's bytes depend only on the array)."""
    out = {}
    for name, a in sorted(params.arrays.items()):
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(a, dtype=np.float64), allow_pickle=False)
        out[name] = buf.getvalue()
    return out


def unpack_params(packed: dict[str, bytes]) -> Params:
    """The inverse of :func:`pack_params`."""
    return Params({name: _array(v) for name, v in packed.items()})


def record_payload(topology: Topology, final: Params, kept: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """What the trainer puts into a finished trial's record under :data:`WEIGHTS_FIELD`: the topology, the final
    weights and the snapshots ``kept`` (sequence count -> :func:`pack_params`); only strings, integers and bytes, which
    Dask's event stream carries unchanged."""
    return {"topology": asdict(topology), "final": pack_params(final),
            "kept": {str(n): kept[n] for n in sorted(kept)}}


@dataclass
class TrialWeights:
    """The weights of one finished trial.

    Attributes:
        trial: the trial index; solved, stop, sequences: from its record.
        topology: the network they belong to.
        final: the weights when the trial finished.
        kept: the weights after ``n`` training sequences, ``{n: Params}`` (see :data:`KEEP_AT`).
        settings: the run's settings (row, seed, task options, ...), as in the results file.
        path: the file they were read from.
    """

    trial: int
    solved: bool
    stop: str
    sequences: int
    topology: Topology
    final: Params
    kept: dict[int, Params]
    settings: dict[str, Any]
    path: Path

    def stages(self) -> list[tuple[str, int, Params]]:
        """Every stored set of weights in training order: ``(label, sequences, params)``, the snapshots
        (``"at 1000"``) and then ``("final", sequences, final)``."""
        out = [(f"at {n}", n, p) for n, p in sorted(self.kept.items()) if n < self.sequences]
        return [*out, ("final", self.sequences, self.final)]


def save_trial(results_path: Path, settings: dict[str, Any], record: dict[str, Any],
               payload: dict[str, Any]) -> Path:
    """Write one trial's weights file atomically (see the module docstring); returns its path."""
    path = weights_path(results_path, int(record["trial"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"final__{k}": _array(v) for k, v in payload["final"].items()}
    for n, packed in payload["kept"].items():
        arrays.update({f"at_{int(n)}__{k}": _array(v) for k, v in packed.items()})
    meta = {"format": FORMAT, "settings": json.loads(json.dumps(settings)), "trial": int(record["trial"]),
            "solved": bool(record["solved"]), "stop": str(record["stop"]), "sequences": int(record["sequences"]),
            "topology": payload["topology"], "kept": sorted(int(n) for n in payload["kept"])}
    with atomic_file(path, binary=True) as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
    return path


def _array(packed: bytes) -> np.ndarray:
    return np.load(io.BytesIO(packed), allow_pickle=False)


def stored_trials(results_path: Path) -> list[int]:
    """The trials of a results file that have a weights file."""
    d = weights_dir(results_path)
    if not d.is_dir():
        return []
    out = []
    for f in d.glob("trial_*.npz"):
        try:
            out.append(int(f.stem.split("_", 1)[1]))
        except ValueError:
            continue
    return sorted(out)


def load_trial(results_path: Path, trial: int) -> TrialWeights:
    """The stored weights of trial ``trial`` of the results file ``results_path``.

    Raises:
        UserError: (one line) when the file is missing, unreadable, of another format, or inconsistent with its
            own topology.
    """
    path = weights_path(results_path, trial)
    if not path.is_file():
        raise UserError(f"no stored weights for trial {trial} of {results_path} (expected {path}); rerun "
                        f"'lstm-proofs train' for that row, or 'lstm-proofs replay --weights {results_path}' to "
                        "store the weights of its trials")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: np.array(z[k], dtype=np.float64) for k in z.files if k != "meta"}
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise UserError(f"{path} is not a weights file of this version of lstm-proofs")
        topology = Topology(**meta["topology"])
        final = _group(arrays, "final")
        kept = {int(n): _group(arrays, f"at_{int(n)}") for n in meta["kept"]}
        shapes = topology.param_shapes()
        for params in (final, *kept.values()):
            if {k: v.shape for k, v in params.arrays.items()} != shapes:
                raise UserError(f"{path} holds arrays that do not fit its topology; remove it and replay the trial")
    except UserError:
        raise
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read weights file {path} ({type(exc).__name__}: {exc}); remove it and rerun "
                        "'lstm-proofs replay --weights' for its results file".replace("\n", " ")) from None
    return TrialWeights(int(meta["trial"]), bool(meta["solved"]), str(meta["stop"]), int(meta["sequences"]),
                        topology, final, kept, meta["settings"], path)


def _group(arrays: dict[str, np.ndarray], prefix: str) -> Params:
    group = {k[len(prefix) + 2:]: v for k, v in arrays.items() if k.startswith(prefix + "__")}
    if not group:
        raise KeyError(f"{prefix} weights missing")
    return Params(group)


def load_run_weights(results_path: Path) -> list[TrialWeights]:
    """The stored weights of every trial of a results file that has them (in trial order)."""
    return [load_trial(results_path, t) for t in stored_trials(results_path)]
