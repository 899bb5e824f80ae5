"""The README's Python API example runs as written."""

import re
import warnings
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_python_api_example_runs():
    block = re.search(r"## Python API\s*```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the numba fallback warning, where numba is missing
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["top"].n_weights == 93 and namespace["top2c"].n_weights == 664
    assert namespace["ys"].shape == (namespace["batch"].steps, 4, 2)
    assert type(namespace["batch"].inputs).__name__ == "OneHotInputs"
