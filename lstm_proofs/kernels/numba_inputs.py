"""Input helpers of the compiled kernels (plain Python; ``numba_compile`` compiles them once for every cell).

A chunk of one sequence's inputs time innermost and its part of the net inputs (dense inputs); the nonzero inputs
of every step as compressed rows and their part of the net inputs (sparse inputs); the learner's list of the inputs
seen since its traces were reset.
"""


def _time_major_inputs(XS, b, t0, n, XT):
    """XT[m, u] = XS[t0 + u, b, m] for u < n: a chunk of one sequence's inputs, time innermost. Eight inputs at a
    time, so that each row of XS is read a cache line at once."""
    I = XS.shape[2]
    m = 0
    while m + 8 <= I:
        for u in range(n):
            XT[m, u] = XS[t0 + u, b, m]
            XT[m + 1, u] = XS[t0 + u, b, m + 1]
            XT[m + 2, u] = XS[t0 + u, b, m + 2]
            XT[m + 3, u] = XS[t0 + u, b, m + 3]
            XT[m + 4, u] = XS[t0 + u, b, m + 4]
            XT[m + 5, u] = XS[t0 + u, b, m + 5]
            XT[m + 6, u] = XS[t0 + u, b, m + 6]
            XT[m + 7, u] = XS[t0 + u, b, m + 7]
        m += 8
    while m < I:
        for u in range(n):
            XT[m, u] = XS[t0 + u, b, m]
        m += 1


def _input_part(W, XT, n, out, o0):
    """out[o0 + r, u] += sum_m W[r, m] * XT[m, u] for u < n: the input part of rows of W (the sources x(t), m <
    XT.shape[0]) for n time steps at once. Each sum runs over m in plain order, as a row's own loop would start;
    the innermost loop is over time steps, independent sums that the compiler vectorises, and four inputs are
    added (in order) before a sum is stored again."""
    R, M = W.shape[0], XT.shape[0]
    for r in range(R):
        m = 0
        while m + 4 <= M:
            w0, w1, w2, w3 = W[r, m], W[r, m + 1], W[r, m + 2], W[r, m + 3]
            for u in range(n):
                out[o0 + r, u] = (((out[o0 + r, u] + w0 * XT[m, u]) + w1 * XT[m + 1, u]) + w2 * XT[m + 2, u]) \
                    + w3 * XT[m + 3, u]
            m += 4
        while m < M:
            w = W[r, m]
            for u in range(n):
                out[o0 + r, u] += w * XT[m, u]
            m += 1


def _input_nonzero(XS, OFF, IDX, VAL):
    """The nonzero inputs of every step, as compressed rows: step t of sequence b (row r = t * B + b) has the
    inputs m = IDX[OFF[r]:OFF[r + 1]] with x_m(t) = VAL[OFF[r]:OFF[r + 1]] != 0 (ascending; NaN counts as
    nonzero). Returns their number, or -1 as soon as they would not fit in IDX (the inputs are not sparse enough
    for the lists to pay). The inputs are tested eight at a time, so that the zero stretches of a one-hot input go
    by quickly."""
    T, B, I = XS.shape
    n = IDX.shape[0]
    c = 0
    for t in range(T):
        for b in range(B):
            OFF[t * B + b] = c
            m = 0
            while m < I:
                e = min(m + 8, I)
                if m + 8 > I or (XS[t, b, m] != 0.0) | (XS[t, b, m + 1] != 0.0) | (XS[t, b, m + 2] != 0.0) | \
                        (XS[t, b, m + 3] != 0.0) | (XS[t, b, m + 4] != 0.0) | (XS[t, b, m + 5] != 0.0) | \
                        (XS[t, b, m + 6] != 0.0) | (XS[t, b, m + 7] != 0.0):
                    for q in range(m, e):
                        if XS[t, b, q] != 0.0:
                            if c == n:
                                return -1
                            IDX[c] = q
                            VAL[c] = XS[t, b, q]
                            c += 1
                m = e
    OFF[T * B] = c
    return c


def _input_part_sparse(W, B, OFF, IDX, VAL, b, t0, n, out, o0):
    """_input_part over the nonzero inputs listed by _input_nonzero: out[o0 + r, u] += sum W[r, m] * x_m(t0 + u)
    over the inputs m of step t0 + u of sequence b, in ascending order. A skipped term is w * 0.0 = +-0.0, and a
    running sum that starts at +0.0 is never -0.0 (x + (-x) rounds to +0.0), so adding it would change nothing:
    each sum is bit for bit the dense one (for finite weights; an infinite weight times 0.0 would be NaN there)."""
    R = W.shape[0]
    for u in range(n):
        t = t0 + u
        for q in range(OFF[t * B + b], OFF[t * B + b + 1]):
            m = IDX[q]
            x = VAL[q]
            for r in range(R):
                out[o0 + r, u] += W[r, m] * x


def _mark_seen(IDX, q0, q1, SEEN, SL, ns):
    """Adds the inputs IDX[q0:q1] not yet in the list SL[:ns] (flags SEEN) to it; returns its new length. The
    learner's traces of input weights ds/dw_im are sums of terms proportional to x_m, so outside the inputs seen
    since the traces were reset they are exactly zero."""
    for q in range(q0, q1):
        m = IDX[q]
        if not SEEN[m]:
            SEEN[m] = True
            SL[ns] = m
            ns += 1
    return ns
