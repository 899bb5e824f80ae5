"""What a reader sees: the report rendered by headless Chromium.

The report of the repository's results is opened twice at a width of 1,280 px: once as a copy with a measuring script
appended (``--dump-dom``; the report itself has no script), which records the rendered size of every ``<math>`` and
plot, the rendered height of every letter in the plots, the nesting of subscripts, clipped code blocks and dangling
links; and once as it is, for a full-page screenshot, which must show ink wherever the page has a plot or an equation.

Skipped where no Chromium is installed (on Debian: ``apt-get install chromium``), unless ``LSTM_PROOFS_REQUIRE_BROWSER``
is set (CI sets it), in which case a missing browser fails. ``LSTM_PROOFS_CHROMIUM`` names a browser binary. The
screenshot is written to the test's temporary directory and its path printed (``pytest -s``).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lstm_proofs.report import build_report
from lstm_proofs.report.html import COLUMN_PX

RESULTS = Path(__file__).resolve().parents[2] / "results"
WIDTH = 1280  # the window's width in CSS px: wider than the text column with its padding
assert WIDTH > COLUMN_PX + 64


def find_chromium() -> str | None:
    """A Chromium (or Chrome) binary: ``LSTM_PROOFS_CHROMIUM``, then the usual names on the path (Debian's package
    installs ``/usr/bin/chromium``), then the places Debian and Ubuntu put the binary itself."""
    named = os.environ.get("LSTM_PROOFS_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    for path in ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/snap/bin/chromium"):
        if os.access(path, os.X_OK):
            return path
    return None


CHROMIUM = find_chromium()
REQUIRED = bool(os.environ.get("LSTM_PROOFS_REQUIRE_BROWSER"))

#: Appended to a copy of the page: measures what is rendered and writes it, as JSON, into <pre id="probe">.
PROBE = """
(function () {
  const root = document.documentElement;
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return [r.left + scrollX, r.top + scrollY, r.width, r.height];
  };
  const closed = (e) => e.closest("details:not([open])") !== null;
  const size = (e) => parseFloat(getComputedStyle(e).fontSize);
  const out = {client: root.clientWidth, width: root.scrollWidth, height: root.scrollHeight};
  out.math = [...document.querySelectorAll("math")].filter((e) => !closed(e)).map(box);
  out.nested = [...document.querySelectorAll("msub > msub")].filter((e) => !closed(e)).map(
    (inner) => [size(inner.parentElement.firstElementChild), size(inner.firstElementChild),
                size(inner.lastElementChild)]);
  // matplotlib draws each letter as <use> of a glyph path 100 units per em, inside a group g#text_N
  out.svg = [...document.querySelectorAll("svg")].filter((s) => !s.parentElement.closest("svg")).map((s) => {
    const em = [...s.querySelectorAll('g[id*="text_"] use')].map((u) => {
      const m = u.getScreenCTM();
      return 100 * Math.hypot(m.a, m.b);
    });
    return {box: box(s), letters: em.length, smallest: Math.min(...em)};
  });
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const all = [...document.querySelectorAll("math")].map(box);
  out.math_all = all.length;
  out.math_all_empty = all.filter((b) => !(b[2] > 0 && b[3] > 0)).length;
  const pres = [...document.querySelectorAll("pre")];
  out.pre = pres.length;
  out.pre_clipped = pres.filter((p) => p.scrollWidth > p.clientWidth).length;
  out.width_open = root.scrollWidth;
  out.dangling = [...document.querySelectorAll('a[href^="#"]')].map((a) => a.getAttribute("href").slice(1))
    .filter((id) => !document.getElementById(id));
  const pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-background-networking",
             "--no-first-run", "--disable-component-update", "--disable-sync", "--force-device-scale-factor=1",
             f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], check=True, timeout=90, capture_output=True, text=True)


#: Height of one screenshot band: Chromium leaves a screenshot blank beyond about 2^26 pixels (some 52,000 rows at
#: this width), and the report is taller than that.
BAND = 12_000


