"""The compiled whole-sequence loops, written once for every cell (plain Python; ``numba_compile`` compiles them).

Each loop runs over sequences (or trials), time steps, blocks and cells; what a cell computes in a step comes from
its generated module (``derivations/numba_<cell>.py``), as functions these loops call by name (``numba_compile``
writes them into the loops before numba compiles them):

* ``_cell_step(NET_, PM, STATES, ACTS, PD, t_, b_, c_, C, S, CS)``: a block's equations and local partials (stored in
  PD for the backward pass);
* ``_cell_adjoint(PD, D_A, D_S, D_NET, D_SNEW, GP, truncated, t_, b_, c_, C, S, CS)``: a block's adjoint step, linear
  in the errors, with the stored partials;
* ``_learner_cell(NET_, PM, SP_, SN_, A_, J_, DS_, DSP_, DYS_, DYX_, b_, c_, C, S, CS)``: a block's equations with
  its trace and exit partials;
* ``_learner_traces`` / ``_learner_traces_lists``: every trace moved on at a step without output error;
* ``_learner_rows`` / ``_learner_rows_lists``: a step with output error: traces, gradient estimate G and its change
  (or sum), weight row by weight row;
* ``_output_derivative(net_k, y_k)``: f'(net_k) of the logistic output units;
* the sizes ``N_GATES``, ``N_CELL_PARTIALS``, ``N_BLOCK_PARTIALS``, ``N_TRACE_NETS``, ``N_TRACE_PARAMS``,
  ``N_EXIT``.

Speed without changing a sum. Every sum is taken in the order of the plain loop it replaces (left to right over
the sources, forward in time for the forward pass, backward for BPTT), and every value is the same expression of
the same inputs, so the kernels give the results of straightforward loops bit for bit (no fastmath). What makes them
fast is how the independent work is laid out: matrix-vector products interleave rows (``numba_sums``); the input
part of the net inputs is computed for a chunk of steps at once, time innermost (``_input_part``); weight rows are
walked along their contiguous axis; the learner keeps no per-step gradient arrays (each row's gradient goes
straight into the weights, or into the sequence's sum, selected once per trial).

Sparse inputs: ``_forward_kernel_sparse``, ``_backward_kernel_sparse`` and ``_learner_kernel_lists`` are the same
loops with the input columns of the net inputs, of the input-weight gradients and of the learner's traces and weight
changes taken from the lists of nonzero inputs (OFF, IDX, VAL: ``_input_nonzero``), the learner's from the inputs
seen since its traces were reset (``_mark_seen``). A column left out would add ``w * 0.0``, exactly +-0.0, to a sum
that starts at +0.0 and so is never -0.0: the same results bit for bit (finite values; the one possible difference is
a weight that is -0.0 keeping its sign where the dense learner, adding +0.0, makes it +0.0).

The names the loops read (the helpers of ``numba_inputs``, ``numba_sums``, ``numba_math`` and the cell's functions
and sizes above) are bound when ``numba_compile`` compiles them for a cell; they are not imported here.
"""

import numpy as np

#: time steps whose input parts the forward kernel computes together (its scratch grows with it, not with T)
TIME_CHUNK = 32
#: the learner with input lists updates the trace columns of all inputs, not only of those seen in the trial, once
#: this fraction of them has been seen (a plain loop over contiguous columns beats a list that long)
SEEN_ALL = 0.5


# ----- forward pass -----

