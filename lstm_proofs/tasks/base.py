"""What every task generator shares: the batch of sequences, task options and the task base class.

A :class:`Task` describes one experiment variant of the 1997 paper (Section 5): its input and target coding,
its options (with the paper's values as defaults), a vectorised generator and the paper's per-sequence
criterion for "correctly processed". Sequences are time-major like the rest of the project: ``xs`` is
``(T, n, I)``, zero-padded after each sequence's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.inputs import Inputs, OneHotInputs

#: Largest number of sequences one call to :meth:`Task.generate` accepts.
MAX_SEQUENCES = 10_000_000


@dataclass(init=False)
class Batch:
    """A batch of sequences of one task.

    Args:
        xs: inputs, ``(T, n, I)`` float64, time-major, zero after each sequence's end (T = longest length); or,
            for the one-hot tasks, :class:`~lstm_proofs.inputs.OneHotInputs` holding each step's symbol, kept as
            ``inputs`` (``xs`` is then the dense array, made when asked for).
        targets: targets, ``(T, n, K)`` float64 (zero where there is no target).
        mask: ``(T, n, K)`` float64, 1.0 where the paper gives an error signal, else 0.0.
        lengths: ``(n,)`` int64, the number of time steps (inputs presented) of each sequence.
        info: per-sequence extras for tests and reports. Every array has the sequence axis first, ``(n, ...)``;
            time-dependent extras are ``(n, L, ...)`` with ``L`` at least the longest length, padded with -1
            (integers), False (booleans) or 0.0 (floats).
    """

    inputs: Inputs
    targets: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    info: dict[str, np.ndarray]

    def __init__(self, xs: Inputs, targets: np.ndarray, mask: np.ndarray, lengths: np.ndarray,
                 info: dict[str, np.ndarray] | None = None) -> None:
        self.inputs = xs
        self.targets = targets
        self.mask = mask
        self.lengths = lengths
        self.info = {} if info is None else info

    @property
    def xs(self) -> np.ndarray:
        """The inputs as a dense ``(T, n, I)`` float64 array (for one-hot symbols made on first use, then kept,
        read-only). The networks and learners take :attr:`inputs`, which stays compact."""
        return self.inputs.dense() if isinstance(self.inputs, OneHotInputs) else self.inputs

    @property
    def n(self) -> int:
        """Number of sequences."""
        return int(self.lengths.shape[0])

    @property
    def steps(self) -> int:
        """Number of time steps of the padded arrays (the longest length)."""
        return int(self.inputs.shape[0])

    def at_end(self, values: np.ndarray) -> np.ndarray:
        """``values[lengths - 1, i]`` for every sequence i: the last step of each sequence.

        Args:
            values: a time-major array ``(T, n, ...)``, e.g. the network's outputs on this batch.

        Returns:
            ``(n, ...)``.
        """
        return values[self.lengths - 1, np.arange(self.n)]

    def take(self, indices: Sequence[int] | np.ndarray) -> Batch:
        """The sequences at ``indices`` (in that order; repeats allowed), trimmed to their longest length."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError("take() needs a non-empty 1-d index array")
        lengths = self.lengths[idx]
        steps = int(lengths.max())
        xs = (self.inputs.take(idx, steps) if isinstance(self.inputs, OneHotInputs)
              else self.inputs[:steps, idx].copy())
        return Batch(xs=xs, targets=self.targets[:steps, idx].copy(),
                     mask=self.mask[:steps, idx].copy(), lengths=lengths.copy(),
                     info={k: v[idx].copy() for k, v in self.info.items()})

    @staticmethod
    def concatenate(batches: Sequence[Batch]) -> Batch:
        """Join batches of the same task along the sequence axis, padding time to the longest sequence."""
        if not batches:
            raise ValueError("concatenate() needs at least one batch")
        steps = max(b.steps for b in batches)

        def pad_time(a: np.ndarray) -> np.ndarray:
            return np.pad(a, [(0, steps - a.shape[0])] + [(0, 0)] * (a.ndim - 1))

        info: dict[str, np.ndarray] = {}
        for key in batches[0].info:
            parts = [b.info[key] for b in batches]
            if parts[0].ndim >= 2 and len({p.shape[1] for p in parts}) > 1:
                width = max(p.shape[1] for p in parts)
                parts = [np.pad(p, [(0, 0), (0, width - p.shape[1])] + [(0, 0)] * (p.ndim - 2),
                                constant_values=_fill_value(p.dtype)) for p in parts]
            info[key] = np.concatenate(parts, axis=0)
        first = batches[0].inputs
        if isinstance(first, OneHotInputs) and all(isinstance(b.inputs, OneHotInputs) and b.inputs.size == first.size
                                                   for b in batches):
            xs: Inputs = OneHotInputs(np.concatenate([b.inputs.padded(steps) for b in batches], axis=1), first.size)
        else:
            xs = np.concatenate([pad_time(b.xs) for b in batches], axis=1)
        return Batch(xs=xs,
                     targets=np.concatenate([pad_time(b.targets) for b in batches], axis=1),
                     mask=np.concatenate([pad_time(b.mask) for b in batches], axis=1),
                     lengths=np.concatenate([b.lengths for b in batches]), info=info)


