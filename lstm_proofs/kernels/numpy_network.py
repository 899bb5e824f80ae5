"""The shared scaffolding of the generated NumPy modules (``derivations/<cell>.py``).

The network around a cell is the same for every cell: the input and bias part of the net inputs, the output units,
their errors and the weight gradients of whole sequences; the online learner's buffers and its weight changes
(eq. 17). The generated modules call these functions around their cell arithmetic, and :func:`document` gives
their network functions the docstrings below (arguments, results, shapes), which are the same for every cell.
Every function does exactly the operations the generated code did in its place: the results are the same bit for
bit.
"""

from __future__ import annotations

import numpy as np

from lstm_proofs import numerics as _k
from lstm_proofs.errors import UserError

#: learner_sequence: what it does with the gradient estimate
MODES = ("forward", "step", "sequence", "gradient")


# ----- whole sequences: forward_sequence and gradient_sequence -----

def input_nets(xs, W_hidden, dtype):
    """The input and bias part of the net inputs of every step (eqs. 6-9), (T, B, N): x(t) through the input
    columns of W_hidden, plus the bias; forward_sequence adds the recurrent part step by step."""
    T, B, I = xs.shape
    N = W_hidden.shape[0]
    nets = (xs.reshape(T * B, I) @ W_hidden[:, :I].T).astype(dtype, copy=False)  # eqs. (6)-(9): the x(t) part,
    nets += W_hidden[:, -1]  # the bias,
    return nets.reshape(T, B, N)  # and the recurrent part, added in the loop


def output_units(xs, acts, W_output):
    """The output units of every step (they see x(t), y(t) and the bias): net_k and y_k = sigma(net_k), each
    (T, B, K). W_output may lack the columns of trailing activations that hold no weights."""
    T, B, I = xs.shape
    N = acts.shape[2]
    X, A = xs.reshape(T * B, I), acts.reshape(T * B, N)  # every step's x(t) and y(t), one row per step
    Ro = W_output.shape[1] - I - 1  # activations the output units read: all N_a, or a leading part of them
    net_k = (X @ W_output[:, :I].T + A[:, :Ro] @ W_output[:, I:I + Ro].T + W_output[:, -1]) \
        .reshape(T, B, W_output.shape[0])
    return net_k, _k.sigmoid(net_k)  # output units, logistic


def output_errors(xs, acts, d_net_k, W_output, dtype):
    """From the errors at the output units' net inputs d_net_k (T, B, K): the inputs of every step one row per step
    (X), dW_output (sources x(t), y(t), bias) and the error at the activations y(t) from the output units (T, B,
    N_a)."""
    T, B, I = xs.shape
    N = acts.shape[2]
    # one row per step
    X, A, E = xs.reshape(T * B, I), acts.reshape(T * B, N), d_net_k.reshape(T * B, W_output.shape[0])
    Ro = W_output.shape[1] - I - 1  # activations the output units read: all N_a, or a leading part of them
    dW_output = np.concatenate((E.T @ X, E.T @ A[:, :Ro], E.sum(axis=0)[:, None]), axis=1)  # sources x(t), y(t), bias
    if Ro == N:
        d_acts = (E @ W_output[:, I:I + N]).reshape(T, B, N)  # error at y(t) from the output units
    else:
        d_acts = np.zeros((T, B, N), dtype=dtype)
        d_acts[:, :, :Ro] = (E @ W_output[:, I:I + Ro]).reshape(T, B, Ro)
    return X, dW_output, d_acts


def hidden_gradient(d_nets, X, acts, R):
    """dW_hidden (sources x(t), the R recurrent activations y(t-1), bias) from the errors at the net inputs of
    every step d_nets (T, B, N_a), summed over the steps and the batch."""
    T, B, N = d_nets.shape
    D = d_nets.reshape(T * B, N)  # error at the net inputs of every step (eqs. 6-9), one row per step
    D_rec = d_nets[1:].reshape((T - 1) * B, N).T @ acts[:-1, :, :R].reshape((T - 1) * B, R)  # y(t-1); none at t=0
    return np.concatenate((D.T @ X, D_rec, D.sum(axis=0)[:, None]), axis=1)  # sources x(t), y(t-1), bias


# ----- the online learner over whole sequences: learner_sequence -----