def _forward_kernel(W_h, W_o, PM, XS, YS, FK, ACTS, STATES, PD, C, S):
    """Forward pass over whole sequences, weights shared by the batch (Section 5 timing).

    Fills YS (T, B, K), ACTS (T, B, N_a) and STATES (T, B, C, S): the outputs, hidden activations and states of
    every step; and for the backward pass FK (T, B, K), the output units' derivatives f'(net_k), and PD (T, B, .),
    the cell's local partials (computed here, where the sigmoids they are made of are at hand). A sequence goes in
    chunks of TC steps, whose input parts (x(t) through the weights) are computed together.
    """
    T, B, I = XS.shape
    K = W_o.shape[0]
    CS = C * S
    NA = CS + N_GATES * C
    Z = I + NA + 1
    TC = min(max(T, 1), TIME_CHUNK)
    XT_ = np.empty((I, TC))  # a chunk's inputs, time innermost
    NX_ = np.empty((NA + K, TC))  # the sums over the chunk's inputs
    NET_, NK_ = np.empty(NA), np.empty(K)  # the net inputs of the hidden units and of the output units
    for b_ in range(B):
        for t0_ in range(0, T, TC):
            n_ = min(TC, T - t0_)
            _time_major_inputs(XS, b_, t0_, n_, XT_)  # the chunk's inputs x(t), time innermost
            NX_[:, :n_] = 0.0  # eqs. (6)-(9) and the output units: the sums over x(t), for the chunk's steps at once
            _input_part(W_h, XT_, n_, NX_, 0)
            _input_part(W_o, XT_, n_, NX_, NA)
            for u_ in range(n_):
                _forward_step(W_h, W_o, PM, NX_, u_, t0_ + u_, b_, I, K, Z, NA, C, S, CS, NET_, NK_, YS, FK, ACTS,
                              STATES, PD)


def _forward_kernel_sparse(W_h, W_o, PM, T, B, I, OFF, IDX, VAL, YS, FK, ACTS, STATES, PD, C, S):
    """_forward_kernel over each step's nonzero inputs only (OFF, IDX, VAL: _input_nonzero; the same sums:
    _input_part_sparse)."""
    K = W_o.shape[0]
    CS = C * S
    NA = CS + N_GATES * C
    Z = I + NA + 1
    TC = min(max(T, 1), TIME_CHUNK)
    NX_ = np.empty((NA + K, TC))  # the sums over the chunk's inputs
    NET_, NK_ = np.empty(NA), np.empty(K)  # the net inputs of the hidden units and of the output units
    for b_ in range(B):
        for t0_ in range(0, T, TC):
            n_ = min(TC, T - t0_)
            NX_[:, :n_] = 0.0  # eqs. (6)-(9) and the output units: the sums over x(t), for the chunk's steps at once
            _input_part_sparse(W_h, B, OFF, IDX, VAL, b_, t0_, n_, NX_, 0)
            _input_part_sparse(W_o, B, OFF, IDX, VAL, b_, t0_, n_, NX_, NA)
            for u_ in range(n_):
                _forward_step(W_h, W_o, PM, NX_, u_, t0_ + u_, b_, I, K, Z, NA, C, S, CS, NET_, NK_, YS, FK, ACTS,
                              STATES, PD)


def _forward_step(W_h, W_o, PM, NX_, u_, t_, b_, I, K, Z, NA, C, S, CS, NET_, NK_, YS, FK, ACTS, STATES, PD):
    """One step of the forward pass (inlined), its input parts in column u_ of NX_."""
    n_rec_ = NA if t_ > 0 else 0  # net inputs: each sum over x(t) continued over y(t-1), then the bias
    _forward_sums(W_h, NX_, 0, u_, ACTS, t_ - 1, b_, I, Z, n_rec_, NA, NET_)
    for c_ in range(C):  # the cell's equations (the declaration) and local partials, per block
        _cell_step(NET_, PM, STATES, ACTS, PD, t_, b_, c_, C, S, CS)
    # output units see x(t), the current activations and the bias; logistic
    _forward_sums(W_o, NX_, NA, u_, ACTS, t_, b_, I, Z, NA, K, NK_)
    for k_ in range(K):
        net_k = NK_[k_]
        y_k = _sigmoid(net_k)
        YS[t_, b_, k_] = y_k
        FK[t_, b_, k_] = _output_derivative(net_k, y_k)


# ----- backpropagation through time -----