def _fill_value(dtype: np.dtype) -> Any:
    if dtype == np.bool_:
        return False
    if np.issubdtype(dtype, np.integer):
        return -1
    return 0.0


@dataclass(frozen=True)
class Option:
    """One task option.

    Args:
        name: the option's name (``--opt NAME=VALUE`` on the command line).
        default: the paper's value (or, for an UNCONFIRMED point, our documented reading).
        help: one line saying what it controls.
        low, high: inclusive bounds for numbers (None: unbounded).
        choices: allowed values for string options.
        unconfirmed: the spec section of the UNCONFIRMED point the option switches ("" if confirmed).
        alternatives: for a number with an UNCONFIRMED value, the documented other readings of it.
    """

    name: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    unconfirmed: str = ""
    alternatives: tuple[Any, ...] = ()

    def alternative_values(self) -> tuple[Any, ...]:
        """The values a reading of the option may take, the default among them: its choices, both truth values,
        or a number's default and documented alternatives."""
        if self.choices:
            return self.choices
        if self.kind is bool:
            return (False, True)
        return (self.default, *self.alternatives)

    @property
    def kind(self) -> type:
        """The option's type, taken from its default: bool, int, float or str."""
        return type(self.default)

    def validate(self, value: Any) -> Any:
        """``value`` converted to the option's type, or a UserError naming the option and the allowed values."""
        kind = self.kind
        if kind is bool:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise UserError(f"option {self.name} must be true or false, got {value!r}")
        if kind is int:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                if isinstance(value, (float, np.floating)) and float(value).is_integer():
                    value = int(value)
                else:
                    raise UserError(f"option {self.name} must be an integer, got {value!r}")
            value = int(value)
        elif kind is float:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise UserError(f"option {self.name} must be a number, got {value!r}")
            value = float(value)
            if not np.isfinite(value):
                raise UserError(f"option {self.name} must be finite, got {value!r}")
        else:
            if value not in self.choices:
                raise UserError(f"option {self.name} must be one of {', '.join(self.choices)}; got {value!r}")
            return value
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise UserError(f"option {self.name} must be between {self.low:g} and {self.high:g}, got {value!r}"
                            if self.high is not None else
                            f"option {self.name} must be at least {self.low:g}, got {value!r}")
        return value

    def parse(self, text: str) -> Any:
        """Parse a command-line string to the option's type (then validate it)."""
        kind = self.kind
        if kind is bool:
            low = text.strip().lower()
            if low in ("true", "1", "yes", "on"):
                return self.validate(True)
            if low in ("false", "0", "no", "off"):
                return self.validate(False)
            raise UserError(f"option {self.name} must be true or false, got {text!r}")
        if kind is int:
            try:
                return self.validate(int(text))
            except ValueError:
                raise UserError(f"option {self.name} must be an integer, got {text!r}") from None
        if kind is float:
            try:
                return self.validate(float(text))
            except ValueError:
                raise UserError(f"option {self.name} must be a number, got {text!r}") from None
        return self.validate(text)


