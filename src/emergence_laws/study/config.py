"""Study config: the dataclasses of a study YAML (or of Python code), each field's constraints as data.

`load_study(path)` (`study.config_yaml`) reads ``study.yaml`` into a validated, frozen `StudyConfig`;
the same dataclasses can be built directly in Python (``StudyConfig(ladder=[Checkpoint(path=...)],
...)``) and checked with `StudyConfig.validate()`. Each section declares its fields' constraints once
(`_parameter_constraints`, read by `emergence_laws.constraints.check_fields`); the few rules that
relate two fields are `RULES`. Every error is a `ConfigError` with one line naming the file, the key
and the fix.

Units: ``tokens`` = pretraining tokens seen by a checkpoint; ``flops`` = pretraining FLOPs
(6·N·D when not given and tokens are known); ``reference.max_tokens`` = tokens of reference text
scored for the pretraining loss (nats/token).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from emergence_laws.constraints import Check, Constraints, Each, Interval, Options, SettingError, check_fields
from emergence_laws.devices import DEVICE_NAMES, check_device_name
from emergence_laws.finetuning.settings import FinetuneSettings
from emergence_laws.models.dtypes import LOAD_DTYPES
from emergence_laws.study.ladder import Checkpoint, repeated_model_id

__all__ = [
    "KEEP_EXAMPLES_UP_TO",
    "RULES",
    "Checkpoint",
    "EvalSettings",
    "ExecutorSettings",
    "FewshotGrid",
    "FinetuneGrid",
    "ReferenceText",
    "StudyConfig",
    "TaskSource",
]


def _file(what: str) -> Callable[[Any, str], str | None]:
    def check(path: Any, key: str) -> str | None:
        return None if isinstance(path, str) and Path(path).exists() else f"file {path} does not exist; give {what}"
    return check


def _regex(pattern: Any, key: str) -> str | None:
    try:
        re.compile(pattern)
    except (re.error, TypeError) as exc:
        return f"{pattern!r} is not a valid regex ({exc}); fix the pattern"
    return None


@dataclass(frozen=True)
class ReferenceText:
    """Held-out text for the pretraining loss (nats/token): a .txt file, or a .jsonl whose rows have a
    "text" field. `max_tokens` caps the tokens scored; `seq_len` is the window length."""

    path: str
    max_tokens: int = 50_000
    seq_len: int = 512

    _parameter_constraints: ClassVar[Constraints] = {
        "path": [Check(_file("a held-out .txt or .jsonl text file"), "a text file")],
        "max_tokens": [Interval(int, 1)],
        "seq_len": [Interval(int, 1)],
    }


@dataclass(frozen=True)
class TaskSource:
    """The task: a JSONL file (or a folder of train/test files), an lm-evaluation-harness task YAML
    pointing at local files, or a BIG-bench ``task.json``. `limit`: evaluate at most this many test
    examples. `format`: for multiple choice, ``cloze`` (score each choice's text), ``mc`` (choices
    listed with letters, the letter scored; task name ``<name>:mc``) or ``both`` (every few-shot and
    finetuning job in each). `extract`: a regex whose `extract_select`-th match (0 first, -1 last) is a
    generation's answer, scored as ``exact_match_extracted`` beside strict ``exact_match`` (replaces the
    regex the task itself declares, e.g. BIG-bench's ``output_regex``)."""

    path: str
    name: str | None = None
    limit: int | None = None
    format: str = "cloze"
    extract: str | None = None
    extract_select: int = 0

    _parameter_constraints: ClassVar[Constraints] = {
        "path": [Check(_file("a JSONL task file (or a folder of train/test files), an lm-eval task YAML or a "
                             "BIG-bench task.json"), "a task file")],
        "limit": [Interval(int, 1), None],
        "format": [Options(("cloze", "mc", "both"))],
        "extract": [Check(_regex, "a regex"), None],
        "extract_select": [Check(lambda v, key: None if isinstance(v, int) and not isinstance(v, bool)
                                 else f"{v!r}; give 0 (first match) or -1 (last match)", "0 or -1")],
    }


_SHOTS = Interval(int, 0)
_SEED = Interval(int)


@dataclass(frozen=True)
class FewshotGrid:
    """Few-shot evaluations of the unmodified checkpoints: one job per shots × seed. `sampler`: how
    demonstrations are drawn, ``query`` (per query, order-free) or ``lm-eval`` (lm-evaluation-harness's
    draws: same seed, same demonstrations; its default seed is 1234); see `tasks.fewshot`."""

    shots: tuple[int, ...] = (0,)
    seeds: tuple[int, ...] = (0,)
    sampler: str = "query"

    _parameter_constraints: ClassVar[Constraints] = {
        "shots": [Each(_SHOTS)],
        "seeds": [Each(_SEED)],
        "sampler": [Options(("query", "lm-eval"))],
    }


