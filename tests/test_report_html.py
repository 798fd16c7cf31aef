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

#: Flags for a quiet, self-contained headless run: no sandbox (CI runs as root), no GPU, no network
#: chatter, no first-run UI; a fresh --user-data-dir is added per launch.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")

#: Every <img> of the page, decoded: {file, ok, width, height, error}. `decode()` rejects for an image
#: that cannot be loaded or decoded, so a broken data: URI shows as ok = false.
FIGURES_JS = """Promise.all(Array.from(document.images).map(img => img.decode().then(
    () => ({file: img.dataset.file || img.alt, ok: img.complete && img.naturalWidth > 0,
            width: img.naturalWidth, height: img.naturalHeight, error: null}),
    e => ({file: img.dataset.file || img.alt, ok: false, width: 0, height: 0, error: String(e)}))))"""


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    the browser reads JSON commands, each ended by a NUL byte, on fd 3 and writes replies and events
    on fd 4). No websocket, no extra package, no network."""

    def __init__(self, exe: str, profile: Path) -> None:
        import fcntl
        import os

        def high(fd: int) -> int:  # a copy at fd >= 10, so the redirections below cannot clobber it
            copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
            os.close(fd)
            return copy

        to_browser_r, self._to_browser = map(high, os.pipe())
        self._from_browser, from_browser_w = map(high, os.pipe())
        # the browser's fds 3 and 4: bash redirects them before exec (no preexec_fn in a threaded process)
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def _read_message(self, deadline: float) -> dict:
        import os
        import select
        import time

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from chromium")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"chromium closed its pipe: {self.proc.stderr.read()[-2000:]!r}")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, *, session: bool = False, **params) -> dict:
        """Send one command and return its result; events that arrive meanwhile go to `self.events`."""
        import os
        import time

        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        import time

        deadline = time.monotonic() + HANG_GUARD_S
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == self.session:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def open(self, url: str) -> tuple[list[dict], list[str]]:
        """Load `url`; return its figures (FIGURES_JS) and every console error, uncaught exception or
        error-level browser log entry (a resource that failed to load, a blocked request) it caused."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        figures = self.call("Runtime.evaluate", session=True, expression=FIGURES_JS,
                            awaitPromise=True, returnByValue=True)["result"]["value"]
        self.call("Runtime.evaluate", session=True, expression="0")  # every earlier event has arrived
        errors = []
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append(f"log ({p['entry']['source']}): {p['entry']['text']}")
        return figures, errors

    def close(self) -> None:
        import os

        try:
            self.call("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.proc.stderr.close()


@pytest.fixture
def chromium(tmp_path):
    browser = Chromium(CHROMIUM, tmp_path / "chromium-profile")
    yield browser
    browser.close()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian chromium (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path, chromium):
    """A detect report opened in headless Chromium: every figure loads and decodes to its PNG's size,
    and the page logs no console error, exception or failed load."""
    from PIL import Image

    from emergence_laws.analysis.table_detect import detect_table
    from emergence_laws.report.plots_detect import (
        detect_report_body,
        write_detect_figures,
    )

    df = pd.read_csv(small_table(tmp_path / "toy.csv"))
    payload = detect_table(df, x="flops")
    figs = write_detect_figures(payload, tmp_path)  # {caption: PNG path}
    assert len(figs) >= 2
    html_path = render_report(detect_report_body(payload), figs, tmp_path / "report.html",
                              title="Browser check", kind="detect", provenance={"data": "toy.csv"})

    figures, errors = chromium.open(html_path.as_uri())
    assert errors == []
    sizes = {}
    for fig in figs.values():
        with Image.open(fig) as im:
            sizes[Path(fig).name] = im.size
    assert sorted(f["file"] for f in figures) == sorted(sizes)
    for f in figures:
        assert f["ok"], f
        assert (f["width"], f["height"]) == sizes[f["file"]], f


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian chromium (apt-get install chromium)")
def test_headless_check_sees_a_broken_figure_and_console_errors(tmp_path, chromium):
    """The check above can fail: a page with a broken image, a console.error and an uncaught exception
    is reported as such."""
    good = base64.b64encode(make_png(tmp_path / "good.png", 4).read_bytes()).decode()
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>bad</title></head><body>"
        f"<img data-file='good.png' alt='good' src='data:image/png;base64,{good}'>"
        "<img data-file='broken.png' alt='broken' src='data:image/png;base64,AAAA'>"
        "<script>console.error('boom'); null.field;</script></body></html>", encoding="utf-8")
    figures, errors = chromium.open(page.as_uri())
    by_file = {f["file"]: f for f in figures}
    assert by_file["good.png"]["ok"] and not by_file["broken.png"]["ok"]
    assert any(e.startswith("console: boom") for e in errors), errors
    assert any(e.startswith("exception: TypeError") for e in errors), errors