def _backward_kernel(W_h, W_o, XS, ACTS, FK, PD, DYS, truncated, C, S, GW_h, GW_o, GP):
    """Backpropagation through time over whole sequences, summed into GW_h, GW_o, GP. DYS (T, B, K) is dL/dy_k;
    the activations, the output units' f'(net_k) (FK) and the cell's local partials (PD) come from
    _forward_kernel. With ``truncated`` the paper's truncated gradient (Section 4, Appendix A.1).

    Per step and block: the cell's adjoint step, linear in the errors, with the stored local partials.
    """
    T, B, I = XS.shape
    K = W_o.shape[0]
    CS = C * S
    NA = CS + N_GATES * C
    Z = I + NA + 1
    D_A, D_NET = np.empty(NA), np.empty(NA)  # errors at the activations y and at the net inputs
    D_S, D_SNEW = np.empty((C, S)), np.empty((C, S))  # errors at the states s(t) and s(t-1)
    SRC_, DNK_ = np.empty(Z), np.empty(K)  # the sources y^m of a step; the output units' errors
    for b_ in range(B):
        D_A[:] = 0.0
        D_S[:, :] = 0.0
        for t_ in range(T - 1, -1, -1):
            for m_ in range(I):  # the output units' sources: x(t), y(t)
                SRC_[m_] = XS[t_, b_, m_]
            for m_ in range(NA):
                SRC_[I + m_] = ACTS[t_, b_, m_]
            for k_ in range(K):  # output units: the error at net_k (eq. 19 with dL/dy_k), then dL/dw_km
                dnk_ = DYS[t_, b_, k_] * FK[t_, b_, k_]
                DNK_[k_] = dnk_
                for m_ in range(Z - 1):
                    GW_o[k_, m_] += dnk_ * SRC_[m_]
                GW_o[k_, Z - 1] += dnk_
            _backward_cells(W_h, W_o, PD, DNK_, D_A, D_S, D_NET, D_SNEW, GP, truncated, t_, b_, I, K, NA, C, S, CS)
            n_src_ = I
            if t_ > 0:  # the net inputs' sources: x(t), y(t-1) (none at the first step), the bias
                n_src_ = Z - 1
                for m_ in range(NA):
                    SRC_[I + m_] = ACTS[t_ - 1, b_, m_]
            for r_ in range(NA):  # dL/dw_lm += error at net_l times source y^m
                g_ = D_NET[r_]
                for m_ in range(n_src_):
                    GW_h[r_, m_] += g_ * SRC_[m_]
                GW_h[r_, Z - 1] += g_
            _backward_recurrent(W_h, D_NET, D_A, D_S, D_SNEW, truncated, I, NA)


def _backward_kernel_sparse(W_h, W_o, T, B, I, OFF, IDX, VAL, ACTS, FK, PD, DYS, truncated, C, S, GW_h, GW_o, GP):
    """_backward_kernel with the input-weight gradients taken over each step's nonzero inputs only (a term with
    x_m = 0 would add +-0.0 to a sum that is never -0.0: nothing)."""
    K = W_o.shape[0]
    CS = C * S
    NA = CS + N_GATES * C
    Z = I + NA + 1
    D_A, D_NET = np.empty(NA), np.empty(NA)  # errors at the activations y and at the net inputs
    D_S, D_SNEW = np.empty((C, S)), np.empty((C, S))  # errors at the states s(t) and s(t-1)
    SRC_, DNK_ = np.empty(Z), np.empty(K)  # the sources y^m of a step; the output units' errors
    for b_ in range(B):
        D_A[:] = 0.0
        D_S[:, :] = 0.0
        for t_ in range(T - 1, -1, -1):
            q0_, q1_ = OFF[t_ * B + b_], OFF[t_ * B + b_ + 1]  # the step's nonzero inputs: IDX[q0_:q1_]
            for q_ in range(q0_, q1_):  # the output units' sources: x(t) (its nonzero entries), y(t)
                SRC_[IDX[q_]] = VAL[q_]
            for m_ in range(NA):
                SRC_[I + m_] = ACTS[t_, b_, m_]
            for k_ in range(K):  # output units: the error at net_k (eq. 19 with dL/dy_k), then dL/dw_km
                dnk_ = DYS[t_, b_, k_] * FK[t_, b_, k_]
                DNK_[k_] = dnk_
                for q_ in range(q0_, q1_):
                    m_ = IDX[q_]
                    GW_o[k_, m_] += dnk_ * SRC_[m_]
                for m_ in range(I, Z - 1):
                    GW_o[k_, m_] += dnk_ * SRC_[m_]
                GW_o[k_, Z - 1] += dnk_
            _backward_cells(W_h, W_o, PD, DNK_, D_A, D_S, D_NET, D_SNEW, GP, truncated, t_, b_, I, K, NA, C, S, CS)
            n_src_ = I
            if t_ > 0:  # the net inputs' sources: x(t), y(t-1) (none at the first step), the bias
                n_src_ = Z - 1
                for m_ in range(NA):
                    SRC_[I + m_] = ACTS[t_ - 1, b_, m_]
            for r_ in range(NA):  # dL/dw_lm += error at net_l times source y^m
                g_ = D_NET[r_]
                for q_ in range(q0_, q1_):
                    m_ = IDX[q_]
                    GW_h[r_, m_] += g_ * SRC_[m_]
                for m_ in range(I, n_src_):
                    GW_h[r_, m_] += g_ * SRC_[m_]
                GW_h[r_, Z - 1] += g_
            _backward_recurrent(W_h, D_NET, D_A, D_S, D_SNEW, truncated, I, NA)


