"""Headless-browser rendering of the report (skipped where no Chromium is installed).

To run it: `apt-get install chromium` (Debian), then `python -m pytest tests/report/test_render_browser.py`.
The screenshot is written to the test's temporary directory and its path printed.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from lstm_proofs.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
RESULTS = Path(__file__).resolve().parents[2] / "results"


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    out = build_report(RESULTS, tmp_path / "report")
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,3000",
                    (out / "index.html").as_uri()], check=True, timeout=120, capture_output=True)
    assert shot.exists() and shot.stat().st_size > 50_000  # a rendered page, not a blank one
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", (out / "index.html").as_uri()], check=True, timeout=120,
                         capture_output=True, text=True).stdout
    assert "<math" in dom and "<svg" in dom
    print(f"screenshot: {shot}")
