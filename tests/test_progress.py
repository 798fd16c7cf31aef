"""progress.py: tqdm on a terminal, periodic plain lines elsewhere; per-batch/step progress and the
training loss inside study jobs."""

from __future__ import annotations

import io

import pytest

from emergence_laws.study import load_study
from emergence_laws.finetuning import FinetuneConfig, finetune
from emergence_laws.progress import (
    Progress,
    format_duration,
    progress_enabled,
    show_progress,
)
from emergence_laws.study import jobs, run_study
from emergence_laws.tasks import Example, TaskSpec
from emergence_laws.testing.study_files import write_study
from emergence_laws.testing.tiny_models import build_tiny_model

pytestmark = pytest.mark.usefixtures("one_thread")


class _Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_without_a_terminal_lines_come_every_interval_and_at_the_end(monkeypatch):
    monkeypatch.delenv("EMERGENCE_PROGRESS", raising=False)
    out = _Pipe()
    with Progress(4, "score", "batch", enabled=True, stream=out, interval=0.0) as bar:
        for _ in range(4):
            bar.update(1, loss=0.5)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("emergence: score 1/4 batches (25%)") and "loss=0.5" in lines[0]
    assert lines[-1].startswith("emergence: score 4/4 batches (100%)") and "done in" in lines[-1]
    quiet = _Pipe()
    with Progress(4, "score", "batch", enabled=True, stream=quiet, interval=3600.0) as bar:
        bar.update(4)
    assert quiet.getvalue() == ""  # short work, nothing printed
    off = _Pipe()
    with Progress(4, "score", enabled=False, stream=off, interval=0.0) as bar:
        bar.update(4)
    assert off.getvalue() == ""


def test_process_setting_and_environment_override(monkeypatch):
    assert not progress_enabled()
    with show_progress():
        assert progress_enabled()
        monkeypatch.setenv("EMERGENCE_PROGRESS", "off")
        out = _Pipe()
        with Progress(2, "x", stream=out, interval=0.0) as bar:
            bar.update(2)
        assert out.getvalue() == ""
    assert not progress_enabled()
    assert (format_duration(42), format_duration(185), format_duration(3725)) == ("42s", "3m05s", "1h02m")


def test_finetuning_shows_steps_and_the_training_loss(capsys, monkeypatch):
    monkeypatch.setenv("EMERGENCE_PROGRESS", "lines")
    monkeypatch.setenv("EMERGENCE_PROGRESS_INTERVAL", "0")
    model, tok = build_tiny_model("llama", seed=1)
    tok.pad_token = tok.eos_token
    ex = tuple(Example(prompt=f"Q: {w}\nA:", target=t) for w, t in [("cat", "dog"), ("tree", "apple")])
    stats: dict = {}
    finetune(model, tok, TaskSpec("t", "generation", ex, ex), ex,
             FinetuneConfig(max_steps=3, batch_size=1, lr=1e-3), progress=True, stats=stats)
    err = capsys.readouterr().err.splitlines()
    steps = [ln for ln in err if ln.startswith("emergence: finetune")]
    assert [s.split()[2] for s in steps[:3]] == ["1/3", "2/3", "3/3"] and all("loss=" in s for s in steps)
    assert len(stats["losses"]) == 3 and stats["final_loss"] == stats["losses"][-1]


def test_study_jobs_report_batches_and_loss_when_run_in_process(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EMERGENCE_PROGRESS", "lines")
    monkeypatch.setenv("EMERGENCE_PROGRESS_INTERVAL", "0")
    cfg = load_study(write_study(tmp_path, archs=("llama",), n_train=(2,), seeds=1, shots=(0,)))
    jobs.clear_caches()
    try:
        run_study(cfg, progress=True)
    finally:
        jobs.clear_caches()
    err = capsys.readouterr().err
    assert "emergence: loglikelihood " in err and "emergence: finetune " in err and "loss=" in err
    assert "emergence: tiny 3/3 jobs (100%)" in err
    assert not progress_enabled()  # the runner restores the process setting