def _backward_cells(W_h, W_o, PD, DNK_, D_A, D_S, D_NET, D_SNEW, GP, truncated, t_, b_, I, K, NA, C, S, CS):
    """The error at the activations y(t) (what came back through the recurrent weights, plus the output units'),
    then the cell's adjoint step, block by block (inlined)."""
    _transposed_sums(W_o, I, DNK_, K, D_A, NA)
    for c_ in range(C):  # the derived adjoint step of the cell
        _cell_adjoint(PD, D_A, D_S, D_NET, D_SNEW, GP, truncated, t_, b_, c_, C, S, CS)


def _backward_recurrent(W_h, D_NET, D_A, D_S, D_SNEW, truncated, I, NA):
    """The error into y(t-1) through the recurrent weights (none under truncation) and at s(t-1) (inlined)."""
    D_A[:] = 0.0
    if not truncated:
        _transposed_sums(W_h, I, D_NET, NA, D_A, NA)
    D_S[:, :] = D_SNEW


# ----- the paper's online learner -----

def _learner_kernel(W_h, W_o, PM, LR, XS, TG, TM, MH, MO, mode, YS, OUT_H, OUT_O, OUT_P, C, S):
    """The paper's online learner (Appendix A.1) over whole sequences, each batch element an independent trial.

    Per step (Section 5): net inputs, the cell's equations, outputs; the forward traces ds/dw (eqs. 25, 27); the
    output error (eq. 19) and this step's gradient estimate G = -dE(t)/dw (eqs. 20-28). ``mode``: 0 forward
    only, 1 add LR * G (masked by MH, MO) to the weights at every step, 2 sum G over the sequence and add it at
    the end, 3 return the summed G in OUT_H, OUT_O, OUT_P without changing the weights. Each weight row's trace
    update, gradient and change (or sum) are one pass over the row (the cell's ``_learner_rows``). A step whose
    output error is exactly zero adds exactly zero (G is e_k times finite factors) and is skipped, its traces still
    updated.
    """
    T, B, I = XS.shape
    K = W_o.shape[1]
    CS = C * S
    NA = CS + N_GATES * C
    Z = I + NA + 1
    NP = PM.shape[1]
    Z_, U_, GR_ = np.zeros(Z), np.zeros(Z), np.zeros(Z)  # sources of the net inputs, of the outputs; a G row
    NET_, A_, NK_, EK_ = np.zeros(NA), np.zeros(NA), np.zeros(K), np.zeros(K)  # hidden, output units: net, y, e
    SP_, SN_, J_ = np.zeros((C, S)), np.zeros((C, S)), np.zeros((C, S))  # states s(t-1), s(t); ds(t)/ds(t-1)
    TR_, DS_ = np.zeros((N_TRACE_NETS, C, S, Z)), np.zeros((N_TRACE_NETS, C, S))  # net-input weights' traces
    TRP_, DSP_ = np.zeros((N_TRACE_PARAMS, C, S)), np.zeros((N_TRACE_PARAMS, C, S))  # per-cell parameters' traces
    DYS_, DYX_ = np.zeros((C, S)), np.zeros((N_EXIT, C, S))  # exit partials
    EYC_, ES_ = np.zeros((C, S)), np.zeros((C, S))  # errors at the cell outputs and at the states
    ACC_H, ACC_O, ACC_P = np.zeros((NA, Z)), np.zeros((K, Z)), np.zeros((NP, C, S))  # a sequence's sum of G
    ONE_H, ONE_O = np.ones((NA, Z)), np.ones((K, Z))  # the masks of the sums
    for b_ in range(B):
        lr_ = LR[b_]
        A_[:] = 0.0
        SP_[:, :] = 0.0
        TR_[:] = 0.0
        TRP_[:] = 0.0
        if mode == 1:  # eq. (17): each step's change alpha * (-dE/dw), masked, goes into the weights at once
            TH_, TO_, TP_, MH_, MO_, sc_ = W_h[b_], W_o[b_], PM[b_], MH, MO, lr_
        else:  # the sum of G over the sequence: adding 1.0 * (G * 1.0) adds G exactly
            ACC_H[:, :] = 0.0
            ACC_O[:, :] = 0.0
            ACC_P[:] = 0.0
            TH_, TO_, TP_, MH_, MO_, sc_ = ACC_H, ACC_O, ACC_P, ONE_H, ONE_O, 1.0
        for t_ in range(T):
            for m_ in range(I):  # sources y^m: x(t), y(t-1), bias
                Z_[m_] = XS[t_, b_, m_]
            for m_ in range(NA):
                Z_[I + m_] = A_[m_]
            Z_[Z - 1] = 1.0
            _trial_sums(W_h, b_, Z_, Z, NA, NET_)  # eqs. (6)-(9)
            for c_ in range(C):  # the cell's equations, then its trace and exit partials; per-block values once
                _learner_cell(NET_, PM, SP_, SN_, A_, J_, DS_, DSP_, DYS_, DYX_, b_, c_, C, S, CS)
            for m_ in range(I):  # output units see x(t), the current activations and the bias
                U_[m_] = XS[t_, b_, m_]
            for m_ in range(NA):
                U_[I + m_] = A_[m_]
            U_[Z - 1] = 1.0
            _trial_sums(W_o, b_, U_, Z, K, NK_)
            err_ = _output_errors(NK_, EK_, YS, TG, TM, t_, b_, K)
            SP_[:, :] = SN_
            if mode == 0:
                continue
            if not err_:  # G is zero at this step: only the traces move on
                _learner_traces(TR_, TRP_, DS_, DSP_, J_, Z_, Z, C, S)
                continue
            _learner_rows(W_o, b_, EK_, EYC_, ES_, DYS_, DYX_, J_, DS_, DSP_, TR_, TRP_, GR_, Z_, U_, TH_, TO_, TP_,
                          MH_, MO_, sc_, I)
        _learner_end(W_h, W_o, PM, MH, MO, mode, lr_, ACC_H, ACC_O, ACC_P, OUT_H, OUT_O, OUT_P, b_, NA, K, Z, NP, C, S)


