"""`emergence eval MODEL TASK`: evaluate one checkpoint, or a folder of them, on a task; no study file needed.

A thin front end over the study runner: the flags make a one-task `StudyConfig` (MODEL's checkpoints as
the ladder), `run_study` runs it through the one job body, and this prints and writes its rows."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emergence_laws.errors import InputError

DESCRIPTION = """\
Evaluate MODEL (a Hugging Face folder, a .gguf file, or a folder of checkpoints: each subfolder with
config.json and each .gguf file) on TASK (JSONL, an lm-eval task YAML over local files, or a BIG-bench
task.json) at each --shots, --seed and --format; optionally after finetuning on --finetune N training
examples (each checkpoint x seed finetuned once, then evaluated at every --shots). It runs as a one-task
study: the same jobs, rows and keys as `emergence run`. Prints one line per metric with its standard
error (binomial for accuracies) and Wilson 95% interval. --out DIR writes results.csv (the results
table: fit/detect read it when --reference gave pretraining losses) and examples.jsonl (per example:
the exact context, log-likelihoods, generation; kept by default for runs of at most 1000 examples);
--store adds both to a SQLite results store."""


def _choices(cls: type, name: str) -> tuple:
    """The values a settings field allows (its `Options` constraint): one list for the YAML and the flags."""
    from emergence_laws.constraints import Options

    return next(c.values for c in cls._parameter_constraints[name] if isinstance(c, Options))


def add_parser(subparsers) -> argparse.ArgumentParser:
    from emergence_laws.devices import DEVICE_NAMES
    from emergence_laws.finetuning.settings import DEFAULT_LR
    from emergence_laws.study.config import EvalSettings, FewshotGrid, FinetuneGrid, TaskSource

    ev = EvalSettings()
    p = subparsers.add_parser("eval", help="evaluate a checkpoint (or a folder of them) on a task, without a study",
                              description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="checkpoint folder, .gguf file, or a folder of checkpoints")
    p.add_argument("task", help="task: .jsonl, lm-eval .yaml, BIG-bench task.json, or a folder with train/test.jsonl")
    p.add_argument("--shots", type=int, nargs="+", default=[0], metavar="K",
                   help="in-context examples (default 0): fewshot.shots, or finetune.shots with --finetune")
    p.add_argument("--seed", type=int, nargs="+", default=[0], metavar="S",
                   help="demonstration / finetuning-subset seeds (default 0; lm-eval's few-shot seed is 1234)")
    p.add_argument("--limit", type=int, help="evaluate the first N test examples (task.limit)")
    p.add_argument("--format", choices=_choices(TaskSource, "format"), default=TaskSource.format,
                   help="multiple choice: score choice texts (cloze), lettered choices (mc), or both (task.format)")
    p.add_argument("--sampler", choices=_choices(FewshotGrid, "sampler"), default=FewshotGrid.sampler,
                   help="few-shot draws: per query (default) or lm-evaluation-harness's (same seed, same draw)")
    p.add_argument("--extract", metavar="REGEX", help="generation: score the REGEX match of the output too "
                                                       "(exact_match_extracted), beside strict exact_match")
    p.add_argument("--extract-select", type=int, default=TaskSource.extract_select, metavar="I",
                   help="which match --extract takes: 0 first (default), -1 last")
    p.add_argument("--reference", metavar="TEXT", help="held-out text: also measure pretraining loss "
                                                       "(nats/token and bits/byte; reference.path)")
    p.add_argument("--finetune", type=int, metavar="N", help="finetune on N training examples first (finetune.n_train)")
    p.add_argument("--method", choices=_choices(FinetuneGrid, "method"), default="lora",
                   help="finetuning method (default lora)")
    p.add_argument("--steps", type=int, default=100, help="finetuning optimizer steps (default 100; finetune.max_steps)")
    p.add_argument("--lr", type=float, help="finetuning peak learning rate (default "
                                            + ", ".join(f"{v:g} {k}" for k, v in DEFAULT_LR.items()) + ")")
    p.add_argument("--finetune-dtype", choices=_choices(FinetuneGrid, "dtype"), default=FinetuneGrid.dtype,
                   help="finetuning precision: auto (bf16 autocast on CUDA, fp32 on CPU), float32 or bfloat16")
    p.add_argument("--keep-finetuned", metavar="DIR", help="save each finetuned checkpoint under DIR "
                                                           "(finetune.keep_checkpoints)")
    p.add_argument("--batch-size", type=int, default=ev.batch_size,
                   help=f"evaluation batch size (default {ev.batch_size})")
    p.add_argument("--device", default=ev.device, help=f"{DEVICE_NAMES} (default auto: cuda when available); "
                                                       "checked against this machine first")
    p.add_argument("--dtype", choices=_choices(EvalSettings, "dtype"), default=ev.dtype,
                   help="the checkpoints' dtype (default auto: bfloat16 on CUDA, float32 elsewhere)")
    p.add_argument("--threads", type=int, help="torch threads (default: $EMERGENCE_THREADS, else the usable CPUs)")
    p.add_argument("--out", help="folder for results.csv and examples.jsonl")
    p.add_argument("--store", help="SQLite results store to add the rows and examples to")
    ex = p.add_mutually_exclusive_group()
    ex.add_argument("--examples", dest="examples", action="store_true", default=None,
                    help="keep per-example records (default: when at most 1000 examples per evaluation)")
    ex.add_argument("--no-examples", dest="examples", action="store_false", help="do not keep per-example records")
    p.add_argument("--json", action="store_true", help="print the rows as JSON lines instead of a table")
    p.add_argument("--no-progress", action="store_true", help="no progress bars or lines")
    p.set_defaults(func=run)
    return p


#: The study setting each flag sets: a setting's error names the flag instead.
FLAGS: dict[str, str] = {
    "fewshot.shots": "--shots", "finetune.shots": "--shots", "fewshot.seeds": "--seed", "finetune.seeds": "--seed",
    "task.path": "TASK", "task.limit": "--limit", "task.format": "--format", "task.extract": "--extract",
    "task.extract_select": "--extract-select", "fewshot.sampler": "--sampler", "reference.path": "--reference",
    "finetune.n_train": "--finetune", "finetune.method": "--method", "finetune.max_steps": "--steps",
    "finetune.lr": "--lr", "finetune.dtype": "--finetune-dtype", "finetune.keep_checkpoints": "--keep-finetuned",
    "eval.batch_size": "--batch-size", "eval.device": "--device", "eval.dtype": "--dtype",
    "executor.threads_per_worker": "--threads",
}


def _check(args: argparse.Namespace) -> None:
    """What needs no study config: flags that go together, the device, the extraction, the templates."""
    if args.keep_finetuned and args.finetune is None:
        raise InputError("--keep-finetuned needs --finetune N (there is nothing finetuned to keep)")
    from emergence_laws.devices import check_device
    from emergence_laws.tasks.task_files import check_extract

    check_device(args.device, "--device")  # before any work: a missing GPU is one line, not a traceback
    if Path(args.task).exists():  # a missing task is the config's one line
        check_extract(args.task, args.extract, "--extract")
        from emergence_laws.tasks.task_files import lmeval_yaml_path

        if lmeval_yaml_path(args.task) is not None:  # its templates render now, before torch is imported
            from emergence_laws.tasks import load_task  # (rendered once: the evaluation reuses it)

            load_task(args.task)


def _format_rows(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        v, se = r["value"], r.get("stderr")
        text = f"{v:.4f}" + (f" ± {se:.4f}" if se is not None and math.isfinite(se) else "")
        if r.get("ci_low") is not None:
            text += f"  [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        ft = f" {r['method']} n={r['n_train']}" if r["n_train"] else ""
        lines.append(f"{r['model']}  {r['task']}  {r['shots']}-shot seed {r['seed']}{ft}  {r['metric']:<24} {text}")
    return "\n".join(lines)


@contextlib.contextmanager
def flag_errors() -> Iterator[None]:
    """A study setting's error (`SettingError`) said of the flag that set it (`FLAGS`): ``--limit: 0 is not a
    positive integer; ...`` rather than ``task.limit: ...``."""
    from emergence_laws.constraints import SettingError

    try:
        yield
    except SettingError as exc:
        flag = FLAGS.get(exc.key)
        if flag is None:
            raise
        reason = exc.reason.removeprefix(exc.key).lstrip(": ")
        raise InputError(f"{flag} {reason}" if reason.startswith("'") else f"{flag}: {reason}") from None


def study_config(args: argparse.Namespace, store: str | Path) -> Any:
    """The one-task study `emergence eval` runs: MODEL's checkpoints as the ladder; few-shot jobs at each
    --shots x --seed, or (with --finetune N) one finetuning per checkpoint x --seed, evaluated at each --shots.
    Validated by the study's own constraints (wrap in `flag_errors` to have errors name the flags)."""
    from emergence_laws.study import config as study
    from emergence_laws.study.ladder import find_checkpoints

    ladder = [study.Checkpoint(path=str(ck)) for ck in find_checkpoints(args.model)]
    finetune = study.FinetuneGrid()
    shots = tuple(args.shots)
    if args.finetune is not None:
        finetune = study.FinetuneGrid(n_train=(args.finetune,), seeds=tuple(args.seed), shots=shots,
                                      method=args.method, max_steps=args.steps, lr=args.lr, dtype=args.finetune_dtype,
                                      keep_checkpoints=args.keep_finetuned or False)
        shots = ()
    return study.StudyConfig(
        name="eval", store=str(store), source="emergence eval", ladder=ladder,
        task=study.TaskSource(str(args.task), limit=args.limit, format=args.format, extract=args.extract,
                              extract_select=args.extract_select),
        reference=study.ReferenceText(str(args.reference)) if args.reference else None,
        fewshot=study.FewshotGrid(shots=shots, seeds=tuple(args.seed), sampler=args.sampler),
        finetune=finetune,
        eval=study.EvalSettings(batch_size=args.batch_size, device=args.device, dtype=args.dtype,
                                keep_examples=args.examples),
        executor=study.ExecutorSettings(kind="local", workers=1, threads_per_worker=args.threads),
    ).validate()


