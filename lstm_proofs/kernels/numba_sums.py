"""The matrix-vector sums of the compiled loops, written into them (``numba_compile``, ``numba_splice``: no call,
no array views, the loops index the arrays directly).

A running sum waits on its previous add (a few cycles), so a dot product over many sources is bound by that latency.
These interleave rows in blocks of 8, 4, 2, 1, whose sums are independent and overlap, each still one running sum in
plain order (from its start, then m = 0, 1, ...): bit for bit a loop per row. Dense inputs and listed inputs (the
nonzero inputs of a step, ascending, then the sources from I on) give the same sums when every input left out is
zero (a term w * 0.0 added to a running sum from +0.0 changes nothing: the sum is never -0.0).
"""


def _forward_sums(W, NX, o0, u, ACTS, t, b, I, Z, n, R, OUT):
    """OUT[r] = NX[o0 + r, u] + sum_{m < n} W[r, I + m] * ACTS[t, b, m], then + the bias W[r, Z - 1], for r < R: the
    input part of a net input (computed for the chunk) continued over activations, then the bias."""
    r_ = 0
    while r_ + 8 <= R:
        a0_ = NX[o0 + r_, u]
        a1_ = NX[o0 + r_ + 1, u]
        a2_ = NX[o0 + r_ + 2, u]
        a3_ = NX[o0 + r_ + 3, u]
        a4_ = NX[o0 + r_ + 4, u]
        a5_ = NX[o0 + r_ + 5, u]
        a6_ = NX[o0 + r_ + 6, u]
        a7_ = NX[o0 + r_ + 7, u]
        for m_ in range(n):
            z_ = ACTS[t, b, m_]
            a0_ += W[r_, I + m_] * z_
            a1_ += W[r_ + 1, I + m_] * z_
            a2_ += W[r_ + 2, I + m_] * z_
            a3_ += W[r_ + 3, I + m_] * z_
            a4_ += W[r_ + 4, I + m_] * z_
            a5_ += W[r_ + 5, I + m_] * z_
            a6_ += W[r_ + 6, I + m_] * z_
            a7_ += W[r_ + 7, I + m_] * z_
        OUT[r_] = a0_ + W[r_, Z - 1]
        OUT[r_ + 1] = a1_ + W[r_ + 1, Z - 1]
        OUT[r_ + 2] = a2_ + W[r_ + 2, Z - 1]
        OUT[r_ + 3] = a3_ + W[r_ + 3, Z - 1]
        OUT[r_ + 4] = a4_ + W[r_ + 4, Z - 1]
        OUT[r_ + 5] = a5_ + W[r_ + 5, Z - 1]
        OUT[r_ + 6] = a6_ + W[r_ + 6, Z - 1]
        OUT[r_ + 7] = a7_ + W[r_ + 7, Z - 1]
        r_ += 8
    if r_ + 4 <= R:
        a0_ = NX[o0 + r_, u]
        a1_ = NX[o0 + r_ + 1, u]
        a2_ = NX[o0 + r_ + 2, u]
        a3_ = NX[o0 + r_ + 3, u]
        for m_ in range(n):
            z_ = ACTS[t, b, m_]
            a0_ += W[r_, I + m_] * z_
            a1_ += W[r_ + 1, I + m_] * z_
            a2_ += W[r_ + 2, I + m_] * z_
            a3_ += W[r_ + 3, I + m_] * z_
        OUT[r_] = a0_ + W[r_, Z - 1]
        OUT[r_ + 1] = a1_ + W[r_ + 1, Z - 1]
        OUT[r_ + 2] = a2_ + W[r_ + 2, Z - 1]
        OUT[r_ + 3] = a3_ + W[r_ + 3, Z - 1]
        r_ += 4
    if r_ + 2 <= R:
        a0_ = NX[o0 + r_, u]
        a1_ = NX[o0 + r_ + 1, u]
        for m_ in range(n):
            z_ = ACTS[t, b, m_]
            a0_ += W[r_, I + m_] * z_
            a1_ += W[r_ + 1, I + m_] * z_
        OUT[r_] = a0_ + W[r_, Z - 1]
        OUT[r_ + 1] = a1_ + W[r_ + 1, Z - 1]
        r_ += 2
    if r_ + 1 <= R:
        a0_ = NX[o0 + r_, u]
        for m_ in range(n):
            z_ = ACTS[t, b, m_]
            a0_ += W[r_, I + m_] * z_
        OUT[r_] = a0_ + W[r_, Z - 1]