def learner_buffers(W_hidden, W_output, P, learning_rate, xs, mask, mask_hidden, mask_output, mode):
    """What learner_sequence needs before its time loop: the sizes T, B, I, N, Z, the dtype, the mask as (T, B, K)
    or broadcastable to it, the steps with some error signal, the learning rates (lr per trial; lr_h, lr_o masked:
    (G * alpha_mask) equals alpha * (G * mask) bit for bit), ys (T, B, K), the two source buffers zu and the net
    inputs' buffer.

    The sources live in two buffers: the output units' sources u = (x(t), y(t), 1) of step t are the hidden units'
    sources z = (x(t+1), y(t), 1) of step t+1 once x(t+1) is written in (eqs. 6-9: y^u(t-1) feeds step t).

    Raises:
        UserError: an unknown mode.
    """
    if mode not in MODES:
        raise UserError(f"learner mode must be one of {MODES}, got {mode!r}")
    T, B, I = xs.shape
    N, Z = W_hidden.shape[1], W_hidden.shape[2]
    dtype = np.result_type(xs, W_hidden, W_output, *P)
    m = mask if mask.ndim == 3 else mask[..., None]
    errs = (m != 0).any(axis=(1, 2))  # steps at which some trial has an error signal
    lr = np.asarray(learning_rate, dtype=float).reshape(B, 1, 1)
    lr_h, lr_o = lr * mask_hidden, lr * mask_output
    ys = np.empty((T, B, W_output.shape[1]), dtype=dtype)
    zu = np.zeros((2, B, Z), dtype=dtype)  # y(-1) = 0 before the first step
    zu[:, :, -1] = 1.0  # the bias source
    net = np.empty((B, N), dtype=dtype)  # net inputs of cells and gates (eqs. 6-9) of the current step
    return T, B, I, N, Z, dtype, m, errs, lr, lr_h, lr_o, ys, zu, net


def learner_change(mode, acc, G, lr, lr_h, lr_o, W_hidden, W_output, P):
    """One step's gradient estimate G = (G_hidden, G_output, *G_P): mode 'step' adds alpha * G (masked) to the
    weights at once (eq. 17; G's arrays are scaled in place), the other modes add G to the sum ``acc`` (None
    before the first step with an error signal). Returns the sum."""
    if mode == "step":  # eq. (17): weight change alpha * (-dE/dw) at every step
        G_hidden, G_output = G[0], G[1]
        G_hidden *= lr_h
        W_hidden += G_hidden
        G_output *= lr_o
        W_output += G_output
        for p, g in zip(P, G[2:]):
            p += lr * g
    elif acc is None:
        acc = list(G)
    else:
        for total, g in zip(acc, G):
            total += g
    return acc


def learner_result(mode, acc, ys, lr, W_hidden, W_output, P, mask_hidden, mask_output):
    """The end of learner_sequence: mode 'sequence' adds alpha times the summed G (masked) to the weights; mode
    'gradient' returns the per-trial sums (zeros without any error signal). Returns learner_sequence's result."""
    if mode == "sequence" and acc is not None:
        W_hidden += lr * (acc[0] * mask_hidden)
        W_output += lr * (acc[1] * mask_output)
        for p, total in zip(P, acc[2:]):
            p += lr * total
    if mode != "gradient":
        return ys, None
    if acc is None:
        acc = [np.zeros_like(W_hidden), np.zeros_like(W_output), *(np.zeros_like(p) for p in P)]
    return ys, (acc[0], acc[1], tuple(acc[2:]))


# ----- the network functions' docstrings (the same for every cell) -----

