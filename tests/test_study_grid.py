"""The job grid, content-hash keys, store/resume and the local executors (with a fast job body)."""

from __future__ import annotations

import dataclasses
import os
import sqlite3

import pytest

from emergence_laws.study import ExecutorSettings, load_study
from emergence_laws.results import ResultsStore, load_results
from emergence_laws.study.grid import build_grid
from emergence_laws.study.runner import StudyFailedError, run_study
from emergence_laws.study.status import grid_status
from emergence_laws.testing.study_files import write_study
from tests.study_support import failing_job, fake_job


@pytest.fixture(scope="module")
def study_yaml(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("study"))


def test_grid_is_checkpoint_times_fewshot_or_amount_times_seed(study_yaml):
    cfg = load_study(study_yaml)
    grid = build_grid(cfg)
    # 2 checkpoints x (1 measure + 2 shots x 1 seed + 2 amounts x 2 seeds)
    assert len(grid.measure) == 2
    assert len(grid.evals) == 2 * (2 + 4)
    keys = [j.key for j in grid]
    assert len(set(keys)) == len(keys)
    cells = {(j.checkpoint.model_id, j.cell) for j in grid.evals}
    assert cells == {(m, c) for m in ("tiny-0-llama", "tiny-1-gpt_neox") for c in ("k=0", "k=1", "n=2", "n=4")}


def test_keys_are_stable_and_change_with_every_input(study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    base = {j.describe(): j.key for j in build_grid(cfg)}
    assert base == {j.describe(): j.key for j in build_grid(load_study(study_yaml))}

    def keys_after(**changes):
        ft = dataclasses.replace(cfg.finetune, **changes)
        return {j.describe(): j.key for j in build_grid(dataclasses.replace(cfg, finetune=ft))}

    changed = keys_after(lr=2e-3)
    ft_jobs = [d for d in base if " full n=" in d]
    assert all(changed[d] != base[d] for d in ft_jobs)  # hyperparameters are in finetuning keys
    assert all(changed[d] == base[d] for d in base if d not in ft_jobs)  # ... and only there

    # the checkpoint's weights are in the key: rewrite one model's weights
    ck = cfg.ladder[0]
    import shutil

    from emergence_laws.testing.tiny_models import save_tiny_model

    other = tmp_path / "copy"
    shutil.copytree(ck.path, other)
    same = dataclasses.replace(cfg, ladder=(dataclasses.replace(ck, path=str(other)), *cfg.ladder[1:]))
    assert {j.describe(): j.key for j in build_grid(same)} == base  # a copy is the same checkpoint
    save_tiny_model(other, arch="llama", seed=123, hidden=16)
    diff = {j.describe(): j.key for j in build_grid(same)}
    assert all(diff[d] != base[d] for d in base if d.startswith(ck.model_id))
    assert all(diff[d] == base[d] for d in base if not d.startswith(ck.model_id))

    # the task's content is in the key: change one test example
    task2 = tmp_path / "task2.jsonl"
    lines = (study_yaml.parent / "task.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace("After", "Following")
    task2.write_text("\n".join(lines) + "\n")
    t2 = {j.describe(): j.key for j in build_grid(dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, path=str(task2))))}
    assert all(t2[d] != base[d] for d in base if "measure" not in d)
    assert all(t2[d] == base[d] for d in base if "measure" in d)


