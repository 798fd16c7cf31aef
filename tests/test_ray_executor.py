"""The Ray executor on a real local Ray cluster (loopback, 2 CPUs => 2 workers)."""

from __future__ import annotations

import dataclasses
import functools
import os
import subprocess
import sys

import pytest

ray = pytest.importorskip("ray")

from emergence_laws.study import ExecutorSettings, load_study
from emergence_laws.study.executors.ray_executor import RayExecutor
from emergence_laws.study.runner import StudyFailedError, run_study
from emergence_laws.testing.study_files import write_study
from tests import study_support
from tests.study_support import crash_once_job, fake_job, slow_fake_job

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, address="local", log_to_driver=False)
    # test helpers travel to the workers by value (tests/ is not on the workers' path)
    ray.cloudpickle.register_pickle_by_value(study_support)
    yield
    ray.cloudpickle.unregister_pickle_by_value(study_support)
    ray.shutdown()


@pytest.fixture(scope="module")
def study_yaml(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("raystudy"))


def _values(df):
    cols = ["run_key", "metric", "value", "pretrain_loss", "params"]
    return df[cols].sort_values(["run_key", "metric"]).reset_index(drop=True)


def test_ray_runs_the_grid_on_two_workers_and_matches_local(ray_cluster, study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    local = run_study(cfg, store=tmp_path / "local.db", job_fn=fake_job, progress=False)
    ex = RayExecutor(num_cpus=1)
    df = run_study(cfg, store=tmp_path / "ray.db", executor=ex, job_fn=slow_fake_job, progress=False)
    assert df.attrs["study"]["ran"] == 14
    assert _values(df).equals(_values(local))
    # the jobs ran in Ray worker processes (how Ray spreads them over its workers is not ours to test)
    assert os.getpid() not in set(df["pid"].dropna())
    again = run_study(cfg, store=tmp_path / "ray.db", executor=ex, job_fn=slow_fake_job, progress=False)
    assert again.attrs["study"]["skipped"] == 14 and again.attrs["study"]["ran"] == 0


def test_ray_retries_a_job_whose_worker_died(ray_cluster, study_yaml, tmp_path):
    cfg = load_study(study_yaml)
    # one checkpoint, few-shot only: 1 measure + 2 few-shot jobs (each crash costs a worker restart)
    small = dataclasses.replace(cfg, ladder=cfg.ladder[:1], finetune=dataclasses.replace(cfg.finetune, n_train=()))
    markers = tmp_path / "markers"
    markers.mkdir()
    fn = functools.partial(crash_once_job, str(markers))
    df = run_study(small, store=tmp_path / "a.db", executor=RayExecutor(max_retries=1), job_fn=fn, progress=False)
    assert df.attrs["study"]["ran"] == 3 and len(df) == 2 * 2
    assert len(list(markers.iterdir())) == 3  # every job crashed its worker once, then succeeded on retry

    markers2 = tmp_path / "markers2"
    markers2.mkdir()
    fn2 = functools.partial(crash_once_job, str(markers2))
    with pytest.raises(StudyFailedError, match="ray task failed after 0 retries") as err:
        run_study(small, store=tmp_path / "b.db", executor=RayExecutor(max_retries=0), job_fn=fn2, progress=False)
    # the measure job was lost, so its checkpoint's evaluations were skipped, not run without a loss
    assert "3 of 3 jobs failed" in str(err.value)


def test_ray_runs_real_jobs_like_the_local_executor(ray_cluster, tmp_path):
    yaml_path = write_study(tmp_path / "s", archs=("llama",), n_train=(2,), seeds=1, shots=(0,))
    cfg = load_study(yaml_path)
    local = run_study(cfg, store=tmp_path / "local.db", progress=False)
    ray_cfg = dataclasses.replace(cfg, executor=ExecutorSettings(kind="ray", num_cpus=1))
    df = run_study(ray_cfg, store=tmp_path / "ray.db", progress=False)
    assert len(df) == len(local) == 2 * 5  # fewshot + finetune: accuracy, acc_norm, loglik, brier, answer_bpb
    a, b = _values(local), _values(df)
    assert (a["run_key"] == b["run_key"]).all() and (a["metric"] == b["metric"]).all()
    assert a["value"].to_numpy() == pytest.approx(b["value"].to_numpy(), rel=1e-5, abs=1e-6)
    assert a["pretrain_loss"].to_numpy() == pytest.approx(b["pretrain_loss"].to_numpy(), rel=1e-6)


def test_ray_is_not_imported_unless_chosen():
    code = ("import sys, emergence_laws.study.runner, emergence_laws.study.executors.local, "
            "emergence_laws.commands.run, emergence_laws.commands.status; "
            "from emergence_laws.study.executors import make_executor; make_executor('local'); "
            "assert 'ray' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)
