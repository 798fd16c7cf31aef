"""`emergence run study.yaml`: measure, evaluate and finetune a ladder of checkpoints; resumable."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a study's job grid (measure, few-shot, finetune) into a SQLite results store",
        description=(
            "Run every job of a study config: per checkpoint, its parameter count and pretraining loss "
            "(nats/token on the reference text), few-shot evaluations, and finetuning on each data amount "
            "x seed followed by evaluation. Results go into the study's SQLite store as each job finishes; "
            "rerunning skips finished jobs (--resume, the default). Then: `emergence fit STORE.db`."
        ),
    )
    p.add_argument("study", help="study config YAML (see examples/)")
    p.add_argument("--store", help="results store to write (default: the config's `store`, else <name>.db beside it)")
    p.add_argument("--executor", choices=("local", "ray"), help="override executor.kind")
    p.add_argument("--workers", type=int, help="local executor: number of processes (1 = in this process)")
    p.add_argument("--threads", type=int, help="torch threads per worker (overrides executor.threads_per_worker; "
                                               "default: $EMERGENCE_THREADS, else the CPUs this process may use // workers)")
    p.add_argument("--ray-address", help="ray executor: cluster address (e.g. auto); default: start a local Ray")
    p.add_argument("--num-cpus", type=float, help="ray executor: CPUs per job")
    p.add_argument("--num-gpus", type=float, help="ray executor: GPUs per job")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="resume", action="store_true", default=True,
                        help="skip jobs already in the store (default)")
    resume.add_argument("--no-resume", dest="resume", action="store_false",
                        help="rerun every job and replace its stored rows")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--export", help="also write the study's rows to this CSV/Parquet file")
    p.add_argument("--json", action="store_true", help="print the run's statistics as one JSON object on stdout")
    p.add_argument("--dry-run", action="store_true",
                   help="check the config, device and output paths, list the jobs (and whether done) and the hub "
                        "ids, and exit; renders no task template")
    p.set_defaults(func=run)


def check_outputs(cfg, args: argparse.Namespace) -> None:
    """The store and --export paths can be written (a dry run leaves no folder behind it made)."""
    from pathlib import Path

    from emergence_laws.paths import check_output_file
    from emergence_laws.results.export import check_export_path

    checks = [(cfg.store_path, "--store" if args.store else f"{cfg.source}: store", check_output_file)]
    if args.export:
        checks.append((Path(args.export), "--export", check_export_path))
    for path, flag, check in checks:
        missing = []  # folders the check may create, removed again on a dry run
        parent = Path(path).expanduser().parent
        while not parent.exists() and parent != parent.parent:
            missing.append(parent)
            parent = parent.parent
        try:
            check(path, flag)
        finally:
            if args.dry_run:
                for folder in missing:
                    try:
                        folder.rmdir()
                    except OSError:
                        pass


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import sys

    from emergence_laws.study.config_yaml import load_study

    cfg = load_study(args.study)
    ex = cfg.executor
    overrides = {k: v for k, v in {"kind": args.executor, "workers": args.workers, "address": args.ray_address,
                                   "num_cpus": args.num_cpus, "num_gpus": args.num_gpus,
                                   "threads_per_worker": args.threads}.items() if v is not None}
    if overrides:
        ex = dataclasses.replace(ex, **overrides)
    cfg = dataclasses.replace(cfg, executor=ex, store=args.store or cfg.store).validate()

    # everything the run would refuse is checked now (and by --dry-run), not after the grid has run
    from emergence_laws.tasks.task_files import check_extract

    check_extract(cfg.task.path, cfg.task.extract, f"{cfg.source}: task.extract")  # reads, renders nothing
    check_outputs(cfg, args)
    if ex.kind == "local":  # ray workers bring their own devices
        from emergence_laws.devices import check_device

        check_device(cfg.eval.device, f"{cfg.source}: eval.device", "eval.device: auto (or cpu)")

    if args.dry_run:
        from emergence_laws.commands.status import hub_line
        from emergence_laws.study.status import grid_status

        print(grid_status(cfg).format())
        line = hub_line(cfg)
        if line:
            print(line)
        return 0

    from emergence_laws.study.runner import run_study

    df = run_study(cfg, resume=args.resume, progress=not args.no_progress)
    info = df.attrs.get("study", {})
    print(f"emergence run: {info.get('ran', 0)} jobs run, {info.get('skipped', 0)} already done, "
          f"{info.get('jobs', 0)} in the grid; {len(df)} rows for this study in {info.get('store')} "
          f"({info.get('seconds', 0):.1f} s)", file=sys.stderr)
    if args.export:
        from emergence_laws.results import export_table

        path = export_table(df, args.export)
        print(f"emergence run: wrote {len(df)} rows to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(info))
    print(f"next: emergence fit {info.get('store')}", file=sys.stderr)
    return 0