class Task:
    """One experiment variant of the paper. Subclasses set the class attributes and implement ``_generate``.

    Attributes:
        name: the paper's experiment label ("1", "2a", ..., "6b").
        aliases: other names accepted by :func:`lstm_proofs.tasks.get_task`.
        title: a short title.
        experiment: where the paper describes it (e.g. "Exp. 4, Section 5.4").
        tables: the paper's table(s) of results.
        description: one line saying what the sequences are.
        option_specs: the task's options; ``defaults`` are their paper values.
        paper_rows: the option settings of the rows of the paper's result table.
        target_at_end: True if the only error signal is at each sequence's last step.
        tolerance: the threshold of the paper's per-sequence criterion (None if it has none).
    """

    name: str = ""
    aliases: tuple[str, ...] = ()
    title: str = ""
    experiment: str = ""
    tables: str = ""
    description: str = ""
    option_specs: tuple[Option, ...] = ()
    paper_rows: tuple[dict[str, Any], ...] = ()
    target_at_end: bool = True
    tolerance: float | None = None

    # -- options -----------------------------------------------------------------------------------------------
    @property
    def defaults(self) -> dict[str, Any]:
        """Every option with its default (the paper's value or our documented reading)."""
        return {o.name: o.default for o in self.option_specs}

    def option_spec(self, name: str) -> Option:
        """The :class:`Option` called ``name`` (UserError listing the valid names if there is none)."""
        for o in self.option_specs:
            if o.name == name:
                return o
        valid = ", ".join(o.name for o in self.option_specs) or "none"
        raise UserError(f"task {self.name} has no option {name!r} (options: {valid})")

    def options(self, **overrides: Any) -> dict[str, Any]:
        """The defaults merged with ``overrides``, validated (UserError with a one-line message if not valid).

        Valid option sets are remembered per task (generators and size queries validate their options on every
        call, and the trainer calls them many times per second); the result is always a fresh dict.
        """
        try:
            key = tuple((k, type(v), v) for k, v in sorted(overrides.items()))
            known = self._valid_options.get(key)
        except TypeError:  # an unhashable value: validate without remembering
            key, known = None, None
        if known is not None:
            return dict(known)
        opts = self.defaults
        for name, value in overrides.items():
            opts[name] = self.option_spec(name).validate(value)
        self._check_options(opts)
        if key is not None:
            self._valid_options[key] = dict(opts)
        return opts

    @property
    def _valid_options(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        """This task's remembered valid option sets (see :meth:`options`)."""
        return self.__dict__.setdefault("_valid_options_cache", {})

    def parse_options(self, pairs: Sequence[str]) -> dict[str, Any]:
        """Options from ``KEY=VALUE`` strings, typed as the defaults dictate, validated and merged."""
        overrides: dict[str, Any] = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep or not key.strip():
                raise UserError(f"option must be KEY=VALUE, got {pair!r}")
            overrides[key.strip()] = self.option_spec(key.strip()).parse(text.strip())
        return self.options(**overrides)

    def _check_options(self, opts: dict[str, Any]) -> None:
        """Constraints between options (override; raise UserError)."""

    # -- sizes -------------------------------------------------------------------------------------------------
    def n_inputs(self, **options: Any) -> int:
        """Number of input units for these options."""
        raise NotImplementedError

    def n_outputs(self, **options: Any) -> int:
        """Number of output units for these options."""
        raise NotImplementedError

    @property
    def n_in(self) -> int:
        """Number of input units with the default options."""
        return self.n_inputs()

    @property
    def n_out(self) -> int:
        """Number of output units with the default options."""
        return self.n_outputs()

    def max_steps(self, **options: Any) -> int:
        """A length (time steps) that sequences rarely or never exceed, to size memory (override)."""
        raise NotImplementedError

    # -- generation --------------------------------------------------------------------------------------------
    def generate(self, rng: np.random.Generator, n: int, **options: Any) -> Batch:
        """``n`` random sequences of this task.

        Args:
            rng: the only source of randomness (same state, same batch).
            n: number of sequences (1 ... MAX_SEQUENCES).
            **options: task options (see ``defaults``).

        Returns:
            The batch.
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_SEQUENCES:
            raise UserError(f"number of sequences must be an integer between 1 and {MAX_SEQUENCES}, got {n!r}")
        opts = self.options(**options)
        return self._generate(rng, int(n), opts)

    def _generate(self, rng: np.random.Generator, n: int, opts: dict[str, Any]) -> Batch:
        raise NotImplementedError

    # -- evaluation --------------------------------------------------------------------------------------------
    def correct(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """The paper's per-sequence criterion for a correctly processed sequence, ``(n,)`` bool.

        The default: every output unit's absolute error at the last step is below ``tolerance`` (ABS(β) of
        Table 11).
        """
        self.options(**options)
        assert self.tolerance is not None, "a task without a tolerance must override correct()"
        return self.errors(outputs, batch, **options) < self.tolerance

    def errors(self, outputs: np.ndarray, batch: Batch, **options: Any) -> np.ndarray:
        """The per-sequence error figure, ``(n,)`` float.

        The default: the largest absolute error over the output units at each sequence's last step.
        """
        self.options(**options)
        out = check_outputs(outputs, batch)
        return np.abs(batch.at_end(batch.targets) - batch.at_end(out)).max(axis=1)

    # -- description -------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The task's description as a JSON-friendly dict (for ``lstm-proofs tasks --json``)."""
        return {
            "name": self.name, "aliases": list(self.aliases), "title": self.title, "experiment": self.experiment,
            "tables": self.tables, "description": self.description, "n_inputs": self.n_in,
            "n_outputs": self.n_out, "io": self.io_text(), "target_at_end": self.target_at_end,
            "tolerance": self.tolerance, "defaults": self.defaults,
            "options": [{"name": o.name, "default": o.default, "help": o.help,
                         "low": o.low, "high": o.high, "choices": list(o.choices),
                         "unconfirmed": o.unconfirmed} for o in self.option_specs],
            "paper_rows": [dict(r) for r in self.paper_rows],
        }

    def io_text(self) -> str:
        """Input/output sizes as text, e.g. ``2/1``."""
        return f"{self.n_in}/{self.n_out}"

    def __repr__(self) -> str:
        return f"<Task {self.name} ({self.title})>"