def _screenshot(tmp_path: Path, page: Path, height: int) -> np.ndarray:
    """The whole page at ``WIDTH`` x ``height`` CSS px, one pixel each, stacked from bands of at most :data:`BAND`
    rows: each band a window of that height onto the page laid out at its full height in a frame shifted up."""
    bands = []
    for top in range(0, height, BAND):
        wrapper, shot = tmp_path / f"band_{top}.html", tmp_path / f"band_{top}.png"
        wrapper.write_text(f'<!doctype html><html><body style="margin:0;overflow:hidden"><iframe src="{page.as_uri()}" '
                           f'scrolling="no" style="position:absolute;left:0;top:{-top}px;width:{WIDTH}px;'
                           f'height:{height}px;border:0"></iframe></body></html>', encoding="utf-8")
        _chromium(tmp_path, f"--window-size={WIDTH},{min(BAND, height - top)}", f"--screenshot={shot}",
                  wrapper.as_uri())
        print(f"screenshot: {shot}")
        with Image.open(shot) as img:
            bands.append(np.asarray(img.convert("RGB")))
    return np.concatenate(bands)


def _ink(pixels: np.ndarray) -> float:
    """The fraction of pixels clearly darker than the page's white."""
    return float((pixels.min(axis=-1) < 200).mean()) if pixels.size else 0.0


@pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason="no Chromium installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    assert CHROMIUM is not None, "LSTM_PROOFS_REQUIRE_BROWSER is set but no Chromium was found"
    out = build_report(RESULTS, tmp_path / "report")
    page = (out / "index.html").read_text()
    plots = len(re.findall(r"<figure[^>]*><svg\b", page))
    assert plots >= 1 and "<math" in page

    probe = out / "probe.html"
    probe.write_text(page.replace("</body>", f"<script>{PROBE}</script></body>"))
    dom = _chromium(tmp_path, f"--window-size={WIDTH},1000", "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    m = json.loads(html.unescape(found.group(1)))

    # the page fits the window: nothing sticks out sideways, with every <details> open too
    assert m["width"] <= m["client"] and m["width_open"] <= m["client"]
    # every equation has a size, shown or inside an opened <details>
    assert m["math"] and all(w > 0 and h > 0 for _, _, w, h in m["math"])
    assert m["math_all"] == page.count("<math") and m["math_all_empty"] == 0
    # nested subscripts are typeset nested: a_{y_c} has y smaller than a, and c smaller again
    assert m["nested"] and all(a > y > c for a, y, c in m["nested"])
    # every plot is laid out, at its natural width, with every letter at least 10 px high
    assert len(m["svg"]) == plots
    for svg in m["svg"]:
        assert svg["box"][2] > 300 and svg["box"][3] > 200 and svg["letters"] > 50
        assert svg["smallest"] >= 10.0, svg
    # no code line is cut off, and every link of the table of contents leads somewhere
    assert m["pre"] >= 1 and m["pre_clipped"] == 0
    assert m["dangling"] == []

    height = int(m["height"])
    pixels = _screenshot(tmp_path, out / "index.html", height)
    assert pixels.shape == (height, WIDTH, 3)
    assert 0.01 < _ink(pixels) < 0.5 and pixels.std() > 20  # a page of text, neither blank nor black
    for x, y, w, h in (s["box"] for s in m["svg"]):  # each plot is painted: ink, and coloured curves
        crop = pixels[int(y):int(y + h), int(x):int(x + w)].astype(int)
        assert _ink(crop) > 0.03
        assert ((crop.max(axis=-1) - crop.min(axis=-1)) > 80).mean() > 0.002
    blank = [(x, y) for x, y, w, h in m["math"] if _ink(pixels[int(y):int(y + h) + 1, int(x):int(x + w) + 1]) == 0]
    assert blank == [], f"equations rendered blank at {blank[:5]}"