def _keep(value: Any, key: str) -> str | None:
    if isinstance(value, bool) or (isinstance(value, str) and value):
        return None
    return f"{value!r}; use true, false or a folder"


@dataclass(frozen=True, kw_only=True)
class FinetuneGrid(FinetuneSettings):
    """Finetuning jobs: one finetuning per `n_train` × `seeds`, with the hyperparameters of
    `FinetuneSettings` (method, lr, epochs, max_steps, batch_size, train_shots, dtype, ...), each
    finetuned model evaluated with `shots` in-context examples (a list: at each, one job per value;
    the model is trained once and kept between them). With ``train_shots = shots`` the model is trained
    in the format it is evaluated in, so that n_train → 0 is plain few-shot prompting.
    `keep_checkpoints`: save each finetuned model (with its tokenizer) to
    ``<store>-checkpoints/<finetune key>/`` (true) or ``<folder>/<finetune key>/`` (a folder).
    """

    n_train: tuple[int, ...] = ()
    seeds: tuple[int, ...] = (0, 1)
    shots: int | tuple[int, ...] = 0
    keep_checkpoints: bool | str = False

    _parameter_constraints: ClassVar[Constraints] = {
        **FinetuneSettings._parameter_constraints,
        "n_train": [Each(Interval(int, 1))],
        "seeds": [Each(_SEED)],
        "shots": [_SHOTS, Each(_SHOTS)],
        "keep_checkpoints": [Check(_keep, "true, false or a folder")],
    }

    @property
    def eval_shots(self) -> tuple[int, ...]:
        """The in-context examples each finetuned model is evaluated with."""
        return tuple(self.shots) if isinstance(self.shots, (tuple, list)) else (self.shots,)


#: `EvalSettings.keep_examples=None` keeps per-example records of jobs with at most this many examples.
KEEP_EXAMPLES_UP_TO = 1000


def _device_name(value: Any, key: str) -> str | None:
    check_device_name(value, key)  # raises InputError with its own one line (syntax only: no torch)
    return None


@dataclass(frozen=True)
class EvalSettings:
    """How evaluations run.

    Attributes:
        batch_size: sequences per forward pass (per-example scores do not depend on it).
        device: auto | cpu | cuda | cuda:N | mps (`emergence run` checks that this machine has it when jobs
            run locally).
        dtype: auto (bfloat16 on CUDA, float32 elsewhere) | float32 | bfloat16 | float16.
        keep_examples: store each job's per-example records (exact context, log-likelihoods, generation) in
            the store's ``examples`` table; None = when a job evaluates at most `KEEP_EXAMPLES_UP_TO` examples.
    """

    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    keep_examples: bool | None = None

    _parameter_constraints: ClassVar[Constraints] = {
        "batch_size": [Interval(int, 1)],
        "device": [Check(_device_name, DEVICE_NAMES)],
        "dtype": [Options(LOAD_DTYPES)],
        "keep_examples": [Options((True, False), use="true, false or leave it unset (kept for small jobs)"), None],
    }

    def keeps_examples(self, n_eval: int) -> bool:
        """Whether a job of `n_eval` examples keeps its per-example records."""
        return n_eval <= KEEP_EXAMPLES_UP_TO if self.keep_examples is None else bool(self.keep_examples)


@dataclass(frozen=True)
class ExecutorSettings:
    """Where jobs run. local: `workers` processes (1 = in this process). ray: one Ray task per job
    with `num_cpus`/`num_gpus` each and `max_retries` on worker failure; `address` of a running
    cluster (None = start a local one). `threads_per_worker`: torch threads of each worker process
    (this process too when workers = 1); None = ``$EMERGENCE_THREADS``, else the available CPUs //
    workers (local) or num_cpus (ray); see `emergence_laws.threads`."""

    kind: str = "local"
    workers: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    max_retries: int = 2
    address: str | None = None
    threads_per_worker: int | None = None

    _parameter_constraints: ClassVar[Constraints] = {
        "kind": [Options(("local", "ray"))],
        "workers": [Interval(int, 1)],
        "num_cpus": [Interval(float, 0, closed="left", example="1")],
        "num_gpus": [Interval(float, 0, closed="left", example="1")],
        "max_retries": [Interval(int, 0)],
        "threads_per_worker": [Interval(int, 1), None],
    }