def _transposed_sums(W, I, SRC, M, OUT, R):
    """OUT[r] = OUT[r] + sum_{m < M} W[m, I + r] * SRC[m] for r < R: errors sent back through the columns of the
    activations (W transposed), added to what OUT holds."""
    r_ = 0
    while r_ + 8 <= R:
        a0_ = OUT[r_]
        a1_ = OUT[r_ + 1]
        a2_ = OUT[r_ + 2]
        a3_ = OUT[r_ + 3]
        a4_ = OUT[r_ + 4]
        a5_ = OUT[r_ + 5]
        a6_ = OUT[r_ + 6]
        a7_ = OUT[r_ + 7]
        for m_ in range(M):
            z_ = SRC[m_]
            a0_ += W[m_, I + r_] * z_
            a1_ += W[m_, I + r_ + 1] * z_
            a2_ += W[m_, I + r_ + 2] * z_
            a3_ += W[m_, I + r_ + 3] * z_
            a4_ += W[m_, I + r_ + 4] * z_
            a5_ += W[m_, I + r_ + 5] * z_
            a6_ += W[m_, I + r_ + 6] * z_
            a7_ += W[m_, I + r_ + 7] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        OUT[r_ + 2] = a2_
        OUT[r_ + 3] = a3_
        OUT[r_ + 4] = a4_
        OUT[r_ + 5] = a5_
        OUT[r_ + 6] = a6_
        OUT[r_ + 7] = a7_
        r_ += 8
    if r_ + 4 <= R:
        a0_ = OUT[r_]
        a1_ = OUT[r_ + 1]
        a2_ = OUT[r_ + 2]
        a3_ = OUT[r_ + 3]
        for m_ in range(M):
            z_ = SRC[m_]
            a0_ += W[m_, I + r_] * z_
            a1_ += W[m_, I + r_ + 1] * z_
            a2_ += W[m_, I + r_ + 2] * z_
            a3_ += W[m_, I + r_ + 3] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        OUT[r_ + 2] = a2_
        OUT[r_ + 3] = a3_
        r_ += 4
    if r_ + 2 <= R:
        a0_ = OUT[r_]
        a1_ = OUT[r_ + 1]
        for m_ in range(M):
            z_ = SRC[m_]
            a0_ += W[m_, I + r_] * z_
            a1_ += W[m_, I + r_ + 1] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        r_ += 2
    if r_ + 1 <= R:
        a0_ = OUT[r_]
        for m_ in range(M):
            z_ = SRC[m_]
            a0_ += W[m_, I + r_] * z_
        OUT[r_] = a0_


