"""kill -9 of a study's driver leaves no orphans: the pool workers and the resource tracker exit too.

A real driver process runs a real spawn pool (`LocalExecutor(workers=2)`, the executor behind
`emergence run --workers 2`); the job body is the test's fake job, sleeping long enough that both
workers are busy when the driver is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from emergence_laws.testing.study_files import write_law_study
from tests.conftest import HANG_GUARD_S, REPO

psutil = pytest.importorskip("psutil")  # installed with peft/accelerate

DRIVER = """
import sys
if __name__ == "__main__":  # spawn re-imports this file in every worker
    from emergence_laws.study import load_study
    from emergence_laws.study.executors.local import LocalExecutor
    from emergence_laws.study.runner import run_study
    from tests.study_support import fake_job
    run_study(load_study(sys.argv[1]), executor=LocalExecutor(workers=2), job_fn=fake_job, progress=False)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_kill_9_of_the_driver_leaves_no_pool_worker_or_resource_tracker(tmp_path):
    study = write_law_study(tmp_path, losses=(4.0, 3.7), n_train=(8, 32))
    (tmp_path / "driver.py").write_text(DRIVER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FAKE_JOB_SECONDS": "600",  # jobs outlive the test
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    with open(tmp_path / "driver.log", "w") as log:
        driver = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(study)], cwd=REPO, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    children: list[int] = []
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:  # until both workers (and the tracker) are up
            kids = psutil.Process(driver.pid).children(recursive=True)
            workers = [k for k in kids if "spawn_main" in " ".join(k.cmdline())]
            if len(workers) == 2:
                children = [k.pid for k in kids]
                break
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()[-2000:]
            time.sleep(0.2)
        assert len(children) >= 2, "the pool never started"
        time.sleep(1.0)  # both workers are now inside a 600 s job
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=HANG_GUARD_S)
        deadline = time.monotonic() + 120  # a hang guard: they exit within a second when they notice
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in children if _alive(pid)]
        assert not left, f"orphans left alive after kill -9 of the driver: {left}"
    finally:
        if driver.poll() is None:
            driver.kill()
        for pid in children:  # only the processes this test started
            if _alive(pid):
                psutil.Process(pid).kill()