def _learner_kernel_lists(W_h, W_o, PM, LR, T, B, I, OFF, IDX, VAL, TG, TM, MH, MO, mode, YS, OUT_H, OUT_O, OUT_P,
                          C, S):
    """_learner_kernel for inputs that are mostly zero, with the same results.

    Each step's nonzero inputs are listed (OFF, IDX, VAL: _input_nonzero), and so are the inputs nonzero at some step
    since the trial began (_mark_seen): a trace ds/dw_im sums terms proportional to x_m, so it is exactly zero
    elsewhere. The net inputs take the nonzero inputs, the traces and the rows of G with trace terms the seen ones
    (all inputs once SEEN_ALL of them were seen: a plain loop is then faster; at a step without output error, for
    the CEC, only the nonzero ones), the rows of G proportional to x(t) the nonzero ones. Every column left out
    would add exactly zero (finite values; the one difference possible is the sign of a weight that is -0.0, which
    adding +0.0 would turn into +0.0).
    """
    K = W_o.shape[1]
    CS = C * S
    NA = CS + N_GATES * C
    Z = I + NA + 1
    NP = PM.shape[1]
    Z_, U_, GR_ = np.zeros(Z), np.zeros(Z), np.zeros(Z)  # sources of the net inputs, of the outputs; a G row
    NET_, A_, NK_, EK_ = np.zeros(NA), np.zeros(NA), np.zeros(K), np.zeros(K)  # hidden, output units: net, y, e
    SP_, SN_, J_ = np.zeros((C, S)), np.zeros((C, S)), np.zeros((C, S))  # states s(t-1), s(t); ds(t)/ds(t-1)
    TR_, DS_ = np.zeros((N_TRACE_NETS, C, S, Z)), np.zeros((N_TRACE_NETS, C, S))  # net-input weights' traces
    TRP_, DSP_ = np.zeros((N_TRACE_PARAMS, C, S)), np.zeros((N_TRACE_PARAMS, C, S))  # per-cell parameters' traces
    DYS_, DYX_ = np.zeros((C, S)), np.zeros((N_EXIT, C, S))  # exit partials
    EYC_, ES_ = np.zeros((C, S)), np.zeros((C, S))  # errors at the cell outputs and at the states
    ACC_H, ACC_O, ACC_P = np.zeros((NA, Z)), np.zeros((K, Z)), np.zeros((NP, C, S))  # a sequence's sum of G
    ONE_H, ONE_O = np.ones((NA, Z)), np.ones((K, Z))  # the masks of the sums
    SEEN_, SL_ = np.zeros(I, np.bool_), np.empty(I, np.int64)  # inputs seen in the trial
    NS_ALL = max(1, int(SEEN_ALL * I))  # from this many seen inputs on, loops take all columns
    for b_ in range(B):
        lr_ = LR[b_]
        A_[:] = 0.0
        SP_[:, :] = 0.0
        TR_[:] = 0.0
        TRP_[:] = 0.0
        Z_[:] = 0.0  # x(t) is kept in Z_ and U_ by its nonzero entries
        U_[:] = 0.0
        SEEN_[:] = False
        q0_, q1_, ns_ = 0, 0, 0
        all_ = False
        if mode == 1:  # eq. (17): each step's change alpha * (-dE/dw), masked, goes into the weights at once
            TH_, TO_, TP_, MH_, MO_, sc_ = W_h[b_], W_o[b_], PM[b_], MH, MO, lr_
        else:  # the sum of G over the sequence: adding 1.0 * (G * 1.0) adds G exactly
            ACC_H[:, :] = 0.0
            ACC_O[:, :] = 0.0
            ACC_P[:] = 0.0
            TH_, TO_, TP_, MH_, MO_, sc_ = ACC_H, ACC_O, ACC_P, ONE_H, ONE_O, 1.0
        for t_ in range(T):
            # sources y^m: x(t) (its nonzero entries; the last step's set back to zero), y(t-1), bias
            for q_ in range(q0_, q1_):
                Z_[IDX[q_]] = 0.0
                U_[IDX[q_]] = 0.0
            q0_, q1_ = OFF[t_ * B + b_], OFF[t_ * B + b_ + 1]  # the step's nonzero inputs: IDX[q0_:q1_]
            for q_ in range(q0_, q1_):
                Z_[IDX[q_]] = VAL[q_]
            ns_ = _mark_seen(IDX, q0_, q1_, SEEN_, SL_, ns_)
            all_ = ns_ >= NS_ALL
            for m_ in range(NA):
                Z_[I + m_] = A_[m_]
            Z_[Z - 1] = 1.0
            _trial_sums_listed(W_h, b_, Z_, IDX, q0_, q1_, I, Z, NA, NET_)  # eqs. (6)-(9)
            for c_ in range(C):  # the cell's equations, then its trace and exit partials; per-block values once
                _learner_cell(NET_, PM, SP_, SN_, A_, J_, DS_, DSP_, DYS_, DYX_, b_, c_, C, S, CS)
            for q_ in range(q0_, q1_):  # output units see x(t), the current activations and the bias
                U_[IDX[q_]] = VAL[q_]
            for m_ in range(NA):
                U_[I + m_] = A_[m_]
            U_[Z - 1] = 1.0
            _trial_sums_listed(W_o, b_, U_, IDX, q0_, q1_, I, Z, K, NK_)
            err_ = _output_errors(NK_, EK_, YS, TG, TM, t_, b_, K)
            SP_[:, :] = SN_
            if mode == 0:
                continue
            if not err_:  # G is zero at this step: only the traces move on
                _learner_traces_lists(TR_, TRP_, DS_, DSP_, J_, Z_, Z, C, S, I, IDX, q0_, q1_, SL_, ns_, all_)
                continue
            _learner_rows_lists(W_o, b_, EK_, EYC_, ES_, DYS_, DYX_, J_, DS_, DSP_, TR_, TRP_, GR_, Z_, U_, TH_, TO_,
                                TP_, MH_, MO_, sc_, I, IDX, q0_, q1_, SL_, ns_, all_)
        _learner_end(W_h, W_o, PM, MH, MO, mode, lr_, ACC_H, ACC_O, ACC_P, OUT_H, OUT_O, OUT_P, b_, NA, K, Z, NP, C, S)


