"""numba_splice writes called functions into a loop as source text. What would break: a function's local variable
clobbering the caller's, an argument evaluated twice or not at all, a parameter the function assigns to changing the
caller's variable, a result lost, or a call it cannot write out left silently in place."""

import pytest

from lstm_proofs.kernels.numba_splice import SpliceError, functions, splice

LIBRARY = '''
def _scale(A, k, n):
    """Doc."""
    for i in range(n):
        A[i] = A[i] * k


def _total(A, n):
    s = 0.0
    for i in range(n):
        s += A[i]
    return s


def _twice(x):
    return 2 * x


def _bump(n):
    n = n + 1
    return n


def _early(x):
    if x > 0:
        return 1
    return 2


def _nested(A, n):
    _scale(A, 3.0, n)
    i = _total(A, n)
    return i
'''


def _run(caller: str, *args):
    lib = functions(LIBRARY)
    library = {k: v for k, v in lib.items()}
    text = splice(functions(caller)["f"], library, name="g")
    env: dict = {}
    exec(text, env)  # noqa: S102
    plain: dict = {}
    exec(LIBRARY + caller, plain)  # noqa: S102
    return text, env["g"], plain["f"]


def test_spliced_code_computes_what_the_calls_computed_without_a_call():
    caller = '''
def f(A, n):
    i = 7
    s = 5.0
    _scale(A, i - 5, n)
    t = _total(A, n)
    u = _twice(t) + _twice(i)
    m = _bump(n)
    v = _nested(A, n - 1)
    return i, s, t, u, m, n, v
'''
    text, g, f = _run(caller)
    assert "_scale(" not in text and "_total(" not in text and "_twice(" not in text and "_nested(" not in text
    assert g([1.0, 2.0, 3.0], 3) == f([1.0, 2.0, 3.0], 3)  # i, s, n kept; i - 5 evaluated once; n not bumped
    assert g([1.0, 2.0, 3.0], 3)[:3] == (7, 5.0, 12.0)


@pytest.mark.parametrize("caller, message", [
    ("def f(x):\n    return _early(x)\n", "single return"),
    ("def f(x):\n    y = _early(x)\n    return y\n", "returns before its end"),
    ("def f(A, n):\n    y = _scale(A, 1.0, n)\n    return y\n", "returns nothing"),
    ("def f(A, n):\n    _scale(A, k=1.0, n=n)\n", "keyword"),
    ("def f(x):\n    return _twice(x + 1)\n", "names and constants"),
])
def test_what_cannot_be_written_out_is_an_error(caller, message):
    with pytest.raises(SpliceError, match=message):
        splice(functions(caller)["f"], functions(LIBRARY))
