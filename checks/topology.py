"""The weight counts of the paper's networks come out of the reconstructed topologies exactly."""

from __future__ import annotations

from lstm_proofs.network.paper import PAPER_NETWORKS
from lstm_proofs.results import CheckResult


def run_checks(full: bool = False) -> list[CheckResult]:
    """One check: every network of Tables 1-10 has the paper's number of weights."""
    rows = [{"network": where, "paper": count, "measured": top.n_weights} for where, top, count in PAPER_NETWORKS]
    wrong = [r for r in rows if r["paper"] != r["measured"]]
    return [CheckResult(
        id="topology/weight-counts", passed=not wrong, title="weight counts of the paper's networks are exact",
        reference="the paper's tables (# weights)", claim="Tables 1-10", details={"networks": rows},
        message="; ".join(f"{r['network']}: paper {r['paper']}, measured {r['measured']}" for r in wrong))]
