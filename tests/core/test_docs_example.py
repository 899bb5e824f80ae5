"""The "adding a cell variant" example of docs/pipeline.md runs, derives, and its generated gradient is right."""

import re
import types
from pathlib import Path

import numpy as np

from lstm_proofs.cells import CELLS
from lstm_proofs.codegen import generate_module
from lstm_proofs.derive import derive
from lstm_proofs.network import Network, Params, Topology, init_params

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipeline.md"


def test_add_a_cell_example(monkeypatch):
    text = DOC.read_text()
    block = re.search(r"### Adding a cell variant.*?```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 20
    monkeypatch.setitem(CELLS, "cifg", CELLS["lstm1997"])  # the example registers "cifg"; undone after the test
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)
    decl = namespace["CIFG"]
    assert CELLS["cifg"] is decl
    module = types.ModuleType("cifg_generated")
    exec(compile(generate_module(derive(decl)), "cifg_generated", "exec"), module.__dict__)
    top = Topology("cifg", 2, 1, 2, 2, bias="all")
    net = Network(top, kernels=module)
    rng = np.random.default_rng(3)
    p = init_params(top, rng, 0.5)
    xs, tg, mask = rng.normal(size=(6, 2, 2)), rng.uniform(size=(6, 2, 1)), np.ones((6, 2))
    _, g = net.loss_and_grad(p, xs, tg, mask)
    v, gv = p.to_vector(top), g.to_vector(top)
    direction = rng.normal(size=v.shape)
    cs = net.loss(Params.from_vector(top, v + 1e-30j * direction), xs, tg, mask).imag / 1e-30
    assert abs(cs - gv @ direction) <= 1e-12 * (np.abs(gv) @ np.abs(direction))