def test_run_resume_skips_finished_jobs_and_store_feeds_fit(study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    store = tmp_path / "r.db"
    df = run_study(cfg, store=store, job_fn=fake_job, progress=False)
    info = df.attrs["study"]
    assert (info["jobs"], info["ran"], info["skipped"], info["failed"]) == (14, 14, 0, 0)
    assert len(df) == 12 * 2  # 12 eval jobs x 2 metrics
    assert df.groupby(["run_key", "metric"]).size().max() == 1
    # scale columns come from the measure jobs and the config
    assert df["pretrain_loss"].notna().all() and df["params"].notna().all()
    row = df[df.model == "tiny-1-gpt_neox"].iloc[0]
    assert row["tokens"] == 2e6 and row["flops"] == pytest.approx(6 * row["params"] * 2e6)
    again = run_study(cfg, store=store, job_fn=fake_job, progress=False)
    assert (again.attrs["study"]["ran"], again.attrs["study"]["skipped"]) == (0, 14)
    assert len(again) == len(df)
    # the lead's loader (used by `emergence fit`) reads the store
    loaded = load_results(store)
    assert len(loaded) == len(df) and set(loaded["metric"]) == {"accuracy", "loglik"}
    status = grid_status(cfg, store=store)
    assert (status.done, status.total) == (14, 14)


def test_no_resume_recomputes_and_replaces(study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    store = tmp_path / "r.db"
    run_study(cfg, store=store, job_fn=fake_job, progress=False)
    df = run_study(cfg, store=store, job_fn=fake_job, progress=False, resume=False)
    assert df.attrs["study"]["ran"] == 14 and len(df) == 24


def test_failed_jobs_are_reported_others_stored_and_retried_on_rerun(study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    store = tmp_path / "r.db"
    with pytest.raises(StudyFailedError) as err:
        run_study(cfg, store=store, job_fn=failing_job, progress=False)
    assert "4 of 14 jobs failed" in str(err.value) and "synthetic failure" in str(err.value)
    log = (tmp_path / "r.failures.log").read_text().splitlines()
    assert len([ln for ln in log if ln.startswith("--- ") and ln.endswith("RuntimeError: synthetic failure")]) == 4
    status = grid_status(cfg, store=store)
    assert status.done == 10
    assert all(cells["n=4"] == (0, 2) and cells["n=2"] == (2, 2) for cells in status.cells.values())
    df = run_study(cfg, store=store, job_fn=fake_job, progress=False)
    assert df.attrs["study"]["ran"] == 4 and len(df) == 24


def test_process_pool_gives_the_same_table(study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    seq = run_study(cfg, store=tmp_path / "a.db", job_fn=fake_job, progress=False)
    pool_cfg = dataclasses.replace(cfg, executor=ExecutorSettings(kind="local", workers=2, threads_per_worker=1))
    par = run_study(pool_cfg, store=tmp_path / "b.db", job_fn=fake_job, progress=False)
    cols = ["run_key", "metric", "value", "pretrain_loss", "params"]
    a = seq[cols].sort_values(["run_key", "metric"]).reset_index(drop=True)
    b = par[cols].sort_values(["run_key", "metric"]).reset_index(drop=True)
    assert a.equals(b)
    # the jobs ran in pool worker processes; how the OS spreads them over the 2 workers is not ours to test
    assert os.getpid() not in set(par["pid"].dropna())


def test_changed_reference_text_remeasures_and_rewrites_scale_columns(study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    store = tmp_path / "r.db"
    run_study(cfg, store=store, job_fn=fake_job, progress=False)
    ref2 = tmp_path / "ref2.txt"
    ref2.write_text("a different held-out text. " * 30)
    cfg2 = dataclasses.replace(cfg, reference=dataclasses.replace(cfg.reference, path=str(ref2)))
    df = run_study(cfg2, store=store, job_fn=fake_job, progress=False)
    assert df.attrs["study"]["ran"] == 2  # only the two measure jobs
    with sqlite3.connect(store) as conn:
        losses = dict(conn.execute("SELECT key, pretrain_loss FROM study_measures").fetchall())
    new = {k: v for k, v in losses.items() if k in {j.key for j in build_grid(cfg2).measure}}
    assert sorted(df.groupby("model")["pretrain_loss"].first()) == sorted(new.values())
    assert len(ResultsStore(store).to_frame()) == 24  # rewritten in place, not duplicated


def test_real_jobs_load_each_checkpoint_once_and_fill_the_table(tmp_path, model_loads):
    import torch

    from emergence_laws.study import jobs

    loads = model_loads
    jobs.clear_caches()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = load_study(write_study(tmp_path, n_train=(2,), seeds=1, shots=(0,), method="lora"))
        df = run_study(cfg, progress=False)
    finally:
        torch.set_num_threads(threads)
        jobs.clear_caches()
    assert sorted(loads) == sorted(ck.path for ck in cfg.ladder)  # one load per checkpoint, measure included
    assert df.attrs["study"]["ran"] == 2 * 3 and len(df) == 2 * 2 * 5
    assert set(df["metric"]) == {"accuracy", "acc_norm", "loglik", "brier", "answer_bpb"}
    assert set(df["method"]) == {"none", "lora"} and set(df["n_train"]) == {0, 2}
    acc = df[df.metric == "accuracy"]
    assert (acc["chance"] == 0.5).all() and (acc["n_eval"] == 8).all()
    assert df["pretrain_loss"].between(0, 20).all() and (df["params"] > 0).all()
    ft = df[df.method == "lora"]
    assert (ft["ft_steps"] == 2).all()  # max_steps from the config reached the finetuner
    assert (df.loc[df.metric == "loglik", "value"] <= 0).all()