DOCS = {
    "forward_step": """One time step of the network with weights shared across the batch (Section 5 timing: inputs,
    then hidden units, then outputs).

    Args:
        W_hidden: (C*S + G*C, Z) weights into cells (rows 0..CS-1), then each gate's C rows (GATES order). The
            caller may drop the columns of activations R..N_a-1 when they hold no weights (Z = I + R + 1; under
            recurrent='cells' the gates feed nothing back): they would only multiply zeros.
        W_output: (K, U) weights into the output units.
        P: tuple of per-cell parameters in PARAMS order, each (C, S).
        x: (B, I) current inputs; a_prev: (B, N_a) previous hidden activations; the previous state (B, C, S)
            (named after the cell's state, ``s_prev`` for a cell without state, where it is unused).
        C, S: number of blocks and cells per block.

    Returns:
        y_k (B, K) outputs, a (B, N_a) activations, the new state (None without state), and the cache for
        backward_step.
    """,
    "backward_step": """One step of backpropagation through time, composed from the derived adjoint step of the cell.

    Args:
        W_hidden, W_output, P: as given to forward_step; cache: forward_step's cache for this step.
        d_y_k: (B, K) error at the outputs (dL/dy_k); d_a: (B, N_a) error at this step's activations arriving
            through the recurrent weights of the next step; then the error at this step's state from the next step
            (named after the state, ``d_s`` for a cell without state).
        truncated: True for the paper's truncated gradient: errors reaching the net inputs of cells and gates are
            not propagated to the previous step's activations (Section 4, Appendix A.1).

    Returns:
        dW_hidden, dW_output, dP (tuple, summed over the batch), d_a_prev (B, N_a), the error at the previous
        state (None without state).
    """,
    "learner_step": """One time step of the paper's online learner (Appendix A.1), each batch element an independent
    trial.

    Forward step, forward-accumulated traces ds/dw (eqs. 25, 27), output error (eq. 19), and the gradient
    estimate of this step (eqs. 20-28): errors are truncated once they leave a cell or gate, except inside the
    CEC, where the traces carry them. The caller adds alpha times the returned gradients to the weights.

    Args:
        W_hidden: (B, C*S + G*C, Z), W_output: (B, K, U): per-trial weights.
        P: per-trial per-cell parameters, each (B, C, S).
        x: (B, I); a_prev: (B, N_a); the previous state (B, C, S).
        traces: tuple in TRACE_INPUTS order; (B, C, S, Z) for net inputs, (B, C, S) for parameters.
        target: (B, K) targets; tmask: (B, 1) or (B, K), 1.0 where an error signal is given at this step.

    Returns:
        y_k, a, the new state (None without state), traces, G_hidden (B, C*S + G*C, Z), G_output (B, K, U), G_P
        (tuple, each (B, C, S)), where G = -dE(t)/dw with E(t) = 1/2 sum_k (t_k - y_k)^2 (eq. 16 with the factor 2
        absorbed, eq. 19).
    """,
    "learner_sequence": """The online learner over one sequence per trial (Section 5, Appendix A.1): learner_step at
    every step and the weight changes applied in the same call.

    Activations, states and traces start at zero. ``mode``: 'step' adds alpha * G (masked) to the weights after
    every step (eq. 17); 'sequence' sums G over the sequence and adds alpha times the sum at its end; 'gradient'
    leaves the weights alone and returns the per-trial sums of G; 'forward' only runs the network. The results
    equal those of a loop of learner_step calls followed by these updates bit for bit: the same operations on the
    same values, the traces updated in place, and at a step where no trial has an error signal the gradient,
    exactly zero, is neither computed nor added.

    Args:
        W_hidden (B, C*S + G*C, Z), W_output (B, K, U), P (tuple of (B, C, S)): per-trial weights, changed in
            place by modes 'step' and 'sequence'.
        learning_rate: (B,) per-trial alpha. xs: (T, B, I); targets: (T, B, K); mask: (T, B) or (T, B, K), 1.0
            where an error signal is given. mask_hidden, mask_output: 1.0 where a weight exists (shaped like one
            trial's W_hidden, W_output). mode: one of MODES. C, S: blocks and cells per block.

    Returns:
        ys (T, B, K), and for mode 'gradient' the per-trial sums of G = -dE/dw (G_hidden, G_output, G_P tuple),
        else None.
    """,
    "forward_sequence": """Forward pass over xs (T, B, I) from zero activations and states, weights shared by the
    batch.

    Section 5 timing, as forward_step at every step; the input and bias part of every net input (eqs. 6-9) is
    computed for all steps before the time loop and the output units for all steps after it, since neither depends
    on the previous step.

    Args:
        W_hidden, W_output, P: as for forward_step; either weight matrix may lack the columns of trailing
            activations that hold no weights (Network drops them). xs: (T, B, I). C, S: blocks and cells per block.

    Returns:
        ys (T, B, K), activations (T, B, N_a), states (T, B, C, S) (None without state), and the cache for
        gradient_sequence.
    """,
    "gradient_sequence": """Backpropagation through time over the sequences of a forward_sequence call.

    backward_step's arithmetic at every step, reorganised: the output units' errors and the weight gradients (one
    product over all steps) are computed outside the time loop; the local partials (cell_partials) a chunk of steps
    at a time, from the values the forward pass kept (activations, states, logistic values of the net inputs);
    the loop runs the linear adjoint step (cell_adjoint) and the error flowing back through the recurrent weights.

    Args:
        W_hidden, W_output: as given to forward_sequence; xs, ys, acts, cache: its inputs and results.
        d_ys: (T, B, K) dL/dy_k. truncated: the paper's truncated gradient (Section 4, Appendix A.1): no error
            leaves the net inputs for the previous step's activations.

    Returns:
        dW_hidden (in the columns of the given W_hidden), dW_output, dP (tuple in PARAMS order), summed over the
        batch and the steps (not masked).
    """,
}


def document(module_globals: dict) -> None:
    """Give the network functions of a generated module their docstrings: the generated one-line summary, then the
    shared text of :data:`DOCS` (arguments and results)."""
    for name, text in DOCS.items():
        f = module_globals.get(name)
        if f is not None:
            f.__doc__ = text
