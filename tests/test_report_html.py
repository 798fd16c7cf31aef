"""The self-contained HTML report, `emergence report`, `emergence detect --out`, and a headless-browser look."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emergence_laws.errors import InputError
from emergence_laws.report.html import render_report
from tests.conftest import HANG_GUARD_S

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class StrictParser(HTMLParser):
    """Collects images and external references; checks every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[dict[str, str]] = []
        self.external: list[str] = []
        self.text: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(a)
        for key in ("src", "href"):
            if key in a and not a[key].startswith(("data:", "#")):
                self.external.append(a[key])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> StrictParser:
    p = StrictParser()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def make_png(path: Path, seed: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot(np.random.default_rng(seed).normal(size=20))
    fig.savefig(path, dpi=50)
    plt.close(fig)
    return path


def test_render_report_is_valid_self_contained_html_with_every_figure(tmp_path):
    figs = [make_png(tmp_path / "curve_one.png", 0), make_png(tmp_path / "curve_two.png", 1)]
    payload = {
        "summary": "two curves <checked> & escaped",
        "x": "flops",
        "series": [{"task": "a<b", "label": "emergent", "scale": 1.5e22, "evidence": {"floor": 0.01}},
                   {"task": "c", "label": "flat", "scale": None, "evidence": {"floor": 0.25}}],
        "nested": {"k": 1, "deeper": {"values": [1, 2, 3]}},
        "empty": [],
        "nan": float("nan"),
    }
    out = render_report(payload, figs, tmp_path / "r" / "report.html", title="Test report", kind="detect",
                        provenance={"data": "/data/results.csv", "config": {"x": "flops"}})
    p = parse(out)
    assert p.doctype
    assert p.errors == [] and p.stack == []
    assert p.external == []  # nothing fetched from outside the file
    assert len(p.images) == len(figs)
    for img, fig in zip(p.images, figs):
        assert img["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(img["src"].split(",", 1)[1]) == fig.read_bytes()
        assert img["data-file"] == fig.name
    text = " ".join(p.text)
    for needle in ("Test report", "two curves <checked> & escaped", "a<b", "/data/results.csv",
                   "emergence-laws", "tool_version", "created", "Raw JSON payload"):
        assert needle in text, needle
    # the raw JSON block round-trips to the payload (NaN -> null)
    raw = out.read_text(encoding="utf-8").split("<pre>", 1)[1].split("</pre>", 1)[0]
    import html

    assert json.loads(html.unescape(raw))["series"][0]["task"] == "a<b"


def test_render_report_captions_from_dict_and_errors(tmp_path):
    fig = make_png(tmp_path / "f.png", 2)
    out = render_report({"a": 1}, {"My caption": fig}, tmp_path / "x.html", title="t", kind="fit", provenance={})
    p = parse(out)
    assert p.images[0]["alt"] == "My caption"
    with pytest.raises(InputError, match="kind"):
        render_report({}, [], tmp_path / "y.html", title="t", kind="bogus", provenance={})
    with pytest.raises(InputError, match="does not exist"):
        render_report({}, [tmp_path / "missing.png"], tmp_path / "y.html", title="t", kind="fit", provenance={})


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emergence_laws", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=HANG_GUARD_S, check=False)


def small_table(path: Path) -> Path:
    """Two tasks on a 16-model ladder by FLOPs, accuracy + loglik, written as CSV."""
    rng = np.random.default_rng(0)
    u = np.linspace(20, 24, 16)
    rows = []
    for i, ui in enumerate(u):
        base = {"model": f"m{i}", "n_train": 0, "shots": 2, "flops": 10**ui, "params": 1e8 * 1.5**i,
                "family": "toy", "n_eval": 1000, "chance": 0.0}
        rows.append({**base, "task": "arith", "metric": "exact_match",
                     "value": rng.binomial(1000, min(0.9, 0.4 * max(ui - 22.5, 0))) / 1000})
        rows.append({**base, "task": "arith", "metric": "loglik", "chance": None,
                     "value": -3.0 + 0.5 * (ui - 20) + rng.normal(0, 0.02)})
        rows.append({**base, "task": "cloze", "metric": "exact_match", "value": 0.1 + 0.12 * (ui - 20)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cli_detect_out_and_report_rerender(tmp_path):
    csv = small_table(tmp_path / "toy.csv")
    out = tmp_path / "det"
    r = cli("detect", str(csv), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "arith" in r.stdout and "emergent" in r.stdout
    assert "loglik improves" in r.stdout
    payload = json.loads((out / "detect.json").read_text())
    labels = {(s["task"], s["metric"]): s["label"] for s in payload["series"]}
    assert labels[("arith", "exact_match")] == "emergent"
    assert labels[("cloze", "exact_match")] == "smooth"
    assert payload["provenance"]["data"] == str(csv.resolve())
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} >= {"emergent.png", "metrics.png"}
    page = parse(out / "report.html")
    assert page.errors == [] and len(page.images) == len(pngs)

    r2 = cli("report", str(out), "--out", str(tmp_path / "again.html"))
    assert r2.returncode == 0, r2.stderr
    again = parse(tmp_path / "again.html")
    assert again.errors == [] and len(again.images) == len(pngs)

    r3 = cli("detect", str(csv), "--json", "--x", "params", "--task", "arith")
    assert r3.returncode == 0, r3.stderr
    js = json.loads(r3.stdout)
    assert js["x"] == "params" and {s["task"] for s in js["series"]} == {"arith"}


def test_cli_errors_are_one_line(tmp_path):
    csv = small_table(tmp_path / "toy.csv")
    one = tmp_path / "one.csv"
    pd.read_csv(csv).query("model == 'm3'").to_csv(one, index=False)
    for args, needle in (
        (("detect", str(one)), "1 model"),
        (("detect", str(csv), "--x", "pretrain_loss"), "no pretrain_loss"),
        (("report", str(tmp_path)), "no result JSON"),
    ):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert needle in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_cli_report_renders_a_fit_folder(tmp_path):
    d = tmp_path / "fit"
    d.mkdir()
    (d / "prediction.json").write_text(json.dumps({"E_pred": 3.21, "interval": [3.1, 3.3],
                                                   "provenance": {"data": "x.csv"}}))
    make_png(d / "law.png", 3)
    r = cli("report", str(d))
    assert r.returncode == 0, r.stderr
    page = parse(d / "report.html")
    assert len(page.images) == 1 and "fit report" in " ".join(page.text)


CHROMIUM = shutil.which("chromium")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    from emergence_laws.analysis.detect import detect_table
    from emergence_laws.report.plots_detect import (
        detect_report_body,
        write_detect_figures,
    )

    df = pd.read_csv(small_table(tmp_path / "toy.csv"))
    payload = detect_table(df, x="flops")
    figs = write_detect_figures(payload, tmp_path)
    html_path = render_report(detect_report_body(payload), figs, tmp_path / "report.html",
                              title="Browser check", kind="detect", provenance={"data": "toy.csv"})
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    r = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         f"--screenshot={shot}", "--window-size=1280,2000", html_path.as_uri()],
        capture_output=True, text=True, timeout=HANG_GUARD_S, check=False,
    )
    assert shot.is_file(), r.stderr[-2000:]
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[:2] == (2000, 1280)
    # the dark header band is drawn at the top, and the page is not blank below it
    assert im[:40, :, :].mean() < 80
    body = im[200:1600]
    assert len(np.unique(body.reshape(-1, 3), axis=0)) > 200  # plots and text, not an empty page
