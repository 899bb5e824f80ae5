"""The Python entry points of a compiled cell module (``derivations/numba_<cell>.py``): argument coercion, the
choice of the input path, scratch and result arrays, parameter stacking; the kernels are compiled on first use
(``numba_compile``).

A generated module makes one :class:`CompiledCell` from its globals and exports its methods under the names
``Network`` and ``OnlineLearner`` call: ``forward_sequence``, ``gradient_sequence``, ``learner_sequence``,
``input_path``.
"""

from __future__ import annotations

import importlib

import numpy as np

from lstm_proofs.errors import UserError
from lstm_proofs.kernels import numba_compile

#: the kernels take only the nonzero inputs when fewer than this fraction of them is nonzero per step (on average)
SPARSE_DENSITY = 0.25
#: ... and there are at least this many inputs (below, listing them costs about what it saves)
SPARSE_MIN_INPUTS = 16
#: learner_sequence's modes: what it does with the gradient estimate
MODES = {"forward": 0, "step": 1, "sequence": 2, "gradient": 3}

available = numba_compile.available


def _f64(x):
    """x as a writeable float64 array in C order (a copy only where needed: numba compiles read-only arrays, such
    as broadcast views, as a type of their own, and the kernels write their outputs in place)."""
    x = np.asarray(x)
    if x.dtype != np.float64:
        if np.iscomplexobj(x):
            raise UserError("the numba backend computes in float64 only; use backend='numpy' for complex inputs")
        x = x.astype(np.float64)
    x = np.ascontiguousarray(x)
    return x if x.flags.writeable else x.copy()


def _as_inputs(xs):
    """xs as the kernels take it: inputs held as lists (an object with ``shape`` (T, B, I) and ``input_lists()``
    returning OFF, IDX, VAL as _input_nonzero makes them, such as lstm_proofs.inputs.OneHotInputs) as they are,
    anything else as a float64 array in C order. Listed inputs become dense (np.asarray) only where the dense
    path is taken."""
    return xs if hasattr(xs, "input_lists") else _f64(xs)


def _stack_params(P, lead, C, S):
    if not P:
        return np.zeros((*lead, 0, C, S))
    return np.ascontiguousarray(np.stack([_f64(p) for p in P], axis=len(lead)))


