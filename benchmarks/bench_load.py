"""`emergence demo` alone and beside a CPU-bound competitor: both times and their ratio (issue 29).

    python benchmarks/bench_load.py                          # --quick, a busy-loop competitor at nice 19
    python benchmarks/bench_load.py --competitor demo        # beside a second (niced) quick demo
    python benchmarks/bench_load.py --env OMP_WAIT_POLICY=ACTIVE   # the measured demo with spinning threads

Each measured run starts from a cold cache of its own (a fresh temporary folder), so it pretrains its
ladder and runs its grid: the time is the whole demo's. The competitor starts before the measured run
and is killed after it. Prints one JSON line per run and a summary line with the ratio; `--out` also
writes them as JSON, stamped with the commit, the CPU model and the load before the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emergence_laws.provenance import cpu_model, git_commit

BUSY = "while True: pass"


def demo_command(preset: str, folder: Path) -> list[str]:
    cmd = [sys.executable, "-m", "emergence_laws", "demo", "--cache", str(folder / "cache"), "--out",
           str(folder / "out"), "--no-progress"]
    return cmd + (["--quick"] if preset == "quick" else [])


def start_competitor(kind: str, nice: int, preset: str, folder: Path) -> subprocess.Popen:
    if kind == "busy":
        cmd = [sys.executable, "-c", BUSY]
    else:  # a second demo, over and over, each from a cold cache
        loop = (f"import subprocess, shutil, sys\nwhile True:\n    shutil.rmtree({str(folder)!r}, ignore_errors=True)\n"
                f"    subprocess.run({demo_command(preset, folder)!r}, stdout=subprocess.DEVNULL, "
                "stderr=subprocess.DEVNULL)\n")
        cmd = [sys.executable, "-c", loop]
    return subprocess.Popen(["nice", "-n", str(nice), *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def timed_demo(preset: str, env: dict[str, str], label: str) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(demo_command(preset, folder), env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"bench_load: the {label} demo failed (exit {proc.returncode}): "
                             f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        pred = json.loads((folder / "out" / "prediction.json").read_text())
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"run": label, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "threads": pred.get("threads"),
                "timings_s": pred.get("timings_s"), "error_nats": pred.get("error_nats")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=("quick", "default"), default="quick")
    p.add_argument("--competitor", choices=("busy", "demo"), default="busy")
    p.add_argument("--nice", type=int, default=19, help="the competitor's niceness (default: %(default)s)")
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="environment of the measured demo (e.g. OMP_WAIT_POLICY=ACTIVE, EMERGENCE_THREADS=2)")
    p.add_argument("--out", default=None, help="write the runs as JSON here")
    args = p.parse_args(argv)
    env = dict(os.environ)
    for item in args.env:
        k, sep, v = item.partition("=")
        if not sep:
            p.error(f"--env {item!r}: give K=V")
        env[k] = v
    load = os.getloadavg()
    runs = [timed_demo(args.preset, env, "alone")]
    print(json.dumps(runs[-1]), flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-competitor-"))
    comp = start_competitor(args.competitor, args.nice, args.preset, scratch)
    try:
        time.sleep(2.0)
        runs.append(timed_demo(args.preset, env, f"beside a {args.competitor} competitor at nice {args.nice}"))
    finally:
        os.killpg(comp.pid, signal.SIGKILL)
        comp.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(runs[-1]), flush=True)
    summary = {"preset": args.preset, "competitor": args.competitor, "nice": args.nice, "env": args.env,
               "ratio": round(runs[1]["wall_s"] / runs[0]["wall_s"], 2), "commit": git_commit(), "cpu": cpu_model(),
               "cpus": os.cpu_count(), "load_before": [round(x, 2) for x in load]}
    print(json.dumps(summary), flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