def _output_errors(NK_, EK_, YS, TG, TM, t_, b_, K):
    """The output units' activations and their errors (eq. 19) at step t_ of trial b_ (inlined); True when some
    error is nonzero."""
    err_ = False
    for k_ in range(K):
        net_k = NK_[k_]
        y_k = _sigmoid(net_k)
        YS[t_, b_, k_] = y_k
        e_ = _output_derivative(net_k, y_k) * (TG[t_, b_, k_] - y_k) * TM[t_, b_, k_]  # eq. (19)
        EK_[k_] = e_
        if e_ != 0.0:
            err_ = True
    return err_


def _learner_end(W_h, W_o, PM, MH, MO, mode, lr_, ACC_H, ACC_O, ACC_P, OUT_H, OUT_O, OUT_P, b_, NA, K, Z, NP, C, S):
    """The end of trial b_'s sequence (inlined): mode 2 adds the summed G, mode 3 returns it."""
    if mode == 2:
        for r_ in range(NA):
            for m_ in range(Z):
                W_h[b_, r_, m_] += lr_ * (ACC_H[r_, m_] * MH[r_, m_])
        for k_ in range(K):
            for m_ in range(Z):
                W_o[b_, k_, m_] += lr_ * (ACC_O[k_, m_] * MO[k_, m_])
        for p_ in range(NP):
            for c_ in range(C):
                for j_ in range(S):
                    PM[b_, p_, c_, j_] += lr_ * ACC_P[p_, c_, j_]
    elif mode == 3:
        OUT_H[b_] = ACC_H
        OUT_O[b_] = ACC_O
        OUT_P[b_] = ACC_P


#: the loops numba_compile compiles as kernels (cached; the others are written into them)
KERNELS = ("_forward_kernel", "_forward_kernel_sparse", "_backward_kernel", "_backward_kernel_sparse",
           "_learner_kernel", "_learner_kernel_lists")
#: the parts of the loops written into them (numba_splice)
INLINED = ("_forward_step", "_backward_cells", "_backward_recurrent", "_output_errors", "_learner_end")