class CompiledCell:
    """The entry points of one generated numba module, compiling its kernels on first use.

    Args:
        cell_globals: the module's globals (its cell functions and sizes, see numba_compile).
    """

    def __init__(self, cell_globals: dict) -> None:
        self.cell_globals = cell_globals
        self.jit: dict[str, object] = {}

    def __reduce__(self):  # pickled by reference to its module, like the module's functions were
        return _module_cell, (self.cell_globals["__name__"],)

    def kernels(self) -> dict[str, object]:
        """The compiled kernels by name (numba_loops.KERNELS and ``_input_nonzero``).

        Raises:
            UserError: numba is not installed.
        """
        if not self.jit:
            self.jit.update(numba_compile.compile_cell(self.cell_globals))
        return self.jit

    def _input_lists(self, xs, path=None):
        """The sizes and nonzero inputs of every step of xs (from _as_inputs) as (T, B, I, OFF, IDX, VAL) (see
        _input_nonzero) when the sparse path is taken, else None. ``path`` None: sparse when at least
        SPARSE_MIN_INPUTS inputs and fewer than SPARSE_DENSITY of them nonzero (first the first step alone, then
        all together); 'sparse' or 'dense' forces the path. Either path gives the same results. Listed inputs give
        their lists without a pass over the dense array, under the same rule."""
        if path not in (None, "sparse", "dense"):
            raise UserError(f"input path must be 'sparse', 'dense' or None, got {path!r}")
        T, B, I = xs.shape
        size = T * B * I
        listed = hasattr(xs, "input_lists")
        if path == "dense" or (path is None and (I < SPARSE_MIN_INPUTS or size == 0)):
            return None
        if listed:
            OFF, IDX, VAL = xs.input_lists()
            dense = path is None and (OFF[B] - OFF[0] >= SPARSE_DENSITY * B * I
                                      or IDX.size > int(SPARSE_DENSITY * size))
            return None if dense else (T, B, I, OFF, IDX, VAL)
        if path is None and np.count_nonzero(xs[0]) >= SPARSE_DENSITY * B * I:
            return None
        OFF = np.empty(T * B + 1, np.int64)
        n = size if path == "sparse" else int(SPARSE_DENSITY * size)
        IDX, VAL = np.empty(n, np.int64), np.empty(n)
        n = self.kernels()["_input_nonzero"](xs, OFF, IDX, VAL)
        return (T, B, I, OFF, IDX, VAL) if n >= 0 else None

    def input_path(self, xs, path=None):
        """'sparse' when the kernels would take only the nonzero inputs of xs (T, B, I), else 'dense' (see
        _input_lists; ``path`` overrides the choice)."""
        return "dense" if self._input_lists(_as_inputs(xs), path) is None else "sparse"

    def forward_sequence(self, W_hidden, W_output, P, xs, C, S, path=None):
        """Forward pass over xs (T, B, I) from zero activations and states, weights shared by the batch; ``path``:
        see input_path.

        Returns:
            ys (T, B, K), activations (T, B, N_a), states (T, B, C, S) (zeros for a cell without state), and the
            cache that gradient_sequence needs.
        """
        k = self.kernels()
        g = self.cell_globals
        xs = _as_inputs(xs)
        W_h, W_o = _f64(W_hidden), _f64(W_output)
        T, B, _ = xs.shape
        K, NA = W_o.shape[0], W_h.shape[0]
        PM = _stack_params(P, (), C, S)
        ys, fk, acts = np.empty((T, B, K)), np.empty((T, B, K)), np.empty((T, B, NA))
        states = np.zeros((T, B, C, S))
        pd = np.empty((T, B, g["N_CELL_PARTIALS"] * C * S + g["N_BLOCK_PARTIALS"] * C))
        lists = self._input_lists(xs, path)
        if lists is None:
            k["_forward_kernel"](W_h, W_o, PM, _f64(xs), ys, fk, acts, states, pd, C, S)
        else:
            k["_forward_kernel_sparse"](W_h, W_o, PM, *lists, ys, fk, acts, states, pd, C, S)
        return ys, acts, states, [pd, fk, PM, lists]

    def gradient_sequence(self, W_hidden, W_output, xs, ys, acts, cache, d_ys, truncated, C, S, path=None):
        """Backpropagation through time over the sequences of a forward_sequence call.

        Args:
            d_ys: (T, B, K) dL/dy_k; truncated: the paper's truncated gradient instead of the full one.
            path: see input_path; None takes the path of the forward_sequence call (xs must be its inputs).

        Returns:
            dW_hidden, dW_output, dP (tuple in PARAMS order), summed over the batch (not masked).
        """
        k = self.kernels()
        pd, fk, PM, lists = cache
        W_h, W_o = _f64(W_hidden), _f64(W_output)
        gW_h, gW_o, gP = np.zeros(W_h.shape), np.zeros(W_o.shape), np.zeros(PM.shape)
        xs = _as_inputs(xs)
        if path is not None:
            lists = self._input_lists(xs, path)
        args = (acts, fk, pd, _f64(d_ys), bool(truncated), C, S, gW_h, gW_o, gP)
        if lists is None:
            k["_backward_kernel"](W_h, W_o, _f64(xs), *args)
        else:
            k["_backward_kernel_sparse"](W_h, W_o, *lists, *args)
        return gW_h, gW_o, tuple(gP[i].copy() for i in range(gP.shape[0]))

    def learner_sequence(self, W_hidden, W_output, P, learning_rate, xs, targets, mask, mask_hidden, mask_output,
                         mode, C, S, path=None):
        """The online learner over one sequence per trial (weights changed in place unless mode is 'forward' or
        'gradient').

        Args:
            W_hidden (B, N_a, Z), W_output (B, K, U), P (tuple of (B, C, S)): per-trial weights.
            learning_rate: (B,); xs (T, B, I); targets (T, B, K); mask (T, B, K) or broadcastable to it.
            mask_hidden, mask_output: 1.0 where a weight exists; mode: one of MODES; C, S: blocks and cells per
                block.
            path: see input_path ('sparse': _learner_kernel_lists, the same results).

        Returns:
            ys (T, B, K), and for mode 'gradient' the summed G = -dE/dw per trial (G_hidden, G_output, G_P tuple),
            else None.
        """
        k = self.kernels()
        if mode not in MODES:
            raise UserError(f"learner mode must be one of {tuple(MODES)}, got {mode!r}")
        mode = MODES[mode]
        xs = _as_inputs(xs)
        T, B, _ = xs.shape
        K, NA, Z = W_output.shape[1], W_hidden.shape[1], W_hidden.shape[2]
        W_h, W_o = _f64(W_hidden), _f64(W_output)  # the weights themselves where they can be written in place
        PM = _stack_params(P, (B,), C, S)
        NP = PM.shape[1]
        lr = _f64(np.broadcast_to(np.asarray(learning_rate, dtype=float).reshape(-1), (B,)))
        tg = _f64(targets)
        mask = np.asarray(mask)
        tm = _f64(np.broadcast_to(mask if mask.ndim == 3 else mask[..., None], (T, B, K)))
        ys = np.empty((T, B, K))
        nb = B if mode == 3 else 1
        out_h, out_o, out_p = np.zeros((nb, NA, Z)), np.zeros((nb, K, Z)), np.zeros((nb, NP, C, S))
        lists = self._input_lists(xs, path)
        args = (tg, tm, _f64(mask_hidden), _f64(mask_output), mode, ys, out_h, out_o, out_p, C, S)
        if lists is None:
            k["_learner_kernel"](W_h, W_o, PM, lr, _f64(xs), *args)
        else:
            k["_learner_kernel_lists"](W_h, W_o, PM, lr, *lists, *args)
        if mode in (1, 2):  # the weights changed: into the caller's arrays where they were copies
            if W_h is not W_hidden:
                W_hidden[...] = W_h
            if W_o is not W_output:
                W_output[...] = W_o
            for i, p in enumerate(P):
                p[...] = PM[:, i]
        if mode == 3:
            return ys, (out_h, out_o, tuple(out_p[:, i] for i in range(NP)))
        return ys, None


def _module_cell(module: str) -> CompiledCell:
    return importlib.import_module(module)._CELL
