"""Text of the error-flow measurements: the tables of ``lstm-proofs flow`` (random networks) and ``flow --trained``
(trained networks), as aligned text for the terminal or Markdown for docs/flow.md and the report."""

from __future__ import annotations

from typing import Any


def format_table(payload: dict[str, Any], markdown: bool = False) -> str:
    """The summary table of a flow run (from its JSON document).

    Args:
        payload: the document written by ``--json``.
        markdown: a Markdown table instead of aligned text.

    Returns:
        The table, one line per measurement.
    """
    header = ("check", "model", "predicted rate", "measured rate", "rel. deviation / figure", "tolerance", "verdict")
    rows = []
    for m in payload["measurements"]:
        verdict = ("info" if m["passed"] else "FAIL (info)") if m["informational"] else \
            ("pass" if m["passed"] else "FAIL")
        rows.append((m["id"], m["model"], _num(m["predicted_rate"], 7), _num(m["measured_rate"], 7),
                     _num(m["figure"], 3), "-" if m["tolerance"] is None else _num(m["tolerance"], 3), verdict))
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else r[i] for i in range(len(r))) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])


def format_markdown(payload: dict[str, Any]) -> str:
    """The summary table and, per measurement on several networks, a table of its per-network figures (Markdown).

    Args:
        payload: the document written by ``--json``.

    Returns:
        Markdown text (``docs/flow.md`` quotes it between its ``flow-table`` markers).
    """
    parts = [format_table(payload, markdown=True)]
    for m in payload["measurements"]:
        nets = m["details"].get("networks")
        if not nets:
            continue
        keys = list(nets[0])
        lines = [f"`{m['id']}` per network:", "", "| " + " | ".join(k.replace("_", " ") for k in keys) + " |",
                 "|" + "---|" * len(keys)]
        for net in nets:
            lines.append("| " + " | ".join(v if isinstance(v, str) else _num(v, 6) for v in net.values()) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _num(x: Any, digits: int) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):  # non-finite floats are stored as strings in JSON
        return x
    if isinstance(x, bool) or isinstance(x, int):
        return str(x)
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def format_trained(payload: dict[str, Any], markdown: bool = False) -> str:
    """The tables of a ``flow --trained`` document: per row, trial and stage; the checks; the verdicts."""
    parts = []
    for doc in payload["rows"]:
        lstm = doc["method"] == "lstm"
        head = (f"row {doc['row']} ({doc['results_file']}): {doc['method']}, cell {doc['cell']}; informative input: "
                f"{doc['informative']}; {doc['settings']['sequences']} fresh sequences "
                f"(seed {doc['settings']['seed']})")
        if lstm:
            header = ("trial", "solved", "stage", "lags", "log10 |error at info|", "log10 entry", "log10 exit_c",
                      "CEC truncated", "CEC full per step", "max |identity|")
        else:
            header = ("trial", "solved", "stage", "lags", "log10 |error at info|", "measured rate", "eq. (2) rate",
                      "rel. error")
        if markdown:  # the trials of a row summarised by outcome and stage (medians over trials)
            parts.append(head + "\n\n" + _summary_table(doc, lstm))
            for c in doc["checks"]:
                parts.append(f"check `{c['id']}`: figure {_num(c['figure'], 3)}, tolerance {_num(c['tolerance'], 3)}: "
                             + ("pass" if c["passed"] else "FAIL"))
            continue
        rows = []
        for t in doc["trials"]:
            for st in t["stages"]:
                lags = "-" if not st["lags"] else (f"{st['lags'][0]}" if st["lags"][0] == st["lags"][1]
                                                   else f"{st['lags'][0]}-{st['lags'][1]}")
                common = (str(t["trial"]), "yes" if t["solved"] else "no", st["label"], lags,
                          _num(st["median_log10_at_info"], 4))
                if lstm:
                    rows.append((*common, _num(st["median_log10_entry"], 4), _num(st["median_log10_exit_c"], 4),
                                 "1 exactly" if st["cec_trunc_exactly_one"] else "NOT 1",
                                 _num(st["per_step_factor_full"], 6), _num(st["identity_max"], 2)))
                else:
                    rows.append((*common, _num(st["median_measured_rate"], 7), _num(st["median_predicted_rate"], 7),
                                 _num(st["rate_rel_error_max"], 2)))
        parts.append(head + "\n" + _table(header, rows, markdown))
        for c in doc["checks"]:
            parts.append(f"check {c['id']}: figure {_num(c['figure'], 3)}, tolerance {_num(c['tolerance'], 3)}: "
                         + ("pass" if c["passed"] else "FAIL"))
    for v in payload["verdicts"]:
        parts.append(f"verdict for task {v['task']}: {v['verdict']} ({v['reason']})")
    if payload["verdicts"]:
        parts.append(f"verdict rule: {payload['verdicts'][0]['rule']}")
    return "\n\n".join(parts)


def _summary_table(doc: dict[str, Any], lstm: bool) -> str:
    """Per outcome (solved, not solved) and stage: trials, lags and the medians over the trials of their figures."""
    import statistics

    def med(values: list[Any]) -> Any:
        v = [x for x in values if x is not None]
        return statistics.median(v) if v else None

    header = (("outcome", "stage", "trials", "lags", "log10 abs error at info", "log10 entry", "log10 exit_c",
               "CEC truncated", "CEC full per step", "max abs identity") if lstm else
              ("outcome", "stage", "trials", "lags", "log10 abs error at info", "measured rate", "eq. (2) rate",
               "rel. error"))
    rows = []
    for solved in (True, False):
        trials = [t for t in doc["trials"] if t["solved"] == solved]
        labels = list(dict.fromkeys(s["label"] for t in trials for s in t["stages"]))
        labels = [x for x in labels if x != "final"] + (["final"] if "final" in labels else [])
        for label in labels:
            st = [s for t in trials for s in t["stages"] if s["label"] == label]
            lo, hi = min(s["lags"][0] for s in st), max(s["lags"][1] for s in st)
            common = ("solved" if solved else "not solved", label, str(len(st)), str(lo) if lo == hi else f"{lo}-{hi}",
                      _num(med([s["median_log10_at_info"] for s in st]), 4))
            if lstm:
                rows.append((*common, _num(med([s["median_log10_entry"] for s in st]), 4),
                             _num(med([s["median_log10_exit_c"] for s in st]), 4),
                             "1 exactly" if all(s["cec_trunc_exactly_one"] for s in st) else "NOT 1",
                             _num(med([s["per_step_factor_full"] for s in st]), 6),
                             _num(max(s["identity_max"] for s in st), 2)))
            else:
                rows.append((*common, _num(med([s["median_measured_rate"] for s in st]), 7),
                             _num(med([s["median_predicted_rate"] for s in st]), 7),
                             _num(max(s["rate_rel_error_max"] for s in st), 2)))
    return _table(header, rows, True)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), *(fmt.format(*r) for r in rows)])
