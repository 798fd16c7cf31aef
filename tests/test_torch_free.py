"""The science half runs without torch: importing it, and `fit`/`detect`/`predict`/`validate`, load none."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import HANG_GUARD_S, PUBLIC_DATA

CHECK = """
import sys, contextlib, io
from emergence_laws.cli import main
import emergence_laws.laws, emergence_laws.results, emergence_laws.analysis.table_fit
import emergence_laws.analysis.table_detect, emergence_laws.report.html, emergence_laws.report.plots_fit
import emergence_laws.commands.fit, emergence_laws.commands.backtest, emergence_laws.commands.predict
out = io.StringIO()
with contextlib.redirect_stdout(out):
    codes = [main(argv) for argv in {argvs!r}]
heavy = sorted(m for m in ("torch", "transformers", "peft", "ray") if m in sys.modules)
print(__import__("json").dumps({{"codes": codes, "heavy": heavy}}))
"""


def test_science_half_imports_no_torch(tmp_path):
    law_dir = tmp_path / "fit"
    argvs = [
        ["fit", "example", "--json", "--bootstrap", "20", "--out", str(law_dir)],
        ["predict", "--law", str(law_dir / "prediction.json"), "--loss", "2.5", "--n-train", "64"],
        ["detect", str(PUBLIC_DATA / "openlm_scaling_evals.csv"), "--task", "squad", "--json"],
        ["validate", str(PUBLIC_DATA / "obsscaling_evals.csv")],
    ]
    proc = subprocess.run(
        [sys.executable, "-c", CHECK.format(argvs=argvs)], capture_output=True, text=True, timeout=HANG_GUARD_S, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0]
    assert report["heavy"] == []