def _plain_name(name: Any, key: str) -> str | None:
    if (isinstance(name, str) and name.strip() and name not in (".", "..") and name == name.strip()
            and not any(c in name for c in "/\\\0")):
        return None
    return (f"{name!r} is not a plain file name (it names the store, <name>.db beside the config); use letters, "
            "digits, '-', '_' or '.', no folders")


def _some_ladder(ladder: Any, key: str) -> str | None:
    return None if ladder else "is empty; list at least one checkpoint (a local HF folder or a hub id)"


#: The sections of a study: their names (in the YAML and on `StudyConfig`) and dataclasses.
SECTIONS: dict[str, type] = {"task": TaskSource, "reference": ReferenceText, "fewshot": FewshotGrid,
                             "finetune": FinetuneGrid, "eval": EvalSettings, "executor": ExecutorSettings}


@dataclass(frozen=True)
class StudyConfig:
    """A whole study. `store` is the SQLite results file (default: ``<name>.db`` beside the YAML)."""

    ladder: tuple[Checkpoint, ...]
    task: TaskSource
    reference: ReferenceText | None = None
    fewshot: FewshotGrid = field(default_factory=FewshotGrid)
    finetune: FinetuneGrid = field(default_factory=FinetuneGrid)
    eval: EvalSettings = field(default_factory=EvalSettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    name: str = "study"
    store: str | None = None
    source: str = "<python>"  # where the config came from, for error messages

    _parameter_constraints: ClassVar[Constraints] = {
        "name": [Check(_plain_name, "a plain file name")],
        "ladder": [Check(_some_ladder, "at least one checkpoint")],
    }

    def __post_init__(self) -> None:
        # Accept lists from Python callers; keep the config hashable and immutable.
        object.__setattr__(self, "ladder", tuple(self.ladder))

    @property
    def store_path(self) -> Path:
        return Path(self.store) if self.store else Path(f"{self.name}.db")

    @property
    def kept_checkpoints_dir(self) -> Path | None:
        """Where finetuned models are saved (`finetune.keep_checkpoints`), or None."""
        keep = self.finetune.keep_checkpoints
        if isinstance(keep, str):
            return Path(keep)
        return self.store_path.with_name(self.store_path.stem + "-checkpoints") if keep else None

    def validate(self) -> StudyConfig:
        """Check every field against its section's constraints, local files, and `RULES`; return self
        (raises SettingError, a ConfigError, naming the key)."""
        prefix = f"{self.source}: "
        check_fields(self, prefix)
        for i, ck in enumerate(self.ladder):
            check_fields(ck, prefix, f"ladder[{i}]")
        for section in SECTIONS:
            settings = getattr(self, section)
            if settings is not None:
                check_fields(settings, prefix, section)
        for rule in RULES:
            broken = rule(self)
            if broken is not None:
                key, reason = broken
                raise SettingError(f"{prefix}{key}: {reason}", key, reason)
        return self


def _amounts_repeat(cfg: StudyConfig) -> tuple[str, str] | None:
    n = cfg.finetune.n_train
    return ("finetune.n_train", f"{list(n)} repeats a value; list each data amount once") if len(set(n)) != len(n) else None


def _no_seeds(cfg: StudyConfig) -> tuple[str, str] | None:
    ft = cfg.finetune
    return ("finetune.seeds", "empty; give a count (e.g. 2) or a list of seeds") if ft.n_train and not ft.seeds else None


def _no_eval_shots(cfg: StudyConfig) -> tuple[str, str] | None:
    return None if cfg.finetune.eval_shots else (
        "finetune.shots", "empty; give the in-context examples of the evaluation (e.g. 0)")


def _demonstrations_exceed_subset(cfg: StudyConfig) -> tuple[str, str] | None:
    ft = cfg.finetune
    if ft.train_shots and any(n <= ft.train_shots for n in ft.n_train):
        return ("finetune.train_shots", f"{ft.train_shots} demonstrations per training prompt need n_train > "
                f"{ft.train_shots} (they are drawn from the finetuning subset); raise the smallest n_train or lower "
                "train_shots")
    return None


def _no_jobs(cfg: StudyConfig) -> tuple[str, str] | None:
    if not cfg.fewshot.shots and not cfg.finetune.n_train:
        return ("fewshot.shots and finetune.n_train", "are both empty; the study has no jobs")
    return None


#: Rules that relate fields (each returns (key, reason) when broken), checked after every field.
RULES: tuple[Callable[[StudyConfig], tuple[str, str] | None], ...] = (
    lambda cfg: repeated_model_id(cfg.ladder), _amounts_repeat, _no_seeds, _no_eval_shots,
    _demonstrations_exceed_subset, _no_jobs,
)
