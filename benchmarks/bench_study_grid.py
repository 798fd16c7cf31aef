"""Job-grid benchmarks (issue 4): driver overhead per job, and executors side by side.

    python benchmarks/bench_study_grid.py [--skip-ray]

1. overhead: a 10-checkpoint x (1 few-shot + 8 amounts x 5 seeds) grid (420 jobs) whose job body
   returns fixed rows instantly: (wall - time inside jobs) / jobs = grid overhead per job
   (key hashing, SQLite transaction with fsync per job, progress, executor round trip).
   Also the time to skip the whole grid on resume.
2. executors: the same tiny real grid (2 tiny checkpoints, Llama + GPT-NeoX; measure + 2 few-shot
   + 2 amounts x 2 seeds of full finetuning, --steps each (default 20) = 14 jobs) run by local (1 process),
   local (2-process pool) and Ray (local cluster, 2 CPUs); wall time includes worker start-up.
Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path



def instant_job(job) -> list[dict]:
    if job.kind == "measure":
        return [{"pretrain_loss": 3.0, "params": 1000}]
    return [{"model": job.checkpoint.model_id, "task": "t", "metric": m, "value": 0.5, "n_train": job.n_train,
             "shots": job.shots, "seed": job.seed, "method": job.method} for m in ("accuracy", "loglik")]


def bench_overhead(root: Path) -> None:
    from emergence_laws.study import load_study, run_study
    from emergence_laws.testing.study_files import write_law_study

    path = write_law_study(root / "overhead", losses=tuple(4.0 - 0.2 * i for i in range(10)),
                           n_train=(2, 4, 8, 16, 32, 64, 128, 256))
    cfg = load_study(path)
    cfg = dataclasses.replace(cfg, finetune=dataclasses.replace(cfg.finetune, seeds=(0, 1, 2, 3, 4)))
    t = time.perf_counter()
    df = run_study(cfg, job_fn=instant_job, progress=False)
    wall = time.perf_counter() - t
    info = df.attrs["study"]
    t = time.perf_counter()
    again = run_study(cfg, job_fn=instant_job, progress=False)
    resume_wall = time.perf_counter() - t
    print(json.dumps({"bench": "grid_overhead", "jobs": info["jobs"], "rows": len(df), "wall_s": round(wall, 3),
                      "inside_jobs_s": info["job_seconds"],
                      "overhead_ms_per_job": round(1000 * (wall - info["job_seconds"]) / info["jobs"], 2),
                      "resume_skip_all_s": round(resume_wall, 3), "resumed_ran": again.attrs["study"]["ran"]}))


def bench_executors(root: Path, with_ray: bool, steps: int = 20) -> None:
    from emergence_laws.study import ExecutorSettings, load_study, run_study
    from emergence_laws.testing.study_files import write_study

    path = write_study(root / f"tiny{steps}", extra={"finetune": {"n_train": [2, 4], "seeds": 2, "method": "full",
                                                                  "max_steps": steps, "batch_size": 2}})
    cfg = load_study(path)
    runs = [("local-1", ExecutorSettings(kind="local", workers=1)),
            ("local-pool-2", ExecutorSettings(kind="local", workers=2, threads_per_worker=1))]
    if with_ray:
        runs.append(("ray-2cpu", ExecutorSettings(kind="ray", num_cpus=1)))
    ref = None
    for name, ex in runs:
        store = root / f"{name}-{steps}.db"
        t = time.perf_counter()
        if name.startswith("ray"):
            import ray

            ray.init(num_cpus=2, include_dashboard=False, address="local", log_to_driver=False)
        df = run_study(dataclasses.replace(cfg, executor=ex), store=store, progress=False)
        wall = time.perf_counter() - t
        if name.startswith("ray"):
            ray.shutdown()
        vals = df.sort_values(["run_key", "metric"])["value"].to_numpy()
        ref = vals if ref is None else ref
        print(json.dumps({"bench": "executor", "executor": name, "finetune_steps": steps,
                          "jobs": df.attrs["study"]["jobs"],
                          "wall_s": round(wall, 2), "inside_jobs_s": df.attrs["study"]["job_seconds"],
                          "max_abs_diff_vs_local": float(abs(vals - ref).max()),
                          "torch_threads_driver": int(os.environ.get("OMP_NUM_THREADS", "0") or 0)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--only", choices=("overhead", "executors"))
    ap.add_argument("--steps", type=int, default=20, help="finetuning steps per job in the executor grid")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.only in (None, "overhead"):
            bench_overhead(root)
        if args.only in (None, "executors"):
            bench_executors(root, with_ray=not args.skip_ray, steps=args.steps)


if __name__ == "__main__":
    main()