def _examples(store: str | Path, df: Any) -> list[dict]:
    """The stored per-example records of the run's jobs, each with its job's identity."""
    from emergence_laws.results import ResultsStore

    ident = {r["run_key"]: {k: r[k] for k in ("model", "task", "shots", "seed", "n_train")}
             for r in df.drop_duplicates("run_key").to_dict("records")}
    with ResultsStore(store, create=False) as st:
        records = [e for e in st.examples() if e["run_key"] in ident]
    return [{"run_key": e["run_key"], **ident[e["run_key"]], **{k: v for k, v in e.items() if k not in ("run_key", "idx")}}
            for e in records]


def _log_run(df: Any, log: Any) -> None:
    for model, g in df.groupby("model", sort=False):
        first = g.iloc[0]
        if first.get("pretrain_loss") is not None and first["pretrain_loss"] == first["pretrain_loss"]:
            log(f"{model}: pretraining loss {first['pretrain_loss']:.4f} nats/token, {first['pretrain_bpb']:.4f} "
                f"bits/byte ({int(first['reference_tokens'])} tokens)")
    for path in dict.fromkeys(p for p in df["ft_checkpoint"] if isinstance(p, str)):
        log(f"kept a finetuned checkpoint in {path}")


def run(args: argparse.Namespace) -> int:
    _check(args)
    import tempfile

    from emergence_laws.commands.fit import make_out_dir
    from emergence_laws.study.runner import StudyFailedError, run_study

    out = make_out_dir(args.out) if args.out else None
    if args.store:  # fail on an unwritable store now, not after the evaluations
        from emergence_laws.paths import check_output_file

        check_output_file(args.store, "--store")

    def log(msg: str) -> None:
        print(f"emergence eval: {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="emergence-eval-") as tmp:
        store = args.store or str(Path(tmp) / "eval.db")
        try:  # --store: every evaluation runs again and replaces its rows (resume=False)
            with flag_errors():
                df = run_study(study_config(args, store), resume=False, progress=not args.no_progress,
                               failure_log=None if args.store else Path(tmp) / "eval.failures.log")
        except StudyFailedError as exc:  # one line, as the command's own errors are
            first = exc.failures[0]
            if all(f.user_error or f.error.startswith(("skipped", "dropped")) for f in exc.failures):
                raise InputError(first.error) from None
            if args.store:
                raise
            raise StudyFailedError(f"{len(exc.failures)} evaluations failed (first: {first.job.describe()}: "
                                   f"{first.error})", exc.failures) from None
        examples = _examples(store, df)
    rows = [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))} for r in df.to_dict("records")]
    _log_run(df, log)
    if args.json:
        for r in rows:
            print(json.dumps(r, default=str))
    else:
        print(_format_rows(rows))
    if out is not None:
        df.to_csv(out / "results.csv", index=False)
        if examples:
            with (out / "examples.jsonl").open("w", encoding="utf-8") as fh:
                for e in examples:
                    fh.write(json.dumps(e, default=str) + "\n")
        log(f"wrote {out / 'results.csv'}" + (f" and {out / 'examples.jsonl'}" if examples else ""))
    if args.store:
        log(f"stored {len(df)} rows in {args.store}")
    return 0
