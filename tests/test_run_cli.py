"""`emergence run` / `emergence status` as subprocesses on tiny real checkpoints, including kill -9 + resume."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from emergence_laws.study import load_study
from emergence_laws.results import ResultsStore, load_results
from emergence_laws.study.grid import build_grid
from emergence_laws.testing.study_files import write_study
from tests.conftest import HANG_GUARD_S

METRICS = {"accuracy", "acc_norm", "loglik", "brier", "answer_bpb"}


# one torch thread per process: on a shared 2-core machine more threads only contend
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def emergence(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True,
                          text=True, timeout=kw.pop("timeout", HANG_GUARD_S), env=ENV, check=False, **kw)


def _stored_eval_keys(db) -> set[str]:
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return {r[0] for r in conn.execute("SELECT DISTINCT run_key FROM results")}
    except sqlite3.OperationalError:  # table not created yet
        return set()


def test_kill_9_mid_grid_then_resume_stores_every_job_exactly_once(tmp_path):
    study = write_study(tmp_path, archs=("llama",), shots=(0,),
                        extra={"finetune": {"n_train": [2, 4], "seeds": 3, "method": "full", "max_steps": 60,
                                            "batch_size": 2}})
    cfg = load_study(study)
    grid = build_grid(cfg)
    eval_keys = {j.key for j in grid.evals}
    db = cfg.store_path
    assert len(eval_keys) == 1 + 2 * 3

    proc = subprocess.Popen([sys.executable, "-m", "emergence_laws", "run", str(study), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + HANG_GUARD_S
    done: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        done = _stored_eval_keys(db)
        if len(done) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the grid finished before it could be killed: {proc.stderr.read()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=HANG_GUARD_S)
    assert proc.returncode == -signal.SIGKILL
    before = _stored_eval_keys(db)
    assert 2 <= len(before) < len(eval_keys)  # killed mid-way
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    res = emergence("run", study, "--json")  # --resume is the default; --json: the run statistics on stdout
    assert res.returncode == 0, res.stderr
    # the progress bar counts finished jobs (the skipped ones included) up to the grid's size
    assert f"{len(grid)}/{len(grid)} jobs (100%)" in res.stderr  # no terminal: plain progress lines, the last at the end
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["skipped"] >= len(before) + 1  # finished jobs (and the measure job) were not rerun
    assert info["ran"] == len(grid) - info["skipped"] and info["failed"] == 0

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT run_key, metric, value, pretrain_loss FROM results").fetchall()
    assert len(rows) == len(eval_keys) * len(METRICS)  # every job exactly once, all its metrics
    by_job: dict[str, set[str]] = {}
    for key, metric, value, loss in rows:
        assert math.isfinite(value) and math.isfinite(loss)
        by_job.setdefault(key, set()).add(metric)
    assert set(by_job) == eval_keys and all(m == METRICS for m in by_job.values())
    # the rows finished before the kill are the same rows now (not rewritten)
    table = ResultsStore(db).to_frame()
    assert table.groupby(["run_key", "metric"]).size().max() == 1

    status = emergence("status", study, "--json")
    assert status.returncode == 0, status.stderr
    state = json.loads(status.stdout)
    assert (state["done"], state["total"], state["pending"]) == (len(grid), len(grid), 0)

    # `emergence fit`'s loader reads the store; `validate` checks it against the contract
    assert len(load_results(db)) == len(rows)
    val = emergence("validate", db)
    if val.returncode != 2 or "invalid choice" not in val.stderr:  # `validate` exists in this checkout
        assert val.returncode == 0, val.stderr


def test_status_shows_pending_cells_before_running(tmp_path):
    study = write_study(tmp_path)
    res = emergence("status", study)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("study tiny: 0/14 jobs done")
    header = lines[2].split()
    assert header == ["model", "measure", "k=0", "k=1", "n=2", "n=4"]
    assert lines[3].split() == ["tiny-0-llama", "0/1", "0/1", "0/1", "0/2", "0/2"]
    assert lines[4].split()[0] == "tiny-1-gpt_neox"


@pytest.mark.parametrize(("edit", "message"), [
    ({"ladder": [{"path": "models/nope"}]}, "ladder[0].path: folder"),
    ({"finetune": {"n_train": [2, 999]}}, "finetune.n_train: 999 exceeds the 16 training examples"),
    ({"executor": {"kind": "slurm"}}, "executor.kind: 'slurm'; use local or ray"),
    ({"finetun": {}}, "unknown key 'finetun'; did you mean finetune?"),
])
def test_run_reports_config_errors_in_one_line(tmp_path, edit, message):
    import yaml

    study = write_study(tmp_path, archs=("llama",))
    cfg = yaml.safe_load(study.read_text())
    cfg.update(edit)
    study.write_text(yaml.safe_dump(cfg))
    res = emergence("run", study, "--no-progress")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("emergence run: error: study.yaml: ") and message in err[0], err


def test_emergence_fit_reads_the_store_a_study_wrote(tmp_path):
    import math

    from emergence_laws.study import run_study
    from emergence_laws.testing.study_files import LAW, write_law_study
    from tests.study_support import law_job

    cfg = load_study(write_law_study(tmp_path, shots=5))
    df = run_study(cfg, job_fn=law_job, progress=False)
    assert len(df) == 7 * (1 + 4 * 2)
    res = emergence("fit", cfg.store_path, "--json", "--bootstrap", "20")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    truth = LAW["k"] * math.log(5) ** LAW["alpha"] + LAW["C"]  # few-shot elbow E(D0 = shots)
    assert out["n_rows"] == len(df)
    assert abs(out["emergence_point"] - truth) < 0.05


def test_run_prints_json_on_stdout_only_when_asked(tmp_path):
    """The summary goes to stderr; stdout stays empty unless --json (here every job is already stored)."""
    from emergence_laws.study import run_study
    from emergence_laws.testing.study_files import write_law_study
    from tests.study_support import law_job

    study = write_law_study(tmp_path, losses=(4.0, 3.0), n_train=(8, 32))
    run_study(load_study(study), job_fn=law_job, progress=False)
    plain = emergence("run", study, "--no-progress")
    assert plain.returncode == 0 and plain.stdout == "", plain.stderr
    assert "0 jobs run, 12 already done" in plain.stderr
    asked = emergence("run", study, "--no-progress", "--json")
    assert asked.returncode == 0 and json.loads(asked.stdout)["skipped"] == 12
