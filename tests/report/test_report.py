"""The report: well-formed, self-contained, complete, and its figures equal those in the results files."""

import html
import json
import re
import shutil
import xml.dom.minidom
from pathlib import Path

import pytest

from lstm_proofs.cells import CELLS
from lstm_proofs.cli import main
from lstm_proofs.report import build_report
from lstm_proofs.report.claims import CLAIMS
from lstm_proofs.report.html import _fmt

REPO_RESULTS = Path(__file__).resolve().parents[2] / "results"

CHECKS = {"passed": False, "checks": [
    {"id": "gradient/lstm1997/autograd", "passed": True, "max_rel_error": 3.21e-15, "tolerance": 1e-10,
     "title": "t", "reference": "HIPS autograd", "claim": "", "details": {}, "message": ""},
    {"id": "section3/logistic-derivative-max", "passed": False, "max_rel_error": None, "tolerance": None,
     "title": "t", "reference": "SymPy proof", "claim": "", "details": {}, "message": "wrong"},
]}


@pytest.fixture()
def results(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    (d / "checks.json").write_text(json.dumps(CHECKS))
    shutil.copy(REPO_RESULTS / "flow.json", d / "flow.json")
    shutil.copy(REPO_RESULTS / "flow.svg", d / "flow.svg")
    return d


def test_html_well_formed_self_contained_and_complete(results, tmp_path):
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    xml.dom.minidom.parseString(text.replace("<!DOCTYPE html>", ""))  # well-formed (XHTML-compatible)
    assert not re.search(r"<(script|link|img|iframe|object)\b", text)
    assert not re.search(r"\b(src|href)\s*=\s*\"(?!#)", text)  # nothing is loaded; only in-page anchors
    assert "@import" not in text and not re.search(r"url\((?!#)", text)  # only in-document references
    assert "<math" in text and "<svg" in text
    for name in CELLS:
        assert f'id="cell-{name}"' in text
    for claim in CLAIMS:
        assert html.escape(claim.statement) in text


def test_figures_and_verdicts_come_from_results_files(results, tmp_path):
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    row = re.search(r"<code>gradient/lstm1997/autograd</code></td><td>HIPS autograd</td><td>([^<]*)</td>", text)
    assert row and row.group(1) == _fmt(3.21e-15)
    flow = json.loads((results / "flow.json").read_text())
    for m in flow["measurements"]:
        assert re.search(rf"<code>{re.escape(m['id'])}</code></td><td>[^<]*</td><td>{re.escape(_fmt(m['figure']))}</td>", text)
    # the failed Section 3 check makes its claim fail; claims with no results say "not run"
    assert '<span class="fail">fails</span>' in text and '<span class="info">not run</span>' in text
    md = (out / "report.md").read_text()
    assert "$`" in md and "![error flow against lag](flow.svg)" in md and (out / "flow.svg").exists()
    assert "*Not run yet:* no training results" in md


def test_missing_results_say_so(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    text = (build_report(empty, tmp_path / "r") / "index.html").read_text()
    assert text.count("Not run yet") >= 3


def test_corrupt_results_file_is_a_one_line_error(tmp_path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "checks.json").write_text("{not json")
    (d / "flow.json").write_text(json.dumps({"measurements": []}))
    assert main(["report", "--out", str(tmp_path / "o"), "--results", str(d)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lstm-proofs: error:") and "not valid JSON" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def _run(row, sequences, solved, cap, commit="0123456789abcdef", **settings):
    """A results file of ``row`` with one trial per entry of ``sequences`` (at the paper's reading unless
    ``settings`` say otherwise)."""
    from lstm_proofs.tasks import get_task
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.results import FORMAT, settings_of

    preset = get_preset(row)
    options = get_task(preset.task).options(**preset.task_options)
    stamp = [{"commit": commit, "dirty": False, "trainer": "f" * 16}]
    trials = [{"trial": i, "solved": bool(ok), "stop": "criterion" if ok else "cap", "sequences": int(n),
               "seconds": 1.0, "code": stamp} for i, (n, ok) in enumerate(zip(sequences, solved))]
    st = {**settings_of(preset, 0, cap, options, preset.update, "numba"), **settings}
    return {"format": FORMAT, "row": row, "settings": st, "requested_trials": len(trials), "trials": trials}


def test_training_results_appear_next_to_the_paper_figures(results, tmp_path):
    (results / "train").mkdir()
    seqs = [20_000 + 1000 * i for i in range(20)]
    run = _run("6a", seqs, [True] * 20, 313_900)
    (results / "train" / "6a.json").write_text(json.dumps(run))
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    assert '<td><code class="row">6a</code></td><td>paper</td>' in text
    assert "20/20 = 100% [83%, 100%]; paper&#x27;s 100% (implied) inside" in text
    assert "<td>29,000 [24,000, 34,000]</td><td>29,500</td>" in text  # KM median and interval; restricted mean
    assert "<td>reproduces</td><td>0123456 (trainer changed since)</td>" in text
    assert text.count("<svg") >= 2 and "Section 5.6, Table 9: temporal order" in text  # the flow plot and the figure
    md = (out / "report.md").read_text()
    assert "| `6a` | paper |" in md and "![Section 5.6, Table 9: temporal order](study-7.svg)" in md
    assert all((out / f"study-{i}.svg").read_text().startswith("<?xml") for i in range(1, 8))
    # the claim of Section 5.6 is judged from the row
    assert "Section 5.6, Table 9" in md and "**holds**" in md.split("Section 5.6, Table 9", 1)[1].split("\n", 1)[0]


def test_training_verdicts_follow_the_stated_rule():
    from lstm_proofs.report.build import training_verdict
    from lstm_proofs.training.presets import get_preset
    from lstm_proofs.training.study import row_report

    def rec(row, seqs, solved, cap):
        return training_verdict(row_report(get_preset(row), _run(row, seqs, solved, cap)))

    assert rec("6a", [30_000] * 20, [True] * 20, 313_900)["passed"]
    slow = rec("6a", [70_000] * 20, [True] * 20, 313_900)  # more than twice the paper's mean
    assert not slow["passed"] and not slow["inconclusive"] and "slower" in slow["title"]
    unreliable = rec("6a", [30_000] * 16 + [313_900] * 4, [True] * 16 + [False] * 4, 313_900)
    assert not unreliable["passed"] and "less reliable" in unreliable["title"]
    incomplete = rec("6a", [30_000] * 5, [True] * 5, 313_900)
    assert incomplete["inconclusive"] and not incomplete["passed"]
    base = rec("2a/bptt/p=100", [5_000_000] * 18, [False] * 18, 5_000_000)
    assert base["id"] == "train/baseline/2a/bptt/p=100" and base["passed"]
    assert rec("2a/bptt/p=100", [200_000] * 18, [False] * 18, 200_000)["inconclusive"]  # cap below the paper's
    assert not rec("2a/bptt/p=100", [100] * 6 + [5_000_000] * 12, [True] * 6 + [False] * 12, 5_000_000)["passed"]


def _training_results(results):
    """Results files: 6a and 4/T=100 at the paper's reading, 4/T=100 with the squared ST3 error, 2a/lstm at a lower
    cap (chosen for its row, labelled by the cap), 2a/bptt/p=100 with none solved."""
    train = results / "train"
    train.mkdir()
    files = {
        "6a.json": _run("6a", [20_000 + 1000 * i for i in range(20)], [True] * 20, 313_900, commit="abcdef0123"),
        "4_T=100.json": _run("4/T=100", [60_000] * 10, [True] * 10, 740_000, commit="abcdef0123"),
        "4_T=100__st3=squared.json": _run("4/T=100", [50_000] * 10, [True] * 10, 740_000, commit="abcdef0123",
                                          st3_error="squared"),
        "2a_lstm__cap=500000.json": _run("2a/lstm", [4_000] * 9 + [500_000] * 9, [True] * 9 + [False] * 9, 500_000,
                                         commit="abcdef0123"),
        "2a_bptt_p=100.json": _run("2a/bptt/p=100", [5_000_000] * 18, [False] * 18, 5_000_000, commit="abcdef0123"),
    }
    for name, run in files.items():
        (train / name).write_text(json.dumps(run))


def _table_rows(text, anchor):
    """The rows of the first table after ``id="anchor"``, as lists of cell texts."""
    table = text.split(f'id="{anchor}"', 1)[1].split("<table", 1)[1].split("</table>", 1)[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td>(.*?)</td>", tr)]
            for tr in re.findall(r"<tr>(.*?)</tr>", table) if "<td>" in tr]


def test_training_rows_are_labelled_by_their_reading(results, tmp_path):
    _training_results(results)
    out = build_report(results, tmp_path / "report")
    text = (out / "index.html").read_text()
    paper = {r[0]: r for r in _table_rows(text, "tasks-paper")}
    assert paper["6a"][1] == "paper" and paper["4/T=100"][1] == "paper"
    assert paper["2a/lstm"][1] == "cap=500,000" and paper["2a/lstm"][9] == "500,000"
    assert paper["2a/bptt/p=100"][1] == "paper"
    other = _table_rows(text, "tasks-other")
    assert [(r[0], r[1], r[2]) for r in other] == [("4/T=100", "st3=squared", "4_T=100__st3=squared.json")]
    # no row appears twice under the same label
    labels = [(r[0], r[1]) for r in [*paper.values(), *other]]
    assert len(labels) == len(set(labels))
    md = (out / "report.md").read_text()
    assert "| `2a/lstm` | cap=500,000 |" in md and "| `4/T=100` | st3=squared | `4_T=100__st3=squared.json` |" in md
    assert "| `4/T=100` | paper |" in md


def test_reading_names_every_departure():
    from lstm_proofs.report.model import run_reading
    from lstm_proofs.training.presets import get_preset

    p = get_preset("4/T=100")
    assert run_reading(p, _run("4/T=100", [1], [True], p.max_sequences)) == "paper"
    assert run_reading(p, _run("4/T=100", [1], [True], 100_000)) == "cap=100,000"
    assert run_reading(p, _run("4/T=100", [1], [True], 100_000, st3_error="squared")) == "st3=squared, cap=100,000"


def _visible_text(page):
    """The page's prose and table text: no style, code, plots or equations."""
    for tag in ("style", "pre", "code", "svg", "math"):
        page = re.sub(rf"<{tag}\b.*?</{tag}>", " ", page, flags=re.S)
    page = re.sub(r'<span class="label">.*?</span>', " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_counts_have_thousands_separators(results, tmp_path):
    _training_results(results)
    text = _visible_text((build_report(results, tmp_path / "report") / "index.html").read_text())
    assert "5,000,000" in text and "313,900" in text and "10,504" in text
    # years and the citation's pages are the only bare numbers of four digits or more
    bare = set(re.findall(r"(?<![\d.,])\d{4,}(?![\d,])", text)) - {"1735", "1780"}
    assert {n for n in bare if not 1900 <= int(n) <= 2099} == set()
    assert _fmt(10504) == "10,504" and _fmt(5_000_000.0) == "5,000,000" and _fmt(999) == "999"
    assert _fmt(3.21e-15) == "3.21e-15" and _fmt(0.25) == "0.25" and _fmt(1234.5) == "1.23e+03"


def test_table_of_contents_links_every_section(results, tmp_path):
    from lstm_proofs.report.html import SECTIONS

    _training_results(results)
    text = (build_report(results, tmp_path / "report") / "index.html").read_text()
    head, body = text.split('<nav class="contents"', 1)
    assert "<h2" not in head  # the contents come before the first section
    nav = body.split("</nav>", 1)[0]
    links = re.findall(r'<a href="#([^"]+)">', nav)
    sections = re.findall(r'<h2 id="([^"]+)"', text)
    assert sections == [anchor for anchor, _ in SECTIONS] and all(s in links for s in sections)
    for sub in ("tasks-paper", "tasks-other", "tasks-figures", *(f"cell-{name}" for name in CELLS)):
        assert sub in links
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))  # unique, also across the inline plots
    assert all(target in ids for target in re.findall(r'href="#([^"]+)"', text))
    assert all(target in ids for target in re.findall(r"url\(#([^)]+)\)", text))


def test_code_blocks_wrap_inside_their_boxes():
    from lstm_proofs.report.html import CSS

    rules = dict(re.findall(r"(?:^|})\s*([^{}]+)\{([^{}]*)\}", CSS))
    pre = next(decl for sel, decl in rules.items() if "pre" in sel.split(","))
    assert "white-space:pre-wrap" in pre and "overflow-wrap:anywhere" in pre


# ----- figures -----

def _study_rows():
    from lstm_proofs.training.study import study

    runs = [_run("6a", [20_000 + 1000 * i for i in range(20)], [True] * 20, 313_900),
            _run("2a/lstm", [4_000] * 9 + [500_000] * 9, [True] * 9 + [False] * 9, 500_000),
            _run("2a/bptt/p=100", [5_000_000] * 18, [False] * 18, 5_000_000),
            _run("5/nseq=13", [900_000] * 9 + [12_730_000], [True] * 9 + [False], 12_730_000)]
    for i, run in enumerate(runs):
        run["path"] = f"run{i}.json"
    return study(runs)


def _figures():
    from lstm_proofs.flow.plot import flow_figure
    from lstm_proofs.report.figures import FIGURE_TABLES, table_figure

    rows = _study_rows()
    figs = [("flow", flow_figure(json.loads((REPO_RESULTS / "flow.json").read_text())))]
    for title, tables in FIGURE_TABLES:
        figs.append((title, table_figure(title, [r for r in rows if r.preset.paper.table in tables])))
    return figs


def test_figure_text_is_legible_at_the_page_width():
    from matplotlib.text import Text

    from lstm_proofs.report.html import COLUMN_PX

    for name, fig in _figures():
        fig.canvas.draw()
        width_px = fig.get_figwidth() * 96
        shown = min(1.0, COLUMN_PX / width_px)  # svg{max-width:100%} shrinks only figures wider than the column
        assert width_px <= COLUMN_PX, name
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert len(texts) > 20, name
        for t in texts:
            assert "$" not in t.get_text(), (name, t.get_text())  # no mathtext: its scripts would be smaller
            assert t.get_fontsize() * 96 / 72 * shown >= 10.0, (name, t.get_text(), t.get_fontsize())


def test_figure_titles_are_in_words():
    for name, fig in _figures():
        titles = [ax.get_title() for ax in fig.axes] + ([fig.get_suptitle()] if fig.get_suptitle() else [])
        assert all(titles), name
        for title in titles:
            assert re.match(r"[A-Z][a-z]+ ", title) and "JSON" not in title and "as listed" not in title, title


def test_reference_marks_are_drawn_beneath_the_data():
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Polygon, Rectangle

    from lstm_proofs.report.figures import REFERENCE

    checked = 0
    for name, fig in _figures():
        for ax in fig.axes:
            data = [ln for ln in ax.lines if ln.get_marker() not in (None, "None", "", " ")]
            data += [c for c in ax.collections if isinstance(c, LineCollection)]  # error bars
            dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
            spans = [p for p in ax.patches if isinstance(p, (Polygon, Rectangle))]
            band = [ln for ln in ax.lines if ln.get_linewidth() >= 5]  # the flow plot's exactly-1 curve
            if not data:  # a table none of whose rows was run
                continue
            checked += 1
            low = min(a.get_zorder() for a in data)
            for ref in dashed + spans + band:
                assert ref.get_zorder() < low, (name, ax.get_title())
            for ln in dashed:
                assert ln.get_linewidth() <= 1.0
            for ln in band:  # wider than every curve drawn on it, and see-through
                assert ln.get_alpha() < 1 and all(ln.get_linewidth() > 3 * d.get_linewidth() for d in data
                                                  if isinstance(d, type(ln)))
            if name != "flow" and ax.get_xscale() == "log":
                assert [ln.get_color() for ln in dashed] == [REFERENCE] and spans
    assert checked >= 8


def test_readings_of_ablate_have_a_section_and_a_figure(results, tmp_path):
    """Runs of ``lstm-proofs ablate`` under results/ablate/<row>/ appear as a readings table per row and the
    figure of internal states drawn from their diagnostics."""
    ablate = results / "ablate" / "6a"
    ablate.mkdir(parents=True)
    samples = [{"sequences": n, "max_abs_state": [1.0 + n / 1000, 0.5], "end_abs_state": [0.5, 0.2],
                "gate_mean": {"in": [0.1, 0.2], "out": [0.3, 0.4]}} for n in (100, 200, 500)]
    for name, solved in (("default", [True] * 20), ("origin=0", [True] * 10 + [False] * 10),
                         ("update=sequence", [True] * 20)):
        run = _run("6a", [20_000 + 1000 * i for i in range(20)], solved, 313_900)
        for t in run["trials"]:
            t["diagnostics"] = {"samples": samples, "end": samples[-1], "error_sites": None}
        (ablate / f"{name}.json").write_text(json.dumps(run))
    out = build_report(results, tmp_path / "report")
    md = (out / "report.md").read_text()
    section = md.split("### Readings of the paper", 1)[1]
    assert "**`6a`**: agrees with the paper under `default`, `update=sequence`." in section
    assert "| `origin=0` | reading | 20 | 313,900 | 10/20 = 50% [27%, 73%]" in section
    assert "![internal states during training](readings-states.svg)" in section
    assert "`update=sequence` as `default` (by construction, bit for bit; the records are identical" in section
    assert ("| `6a` | 100% (implied) | 20/20 at 313,900 | `default`, `update=sequence` | `update=sequence` 20/20 | "
            "`origin=0` (+0 −10 against `default`) | - |") in section
    # paired with the default: 10 trials solved only there, p = 2 / 2**10; update=sequence is its run
    assert "| default: +0 −10 (20); p 0.002, Holm 0.002 |" in section
    assert "| default: +0 −0 (20); the same run by construction |" in section
    assert (out / "readings-states.svg").read_text().startswith("<?xml")
    html_text = (out / "index.html").read_text()
    assert 'id="tasks-readings"' in html_text and 'href="#tasks-readings"' in html_text
    assert "<code>update=sequence</code> as <code>default</code> (by construction, bit for bit;" in html_text
    assert ("<td><code class=\"row\">6a</code></td><td>100% (implied)</td><td>20/20 at 313,900</td>"
            "<td>default, update=sequence</td><td>update=sequence 20/20</td>"
            "<td>origin=0 (+0 −10 against default)</td><td>-</td>") in html_text
    assert 'id="readings-states"' in html_text


DEFAULT_2A = REPO_RESULTS / "ablate" / "2a_lstm" / "default__cap=100000"


@pytest.mark.skipif(not DEFAULT_2A.with_suffix(".weights").is_dir(), reason="no stored 2a weights in results/")
def test_exp2_readings_show_what_the_trained_networks_store(results, tmp_path):
    """An Exp. 2 row whose readings have stored weights gets the storage table (lstm_proofs.flow.storage) in both
    renderings, with the failure of each unsolved trial named by the stated rule."""
    ablate = results / "ablate" / "2a_lstm"
    ablate.mkdir(parents=True)
    shutil.copy(DEFAULT_2A.with_suffix(".json"), ablate)
    shutil.copytree(DEFAULT_2A.with_suffix(".weights"), ablate / DEFAULT_2A.with_suffix(".weights").name)
    out = build_report(results, tmp_path / "report")
    section = (out / "report.md").read_text().split("### Readings of the paper", 1)[1]
    assert "| reading | trials | when | stored | gap | drift |" in section
    unsolved = sum(not t["solved"] for t in json.loads(DEFAULT_2A.with_suffix(".json").read_text())["trials"])
    assert f"| `default__cap=100000` | unsolved ({unsolved}) | end |" in section
    assert "Why a drift is to be expected here" in section and "`default__cap=100000`: stuck by the cells" in section
    html_text = (out / "index.html").read_text()
    assert "<th>net input (cells / rest)</th>" in html_text
    assert "<code>default__cap=100000</code>: stuck by the cells" in html_text and "<em>stuck</em>" in html_text
    xml.dom.minidom.parseString(html_text.split("<!DOCTYPE html>", 1)[-1])  # still well-formed
