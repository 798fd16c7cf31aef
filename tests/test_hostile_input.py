"""Hostile and broken input through the real CLI: one line, the right exit code, nothing run or written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
HOSTILE = "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}{{q}}"


def emergence(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emergence_laws", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=cwd, check=False)


def write_hostile_study(root: Path) -> Path:
    """A study whose lm-eval task YAML carries a shell command in a template (the checkpoint is a stub:
    nothing may get as far as loading it)."""
    (root / "ck").mkdir(parents=True)
    (root / "ck" / "config.json").write_text("{}")
    rows = [{"q": f"{i}+1", "ans": str(i + 1)} for i in range(4)]
    for split in ("train", "test"):
        (root / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (root / "task.yaml").write_text(
        "task: evil\ndataset_path: json\ndataset_kwargs: {data_files: {train: train.jsonl, test: test.jsonl}}\n"
        f"test_split: test\ntraining_split: train\noutput_type: generate_until\ndoc_to_text: {json.dumps(HOSTILE)}\n"
        "doc_to_target: ans\n")
    (root / "study.yaml").write_text("ladder: [ck]\ntask: task.yaml\nfewshot: {shots: [0]}\n"
                                     "finetune: {n_train: [2], seeds: 1}\n")
    return root / "study.yaml"


def test_template_in_a_task_file_runs_nothing_in_status_dry_run_or_run(tmp_path):
    study = write_hostile_study(tmp_path)
    for args in (("status", study), ("run", study, "--dry-run")):  # these render no template at all
        res = emergence(*args, cwd=tmp_path)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        assert "0/3 jobs done" in res.stdout
    res = emergence("run", study, "--no-progress", cwd=tmp_path)  # renders, sandboxed, before any job
    err = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(err) == 1, res.stderr
    assert err[0].startswith("emergence run: error: ") and "is refused" in err[0] and "sandboxed" in err[0]
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "study.db").exists()  # nothing half-written