def check_outputs(outputs: np.ndarray, batch: Batch) -> np.ndarray:
    """``outputs`` as float64, checked to have the shape of the batch's targets (ValueError if not)."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.shape != batch.targets.shape:
        raise ValueError(f"outputs have shape {out.shape}, the batch's targets {batch.targets.shape}")
    return out


def one_hot_inputs(symbols: np.ndarray, lengths: np.ndarray, size: int) -> OneHotInputs:
    """Time-major one-hot coding of symbol indices, held as the symbols (what the tasks' batches carry as inputs).

    Args:
        symbols: ``(T, n)`` integer symbols; steps at or after a sequence's length are ignored.
        lengths: ``(n,)`` number of valid steps of each sequence.
        size: number of symbols (units).

    Returns:
        ``(T, n, size)`` one-hot inputs, zero after each sequence's end.
    """
    valid = np.arange(symbols.shape[0])[:, None] < lengths[None, :]
    return OneHotInputs(np.where(valid, symbols, -1), size)


def one_hot(symbols: np.ndarray, lengths: np.ndarray, size: int) -> np.ndarray:
    """:func:`one_hot_inputs` as a dense ``(T, n, size)`` float64 array (targets are kept dense)."""
    return one_hot_inputs(symbols, lengths, size).dense()


def end_mask(lengths: np.ndarray, steps: int, n_out: int) -> np.ndarray:
    """``(steps, n, n_out)`` mask that is 1.0 only at each sequence's last step."""
    n = lengths.shape[0]
    mask = np.zeros((steps, n, n_out))
    mask[lengths - 1, np.arange(n)] = 1.0
    return mask


def step_mask(lengths: np.ndarray, steps: int, n_out: int) -> np.ndarray:
    """``(steps, n, n_out)`` mask that is 1.0 at every step of each sequence, 0.0 in the padding."""
    valid = (np.arange(steps)[:, None] < lengths[None, :]).astype(np.float64)
    return np.repeat(valid[:, :, None], n_out, axis=2)

