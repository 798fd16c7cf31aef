"""The job grid: checkpoint × (measure | few-shot shots × seed | finetune n_train × seed).

Every checkpoint gets one *measure* job (parameter count and pretraining loss on the reference
text, nats/token) whose result is cached under its own key; few-shot and finetuning jobs each
produce one results row per metric, all stored under the job's key as `run_key`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from emergence_laws.constraints import SettingError
from emergence_laws.hashing import digest, file_digest
from emergence_laws.study.config import (
    Checkpoint,
    EvalSettings,
    FinetuneGrid,
    ReferenceText,
    StudyConfig,
    TaskSource,
)
from emergence_laws.study.keys import checkpoint_fingerprint, job_key, task_fingerprint

JobKind = Literal["measure", "fewshot", "finetune"]


@dataclass(frozen=True)
class Job:
    """One unit of work, picklable so it can travel to a worker process or a Ray task."""

    kind: JobKind
    key: str
    checkpoint: Checkpoint
    task: TaskSource
    eval: EvalSettings
    reference: ReferenceText | None = None
    shots: int = 0
    n_train: int = 0
    seed: int = 0
    finetune: FinetuneGrid | None = None
    format: str = "cloze"
    sampler: str = "query"
    finetune_key: str | None = None  # a finetuning job's key without its evaluation shots: what the weights depend on
    save_to: str | None = None  # where a finetuning job keeps its checkpoint (finetune.keep_checkpoints)

    @property
    def method(self) -> str:
        return self.finetune.method if (self.kind == "finetune" and self.finetune) else "none"

    def finetune_config(self) -> Any:
        """How a finetuning job trains: the study's finetuning settings with this job's seed."""
        assert self.finetune is not None
        return self.finetune.config_for(self.seed)

    @property
    def cell(self) -> str:
        """The status column this job belongs to: ``measure``, ``k=5`` or ``n=32``."""
        if self.kind == "measure":
            return "measure"
        fmt = "" if self.format == "cloze" else f" {self.format}"
        if self.kind == "fewshot":
            return f"k={self.shots}{fmt}"
        return f"n={self.n_train}{fmt}"

    def describe(self) -> str:
        what = {"measure": "measure", "fewshot": f"{self.shots}-shot seed {self.seed}",
                "finetune": f"{self.method} n={self.n_train} seed {self.seed}"}[self.kind]
        fmt = "" if self.kind == "measure" or self.format == "cloze" else f" ({self.format} format)"
        return f"{self.checkpoint.model_id} {what}{fmt}"


@dataclass
class Grid:
    """All jobs of a study, in run order (grouped by checkpoint so each is loaded once per worker)."""

    measure: list[Job] = field(default_factory=list)
    evals: list[Job] = field(default_factory=list)
    task_name: str = ""
    n_train_pool: int = 0

    @property
    def jobs(self) -> list[Job]:
        return [*self.measure, *self.evals]

    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.measure) + len(self.evals)

    def measure_for(self, checkpoint: Checkpoint) -> Job:
        return next(j for j in self.measure if j.checkpoint == checkpoint)


def load_study_task(source: TaskSource, fmt: str = "cloze") -> Any:
    """The TaskSpec of a study's task in format `fmt` (cloze | mc), with the config's answer
    extraction (torch-free)."""
    from emergence_laws.tasks import load_task

    return study_task(load_task(source.path, name=source.name), source, fmt)


def study_task(spec: Any, source: TaskSource, fmt: str = "cloze") -> Any:
    """A loaded TaskSpec with the config's answer extraction, in format `fmt`."""
    from emergence_laws.tasks.extract import Extractor
    from emergence_laws.tasks.formats import task_in_format

    if source.extract is not None and spec.kind == "generation":
        ex = Extractor("extracted", regex=source.extract, select=source.extract_select)
        spec = replace(spec, metadata={**spec.metadata, "extractors": (ex,)})
    return task_in_format(spec, fmt)


def study_formats(source: TaskSource, task: Any) -> tuple[str, ...]:
    """The formats a study evaluates: cloze for generation tasks, else the config's (``both`` = cloze, mc).
    `task` is anything with the task's ``kind`` and ``name`` (a TaskSpec or a TaskIdentity)."""
    from emergence_laws.tasks.formats import format_names

    if task.kind != "multiple_choice":
        if source.format != "cloze":
            reason = (f"{source.format!r} needs a multiple-choice task; {task.name!r} is a generation task (use "
                      "format: cloze)")
            raise SettingError(f"task.format: {reason}", "task.format", reason)
        return ("cloze",)
    return format_names(source.format)


