"""threads.py: thread counts from affinity/cgroup/setting, and the executors honour them."""

from __future__ import annotations

import os

import pytest
import torch

from emergence_laws import threads
from emergence_laws.study import Checkpoint, ExecutorSettings, StudyConfig, TaskSource
from emergence_laws.errors import ConfigError, InputError
from emergence_laws.study.executors.local import LocalExecutor, _init_worker


@pytest.fixture
def four_cpus(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(threads, "_cgroup_cpu_limit", lambda root=None: None)
    monkeypatch.delenv(threads.ENV_VAR, raising=False)


def test_precedence_explicit_then_setting_then_available_cpus_per_worker(four_cpus, monkeypatch):
    assert threads.available_cpus() == 4
    assert threads.resolve_threads() == 4
    assert threads.resolve_threads(workers=3) == 1
    assert threads.resolve_threads(workers=8) == 1
    monkeypatch.setenv(threads.ENV_VAR, "2")
    assert threads.resolve_threads(workers=4) == 2
    assert threads.resolve_threads(3) == 3


def test_cgroup_quota_caps_the_affinity_mask(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads._cgroup_cpu_limit(tmp_path) is None
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert threads._cgroup_cpu_limit(tmp_path) == pytest.approx(1.5)
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert threads._cgroup_cpu_limit(v1) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    assert threads._cgroup_cpu_limit(v1) == pytest.approx(3.0)
    monkeypatch.setattr(threads, "_cgroup_cpu_limit", lambda root=None: 1.5)
    assert threads.available_cpus() == 1


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_bad_setting_is_one_line_input_error(monkeypatch, bad):
    monkeypatch.setenv(threads.ENV_VAR, bad)
    with pytest.raises(InputError, match=threads.ENV_VAR):
        threads.resolve_threads()
    with pytest.raises(InputError, match="positive whole number"):
        threads.resolve_threads(0)


def _report_threads(job):
    return [{"job": job, "threads": torch.get_num_threads()}]


def test_single_worker_executor_honours_threads_per_worker_and_restores(monkeypatch):
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    before = torch.get_num_threads()
    ex = LocalExecutor(workers=1, threads_per_worker=3)
    outs = list(ex.run([1, 2], _report_threads))
    assert [o.rows[0]["threads"] for o in outs] == [3, 3]
    assert torch.get_num_threads() == before
    monkeypatch.setenv(threads.ENV_VAR, "2")
    outs = list(LocalExecutor(workers=1).run([1], _report_threads))
    assert outs[0].rows[0]["threads"] == 2
    assert torch.get_num_threads() == before


def test_pool_worker_initialiser_fixes_threads_before_torch_loads(monkeypatch):
    before = torch.get_num_threads()
    from emergence_laws.study.executors import local

    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", threads.ENV_VAR):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(local, "_exit_when_orphaned", lambda parent: None)  # this process is no pool worker
    try:
        _init_worker(2, os.getppid())
        assert os.environ["OMP_NUM_THREADS"] == os.environ[threads.ENV_VAR] == "2"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_threads_per_worker_is_validated(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    (tmp_path / "t.jsonl").write_text('{"prompt": "a", "target": "b"}\n')
    cfg = StudyConfig(ladder=[Checkpoint(str(tmp_path / "m"))], task=TaskSource(str(tmp_path / "t.jsonl")),
                      executor=ExecutorSettings(threads_per_worker=0))
    with pytest.raises(ConfigError, match="threads_per_worker"):
        cfg.validate()


def test_idle_openmp_threads_sleep_unless_the_user_chose_a_policy():
    """`import emergence_laws` sets OMP_WAIT_POLICY=PASSIVE before torch loads (spinning threads collapse
    on a shared machine), child processes get it, and a policy the user set is kept."""
    import subprocess
    import sys

    code = ("import os, sys; import emergence_laws; from emergence_laws.threads import thread_env; "
            "print(os.environ['OMP_WAIT_POLICY'], thread_env(1)['OMP_WAIT_POLICY'])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["PASSIVE", "PASSIVE"]
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ACTIVE", "ACTIVE"]