def _trial_sums(W, b, SRC, Z, R, OUT):
    """OUT[r] = sum_{m < Z} W[b, r, m] * SRC[m] for r < R: net inputs of trial b from all its sources."""
    r_ = 0
    while r_ + 8 <= R:
        a0_ = 0.0
        a1_ = 0.0
        a2_ = 0.0
        a3_ = 0.0
        a4_ = 0.0
        a5_ = 0.0
        a6_ = 0.0
        a7_ = 0.0
        for m_ in range(Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
            a2_ += W[b, r_ + 2, m_] * z_
            a3_ += W[b, r_ + 3, m_] * z_
            a4_ += W[b, r_ + 4, m_] * z_
            a5_ += W[b, r_ + 5, m_] * z_
            a6_ += W[b, r_ + 6, m_] * z_
            a7_ += W[b, r_ + 7, m_] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        OUT[r_ + 2] = a2_
        OUT[r_ + 3] = a3_
        OUT[r_ + 4] = a4_
        OUT[r_ + 5] = a5_
        OUT[r_ + 6] = a6_
        OUT[r_ + 7] = a7_
        r_ += 8
    if r_ + 4 <= R:
        a0_ = 0.0
        a1_ = 0.0
        a2_ = 0.0
        a3_ = 0.0
        for m_ in range(Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
            a2_ += W[b, r_ + 2, m_] * z_
            a3_ += W[b, r_ + 3, m_] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        OUT[r_ + 2] = a2_
        OUT[r_ + 3] = a3_
        r_ += 4
    if r_ + 2 <= R:
        a0_ = 0.0
        a1_ = 0.0
        for m_ in range(Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        r_ += 2
    if r_ + 1 <= R:
        a0_ = 0.0
        for m_ in range(Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
        OUT[r_] = a0_


def _trial_sums_listed(W, b, SRC, IDX, q0, q1, I, Z, R, OUT):
    """_trial_sums over the listed inputs IDX[q0:q1] (ascending; the others are zero), then the sources from I on."""
    r_ = 0
    while r_ + 8 <= R:
        a0_ = 0.0
        a1_ = 0.0
        a2_ = 0.0
        a3_ = 0.0
        a4_ = 0.0
        a5_ = 0.0
        a6_ = 0.0
        a7_ = 0.0
        for q_ in range(q0, q1):
            m_ = IDX[q_]
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
            a2_ += W[b, r_ + 2, m_] * z_
            a3_ += W[b, r_ + 3, m_] * z_
            a4_ += W[b, r_ + 4, m_] * z_
            a5_ += W[b, r_ + 5, m_] * z_
            a6_ += W[b, r_ + 6, m_] * z_
            a7_ += W[b, r_ + 7, m_] * z_
        for m_ in range(I, Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
            a2_ += W[b, r_ + 2, m_] * z_
            a3_ += W[b, r_ + 3, m_] * z_
            a4_ += W[b, r_ + 4, m_] * z_
            a5_ += W[b, r_ + 5, m_] * z_
            a6_ += W[b, r_ + 6, m_] * z_
            a7_ += W[b, r_ + 7, m_] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        OUT[r_ + 2] = a2_
        OUT[r_ + 3] = a3_
        OUT[r_ + 4] = a4_
        OUT[r_ + 5] = a5_
        OUT[r_ + 6] = a6_
        OUT[r_ + 7] = a7_
        r_ += 8
    if r_ + 4 <= R:
        a0_ = 0.0
        a1_ = 0.0
        a2_ = 0.0
        a3_ = 0.0
        for q_ in range(q0, q1):
            m_ = IDX[q_]
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
            a2_ += W[b, r_ + 2, m_] * z_
            a3_ += W[b, r_ + 3, m_] * z_
        for m_ in range(I, Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
            a2_ += W[b, r_ + 2, m_] * z_
            a3_ += W[b, r_ + 3, m_] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        OUT[r_ + 2] = a2_
        OUT[r_ + 3] = a3_
        r_ += 4
    if r_ + 2 <= R:
        a0_ = 0.0
        a1_ = 0.0
        for q_ in range(q0, q1):
            m_ = IDX[q_]
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
        for m_ in range(I, Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
            a1_ += W[b, r_ + 1, m_] * z_
        OUT[r_] = a0_
        OUT[r_ + 1] = a1_
        r_ += 2
    if r_ + 1 <= R:
        a0_ = 0.0
        for q_ in range(q0, q1):
            m_ = IDX[q_]
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
        for m_ in range(I, Z):
            z_ = SRC[m_]
            a0_ += W[b, r_, m_] * z_
        OUT[r_] = a0_