@dataclass(frozen=True)
class TaskIdentity:
    """What the grid needs of a task: its name and kind, the size of its training pool, and one
    content hash per evaluated format."""

    name: str
    kind: str
    n_train: int
    fingerprints: dict[str, str]


def task_identity(source: TaskSource) -> TaskIdentity:
    """A study task's identity, without rendering any template.

    JSONL tasks (no templates) are loaded and hashed by content. An lm-eval task YAML is read and
    checked but not rendered: its hash covers the merged config (templates as text) and the bytes
    of its data files, and its pool is the row count of the training split. So `emergence status`
    and `run --dry-run` run no code of a task file, sandboxed or not.
    """
    from emergence_laws.tasks import load_task
    from emergence_laws.tasks.jsonl import read_json_rows
    from emergence_laws.tasks.lmeval_yaml import read_lmeval_source
    from emergence_laws.tasks.task_files import lmeval_yaml_path

    yml = lmeval_yaml_path(source.path)
    if yml is None:
        spec = load_task(source.path, name=source.name)
        fps = {fmt: task_fingerprint(study_task(spec, source, fmt), source.limit)
               for fmt in study_formats(source, spec)}
        return TaskIdentity(spec.name, spec.kind, len(spec.train), fps)
    src = read_lmeval_source(yml, name=source.name)
    kind = "multiple_choice" if src.multiple_choice else "generation"
    ident = TaskIdentity(src.name, kind, len(read_json_rows(src.files[src.train_split])) if src.train_split else 0, {})
    content = {"format": "lm-eval-yaml", "name": src.name, "config": src.cfg, "limit": source.limit,
               "extract": source.extract, "extract_select": source.extract_select,
               "files": {split: file_digest(f) for split, f in sorted(src.files.items())
                         if split in (src.test_split, src.train_split)}}
    fps = {fmt: digest({**content, "task_format": fmt}, 32) for fmt in study_formats(source, ident)}
    return replace(ident, fingerprints=fps)


def build_grid(cfg: StudyConfig, *, task: TaskIdentity | None = None) -> Grid:
    """Expand a study config into keyed jobs. `task` is computed from the config when absent
    (:func:`task_identity`: no template of the task is rendered)."""
    ident = task if task is not None else task_identity(cfg.task)
    ft = cfg.finetune
    if ft.n_train and max(ft.n_train) > ident.n_train:
        reason = (f"{max(ft.n_train)} exceeds the {ident.n_train} training examples of task {ident.name!r}; lower "
                  "the largest amount or add training examples")
        raise SettingError(f"{cfg.source}: finetune.n_train: {reason}", "finetune.n_train", reason)
    formats = tuple(ident.fingerprints)
    fps = ident.fingerprints
    sampler = cfg.fewshot.sampler
    kept = cfg.kept_checkpoints_dir
    ref_fp = None
    if cfg.reference is not None:
        r = cfg.reference
        ref_fp = {"text": file_digest(r.path), "max_tokens": r.max_tokens, "seq_len": r.seq_len}
    ev = {"device": cfg.eval.device, "dtype": cfg.eval.dtype}
    grid = Grid(task_name=ident.name, n_train_pool=ident.n_train)
    for ck in cfg.ladder:
        model_fp = checkpoint_fingerprint(ck.path, ck.revision, local=ck.is_local)
        base = {"model": model_fp, **ev}
        grid.measure.append(Job("measure", job_key("measure", {**base, "reference": ref_fp}), ck, cfg.task,
                                cfg.eval, reference=cfg.reference))
        for fmt in formats:
            for shots in cfg.fewshot.shots:
                for seed in cfg.fewshot.seeds:
                    key = job_key("fewshot", {**base, "task": fps[fmt], "shots": shots, "seed": seed,
                                              "sampler": sampler})
                    grid.evals.append(Job("fewshot", key, ck, cfg.task, cfg.eval, shots=shots, seed=seed,
                                          format=fmt, sampler=sampler))
            for n in ft.n_train:
                for seed in ft.seeds:
                    tuned = {**base, "task": fps[fmt], "n_train": n, "seed": seed, "hp": ft.hyperparameters(),
                             "sampler": sampler}
                    tuned_key = job_key("tuned", tuned)  # the finetuned weights: one per checkpoint x n x seed
                    for shots in ft.eval_shots:  # consecutive: a worker evaluates one finetuning at every shots
                        key = job_key("finetune", {**tuned, "shots": shots})
                        grid.evals.append(Job("finetune", key, ck, cfg.task, cfg.eval, shots=shots, n_train=n,
                                              seed=seed, finetune=ft, format=fmt, sampler=sampler,
                                              finetune_key=tuned_key,
                                              save_to=str(kept / tuned_key) if kept else None))
    return grid

