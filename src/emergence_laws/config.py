"""Study config: a YAML file (or Python objects) describing a ladder, a task and a job grid.

`load_study(path)` reads ``study.yaml`` into a validated, frozen `StudyConfig`; the same
dataclasses can be built directly in Python (``StudyConfig(ladder=[Checkpoint(path=...)], ...)``)
and checked with `StudyConfig.validate()`. Every error is a `ConfigError` with one line naming
the file, the key and the fix. Relative paths in a YAML file are relative to the file's folder.

Units: ``tokens`` = pretraining tokens seen by a checkpoint; ``flops`` = pretraining FLOPs
(6·N·D when not given and tokens are known); ``reference.max_tokens`` = tokens of reference text
scored for the pretraining loss (nats/token).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emergence_laws.errors import ConfigError, InputError

__all__ = [
    "Checkpoint",
    "EvalSettings",
    "ExecutorSettings",
    "FewshotGrid",
    "FinetuneGrid",
    "ReferenceText",
    "StudyConfig",
    "TaskSource",
    "hub_ids",
    "load_study",
    "study_from_dict",
]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_STEP = re.compile(r"(?:^|[^a-z])step[_-]?(\d+)", re.IGNORECASE)


def is_hub_id(path: str) -> bool:
    """True when `path` looks like ``org/name`` and no such local folder exists."""
    return bool(_HUB_ID.match(path)) and not Path(path).exists() and not path.startswith(".")


@dataclass(frozen=True)
class Checkpoint:
    """One rung of the ladder: a local HF folder, a `.gguf` file (dequantised once and cached) or a hub
    id (with an optional revision).

    `params`, `tokens` (pretraining tokens) and `flops` (pretraining FLOPs) are optional; params
    are counted from the model when absent, flops = 6·params·tokens when tokens are known.
    `tokens_per_step` with a revision like ``step3000`` gives tokens = step × tokens_per_step.
    """

    path: str
    name: str | None = None
    revision: str | None = None
    family: str | None = None
    params: int | None = None
    tokens: float | None = None
    flops: float | None = None
    tokens_per_step: float | None = None

    @property
    def model_id(self) -> str:
        """The `model` column of the results table."""
        if self.name:
            return self.name
        if self.is_local:
            p = Path(self.path)
            return (p.stem if p.suffix == ".gguf" else p.name) or self.path
        return f"{self.path}@{self.revision}" if self.revision else self.path

    @property
    def is_local(self) -> bool:
        return not is_hub_id(self.path)

    @property
    def step(self) -> int | None:
        """Training step parsed from the revision (``step3000`` -> 3000), if any."""
        m = _STEP.search(self.revision or "")
        return int(m.group(1)) if m else None

    @property
    def pretrain_tokens(self) -> float | None:
        if self.tokens is not None:
            return float(self.tokens)
        if self.tokens_per_step is not None and self.step is not None:
            return float(self.tokens_per_step) * self.step
        return None


@dataclass(frozen=True)
class ReferenceText:
    """Held-out text for the pretraining loss (nats/token): a .txt file, or a .jsonl whose rows have a
    "text" field. `max_tokens` caps the tokens scored; `seq_len` is the window length."""

    path: str
    max_tokens: int = 50_000
    seq_len: int = 512


@dataclass(frozen=True)
class TaskSource:
    """The task: a JSONL file, an lm-evaluation-harness task YAML pointing at local files, or a
    BIG-bench ``task.json``. `limit`: evaluate at most this many test examples. `format`: for
    multiple choice, ``cloze`` (score each choice's text), ``mc`` (choices listed with letters, the
    letter scored; task name ``<name>:mc``) or ``both`` (every few-shot and finetuning job in each).
    `extract`: a regex whose `extract_select`-th match (0 first, -1 last) is a generation's answer,
    scored as ``exact_match_extracted`` beside strict ``exact_match`` (replaces the regex the task
    itself declares, e.g. BIG-bench's ``output_regex``)."""

    path: str
    name: str | None = None
    limit: int | None = None
    format: str = "cloze"
    extract: str | None = None
    extract_select: int = 0


@dataclass(frozen=True)
class FewshotGrid:
    """Few-shot evaluations of the unmodified checkpoints: one job per shots × seed. `sampler`: how
    demonstrations are drawn, ``query`` (per query, order-free) or ``lm-eval`` (lm-evaluation-harness's
    draws: same seed, same demonstrations; its default seed is 1234); see `tasks.fewshot`."""

    shots: tuple[int, ...] = (0,)
    seeds: tuple[int, ...] = (0,)
    sampler: str = "query"


@dataclass(frozen=True)
class FinetuneGrid:
    """Finetuning jobs: one finetuning per n_train × seed, evaluated with `shots` in-context examples (a
    list: at each, one job per shots value; the finetuned model is trained once and kept between them).

    `lr` is the peak learning rate (None = 1e-4 for full, 1e-3 for LoRA); `max_steps` sets the number
    of optimizer steps (None = `epochs` passes over the examples). `train_shots`: demonstrations in
    each training prompt, drawn from the finetuning subset itself (0 = the zero-shot prompt); with
    `train_shots = shots` the model is trained in the format it is evaluated in, so that n_train → 0
    is plain few-shot prompting. `keep_checkpoints`: save each finetuned model (with its tokenizer)
    to ``<store>-checkpoints/<finetune key>/`` (true) or ``<folder>/<finetune key>/`` (a folder). `dtype`: ``auto`` (bf16 autocast on CUDA, fp32 on CPU),
    ``float32`` or ``bfloat16`` (autocast; on CPUs with bf16 matrix units several times faster).
    """

    n_train: tuple[int, ...] = ()
    seeds: tuple[int, ...] = (0, 1)
    method: str = "full"
    lora_rank: int = 8
    lr: float | None = None
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 8
    shots: int | tuple[int, ...] = 0
    train_shots: int = 0
    keep_checkpoints: bool | str = False
    dtype: str = "auto"

    @property
    def eval_shots(self) -> tuple[int, ...]:
        """The in-context examples each finetuned model is evaluated with."""
        return tuple(self.shots) if isinstance(self.shots, (tuple, list)) else (self.shots,)

    def hyperparameters(self) -> dict[str, Any]:
        """Everything but the grid axes: what a finetuning job's key must include."""
        hp = {"method": self.method, "lr": self.learning_rate, "epochs": self.epochs,
              "max_steps": self.max_steps, "batch_size": self.batch_size}
        if self.method == "lora":
            hp["lora_rank"] = self.lora_rank
        if self.train_shots:
            hp["train_shots"] = self.train_shots
        if self.dtype != "auto":
            hp["dtype"] = self.dtype
        return hp

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return float(self.lr)
        return 1e-4 if self.method == "full" else 1e-3


@dataclass(frozen=True)
class EvalSettings:
    """How evaluations run. `device`: auto | cpu | cuda | cuda:N | mps (`emergence run` checks that this machine
    has it when jobs run locally); `dtype`: auto | float32 | bfloat16.
    `keep_examples`: store each job's per-example records (exact context, log-likelihoods,
    generation) in the store's ``examples`` table; None = when a job evaluates at most
    `KEEP_EXAMPLES_UP_TO` examples."""

    batch_size: int = 16
    device: str = "auto"
    dtype: str = "auto"
    keep_examples: bool | None = None


#: `EvalSettings.keep_examples=None` keeps per-example records of jobs with at most this many examples.
KEEP_EXAMPLES_UP_TO = 1000


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
        """Check values and that local files exist; return self (raises ConfigError)."""
        src = self.source
        if (not isinstance(self.name, str) or not self.name.strip() or self.name in (".", "..")
                or any(c in self.name for c in "/\\\0") or self.name != self.name.strip()):
            raise ConfigError(f"{src}: name: {self.name!r} is not a plain file name (it names the store, "
                              "<name>.db beside the config); use letters, digits, '-', '_' or '.', no folders")
        if not self.ladder:
            raise ConfigError(f"{src}: ladder: is empty; list at least one checkpoint (a local HF folder or a hub id)")
        seen: dict[str, int] = {}
        for i, ck in enumerate(self.ladder):
            where = f"{src}: ladder[{i}]"
            if not isinstance(ck.path, str) or not ck.path:
                raise ConfigError(f"{where}.path: missing; give a local HF checkpoint folder or a hub id")
            if ck.is_local:
                p = Path(ck.path)
                if p.is_file() and p.suffix == ".gguf":
                    _check_gguf_support(f"{where}.path")
                elif not p.is_dir():
                    raise ConfigError(f"{where}.path: folder {ck.path} does not exist; give a local HF checkpoint "
                                      "folder, a .gguf file or a hub id")
                elif not (p / "config.json").is_file():
                    raise ConfigError(f"{where}.path: {ck.path} has no config.json; point at a Hugging Face checkpoint folder (save_pretrained output)")
            for key in ("params", "tokens", "flops", "tokens_per_step"):
                v = getattr(ck, key)
                if v is not None and not (isinstance(v, (int, float)) and 0 < v < math.inf):
                    raise ConfigError(f"{where}.{key}: {v!r} is not a finite positive number; give a number like 1.2e9 or remove the key")
            if ck.model_id in seen:
                raise ConfigError(f"{where}: model id {ck.model_id!r} repeats ladder[{seen[ck.model_id]}]; give each checkpoint a distinct `name`")
            seen[ck.model_id] = i
        if not Path(self.task.path).exists():
            raise ConfigError(f"{src}: task.path: file {self.task.path} does not exist; give a JSONL task file (or a "
                              "folder of train/test files), an lm-eval task YAML or a BIG-bench task.json")
        _positive_or_none(self.task.limit, f"{src}: task.limit")
        if self.task.format not in ("cloze", "mc", "both"):
            raise ConfigError(f"{src}: task.format: {self.task.format!r}; use cloze, mc or both")
        if self.task.extract is not None:
            try:
                re.compile(self.task.extract)
            except re.error as exc:
                raise ConfigError(f"{src}: task.extract: {self.task.extract!r} is not a valid regex ({exc}); "
                                  "fix the pattern") from None
        if isinstance(self.task.extract_select, bool) or not isinstance(self.task.extract_select, int):
            raise ConfigError(f"{src}: task.extract_select: {self.task.extract_select!r}; give 0 (first match) "
                              "or -1 (last match)")
        if self.fewshot.sampler not in ("query", "lm-eval"):
            raise ConfigError(f"{src}: fewshot.sampler: {self.fewshot.sampler!r}; use query or lm-eval")
        if self.reference is not None:
            if not Path(self.reference.path).is_file():
                raise ConfigError(f"{src}: reference.path: file {self.reference.path} does not exist; give a held-out .txt or .jsonl text file")
            _positive(self.reference.max_tokens, f"{src}: reference.max_tokens")
            _positive(self.reference.seq_len, f"{src}: reference.seq_len")
        for s in self.fewshot.shots:
            _non_negative(s, f"{src}: fewshot.shots")
        ft = self.finetune
        for n in ft.n_train:
            _positive(n, f"{src}: finetune.n_train")
        if len(set(ft.n_train)) != len(ft.n_train):
            raise ConfigError(f"{src}: finetune.n_train: {list(ft.n_train)} repeats a value; list each data amount once")
        if ft.n_train and not ft.seeds:
            raise ConfigError(f"{src}: finetune.seeds: empty; give a count (e.g. 2) or a list of seeds")
        if ft.method not in ("full", "lora"):
            raise ConfigError(f"{src}: finetune.method: {ft.method!r} is not supported; use full or lora")
        _positive(ft.lora_rank, f"{src}: finetune.lora_rank")
        if ft.lr is not None and not (isinstance(ft.lr, (int, float)) and 0 < ft.lr < math.inf):
            raise ConfigError(f"{src}: finetune.lr: {ft.lr!r} is not a finite positive number; use e.g. 1e-4")
        _positive(ft.epochs, f"{src}: finetune.epochs")
        _positive_or_none(ft.max_steps, f"{src}: finetune.max_steps")
        _positive(ft.batch_size, f"{src}: finetune.batch_size")
        for s in ft.eval_shots:
            _non_negative(s, f"{src}: finetune.shots")
        if not ft.eval_shots:
            raise ConfigError(f"{src}: finetune.shots: empty; give the in-context examples of the evaluation (e.g. 0)")
        _non_negative(ft.train_shots, f"{src}: finetune.train_shots")
        if ft.train_shots and any(n <= ft.train_shots for n in ft.n_train):
            raise ConfigError(f"{src}: finetune.train_shots: {ft.train_shots} demonstrations per training prompt need "
                              f"n_train > {ft.train_shots} (they are drawn from the finetuning subset); raise the "
                              "smallest n_train or lower train_shots")
        if not self.fewshot.shots and not ft.n_train:
            raise ConfigError(f"{src}: fewshot.shots and finetune.n_train are both empty; the study has no jobs")
        _positive(self.eval.batch_size, f"{src}: eval.batch_size")
        if self.eval.keep_examples not in (None, True, False):
            raise ConfigError(f"{src}: eval.keep_examples: {self.eval.keep_examples!r}; use true, false or leave it "
                              "unset (kept for small jobs)")
        if ft.dtype not in ("auto", "float32", "bfloat16"):
            raise ConfigError(f"{src}: finetune.dtype: {ft.dtype!r}; use auto, float32 or bfloat16")
        if not isinstance(ft.keep_checkpoints, (bool, str)) or ft.keep_checkpoints == "":
            raise ConfigError(f"{src}: finetune.keep_checkpoints: {ft.keep_checkpoints!r}; use true, false or a folder")
        from emergence_laws.devices import check_device_name

        try:
            check_device_name(self.eval.device, f"{src}: eval.device")  # syntax; `run` checks this machine has it
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        if self.eval.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ConfigError(f"{src}: eval.dtype: {self.eval.dtype!r}; use auto, float32, bfloat16 or float16")
        ex = self.executor
        if ex.kind not in ("local", "ray"):
            raise ConfigError(f"{src}: executor.kind: {ex.kind!r}; use local or ray")
        _positive(ex.workers, f"{src}: executor.workers")
        if not (0 <= ex.num_cpus < math.inf and 0 <= ex.num_gpus < math.inf):
            raise ConfigError(f"{src}: executor.num_cpus/num_gpus: {ex.num_cpus:g}/{ex.num_gpus:g}; give finite numbers >= 0")
        _non_negative(ex.max_retries, f"{src}: executor.max_retries")
        _positive_or_none(ex.threads_per_worker, f"{src}: executor.threads_per_worker")
        return self

    def with_overrides(self, **changes: Any) -> StudyConfig:
        """A copy with top-level fields replaced (e.g. ``executor=...``, ``store=...``)."""
        return replace(self, **changes)


def _check_gguf_support(where: str) -> None:
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ConfigError(f"{where}: reading .gguf files needs the gguf package; "
                          "pip install 'emergence-laws[gguf]' (or pip install gguf)") from None


def _positive(v: Any, where: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ConfigError(f"{where}: {v!r} is not a positive integer; give a whole number >= 1")


def _positive_or_none(v: Any, where: str) -> None:
    if v is not None:
        _positive(v, where)


def _non_negative(v: Any, where: str) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ConfigError(f"{where}: {v!r} is not a non-negative integer; give a whole number >= 0")


# ---------------------------------------------------------------- YAML -> dataclasses

def load_study(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a study YAML file. Relative paths resolve against the file's folder."""
    from emergence_laws.paths import read_text

    p = Path(path)
    try:
        text = read_text(p, "study YAML", "give the path of a study YAML (see examples/)")
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    from emergence_laws.yamlio import load_yaml

    try:
        data = load_yaml(text, str(p))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    return study_from_dict(data, base_dir=p.parent, source=p.name, default_name=p.stem)


def study_from_dict(data: Any, *, base_dir: str | os.PathLike[str] = ".", source: str = "<dict>",
                    default_name: str = "study") -> StudyConfig:
    """Build and validate a StudyConfig from a parsed YAML mapping."""
    base = Path(base_dir)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping with keys ladder, task, ...; see examples/")
    top = _check_keys(data, ("name", "store", "ladder", "task", "reference", "fewshot", "finetune",
                             "eval", "executor"), source, required=("ladder", "task"))
    name = str(top.get("name") or default_name)
    store = top.get("store")
    store_path = str(_resolve(base, str(store))) if store else str(base / f"{name}.db")

    ladder = _parse_ladder(top["ladder"], base, source)
    task = _build(TaskSource, _section(top, "task", source, shorthand="path"), f"{source}: task",
                  paths=("path",), base=base)
    reference = None
    if top.get("reference") is not None:
        reference = _build(ReferenceText, _section(top, "reference", source, shorthand="path"),
                           f"{source}: reference", paths=("path",), base=base)
    fewshot_raw = dict(_section(top, "fewshot", source) or {})
    if "shots" in fewshot_raw:
        fewshot_raw["shots"] = _int_list(fewshot_raw["shots"], f"{source}: fewshot.shots", allow_empty=True)
    if "seeds" in fewshot_raw:
        fewshot_raw["seeds"] = _seeds(fewshot_raw["seeds"], f"{source}: fewshot.seeds")
    fewshot = _build(FewshotGrid, fewshot_raw, f"{source}: fewshot")
    ft_section = _section(top, "finetune", source)
    ft_raw = dict(ft_section or {})
    _check_keys(ft_raw, [f.name for f in fields(FinetuneGrid)], f"{source}: finetune")  # `n_trian`: did you mean
    if ft_section is not None and ft_raw.get("n_train") in (None, [], ()):  # no amounts: never fittable
        raise ConfigError(f"{source}: finetune.n_train: missing or empty; list the data amounts (e.g. [8, 32, 128, 512], "
                          "2+ amounts) or remove the finetune section for a few-shot-only study")
    if "n_train" in ft_raw:
        ft_raw["n_train"] = _int_list(ft_raw["n_train"], f"{source}: finetune.n_train")
    if "seeds" in ft_raw:
        ft_raw["seeds"] = _seeds(ft_raw["seeds"], f"{source}: finetune.seeds")
    if isinstance(ft_raw.get("shots"), (list, tuple)):
        ft_raw["shots"] = _int_list(ft_raw["shots"], f"{source}: finetune.shots")
    if isinstance(ft_raw.get("keep_checkpoints"), str):
        ft_raw["keep_checkpoints"] = str(_resolve(base, ft_raw["keep_checkpoints"]))
    if ft_raw.get("lr") is not None:
        ft_raw["lr"] = _float(ft_raw["lr"], f"{source}: finetune.lr")
    finetune = _build(FinetuneGrid, ft_raw, f"{source}: finetune")
    ev = _build(EvalSettings, _section(top, "eval", source) or {}, f"{source}: eval")
    ex_raw = dict(_section(top, "executor", source, shorthand="kind") or {})
    for k in ("num_cpus", "num_gpus"):
        if k in ex_raw:
            ex_raw[k] = _float(ex_raw[k], f"{source}: executor.{k}")
    executor = _build(ExecutorSettings, ex_raw, f"{source}: executor")
    cfg = StudyConfig(ladder=ladder, task=task, reference=reference, fewshot=fewshot, finetune=finetune,
                      eval=ev, executor=executor, name=name, store=store_path, source=source)
    return cfg.validate()


def _parse_ladder(raw: Any, base: Path, source: str) -> tuple[Checkpoint, ...]:
    defaults: Mapping[str, Any] = {}
    items = raw
    if isinstance(raw, Mapping):
        sec = _check_keys(raw, ("defaults", "checkpoints"), f"{source}: ladder", required=("checkpoints",))
        defaults = sec.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise ConfigError(f"{source}: ladder.defaults: must be a mapping of checkpoint keys (family, tokens_per_step, ...)")
        items = sec["checkpoints"]
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise ConfigError(f"{source}: ladder: must be a list of checkpoints (each a path/hub id or a mapping with path:)")
    parsed = []
    for i, item in enumerate(items):
        where = f"{source}: ladder[{i}]"
        entry = {"path": item} if isinstance(item, str) else item
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a path string or a mapping with path:, got {type(item).__name__}")
        merged = {**defaults, **entry}
        for k in ("params",):
            if k in merged and merged[k] is not None:
                merged[k] = int(_float(merged[k], f"{where}.{k}"))
        for k in ("tokens", "flops", "tokens_per_step"):
            if k in merged and merged[k] is not None:
                merged[k] = _float(merged[k], f"{where}.{k}")
        if "revision" in merged and merged["revision"] is not None:
            merged["revision"] = str(merged["revision"])
        parsed.append((where, entry, item, _build(Checkpoint, merged, where, required=("path",))))
    # a path's first folder, where some entry is clearly a path: `checkpoints/small` beside
    # `checkpoints/large/step-2000` is a folder too, not a hub id
    path_heads = {_head(ck.path) for _, _, _, ck in parsed if ck.path and _looks_like_path(ck.path, base)}
    out = []
    for where, entry, item, ck in parsed:
        if ck.path and (_looks_like_path(ck.path, base) or _head(ck.path) in path_heads):
            resolved = _resolve(base, ck.path)
            if not resolved.exists():
                raise ConfigError(f"{where}.path: folder {ck.path} does not exist{_missing_hint(ck.path, base)}; "
                                  "give a local HF checkpoint folder, a .gguf file or a hub id (org/name)")
            ck = replace(ck, path=str(resolved))
            if not ck.name:
                given = Path(entry["path"] if isinstance(entry, Mapping) else item)
                ck = replace(ck, name=given.stem if given.suffix == ".gguf" else given.name)
        out.append(ck)
    return tuple(out)


def _head(path: str) -> str:
    """The first segment of a path or hub id (``checkpoints/small`` -> ``checkpoints``)."""
    return re.split(r"[/\\]", path.strip(), maxsplit=1)[0]


def _looks_like_path(path: str, base: Path) -> bool:
    """A ladder entry that names a local checkpoint, not a hub id ``org/name``: it starts with ``.``, ``/``
    or ``~``, is not of the form ``org/name``, ends in ``.gguf``, or its first segment exists beside the
    YAML or beside the YAML's folder."""
    p = path.strip()
    if p.startswith((".", "/", "~", "\\")) or re.match(r"^[A-Za-z]:[/\\]", p) or not _HUB_ID.match(p):
        return True
    if p.lower().endswith(".gguf"):
        return True
    head = _head(p)
    return _resolve(base, p).exists() or (base / head).exists() or (base.parent / head).exists()


def _missing_hint(path: str, base: Path) -> str:
    """Where a missing relative path was looked for, and the sibling folder it may have meant."""
    if Path(os.path.expanduser(path)).is_absolute():
        return ""
    hint = f" (relative to {base.resolve() if str(base) else Path.cwd()})"
    head = _head(path)
    if not (base / head).exists() and (base.parent / head).exists():
        hint += f"; ../{head} exists beside the YAML's folder: did you mean ../{path}?"
    return hint


def hub_ids(cfg: StudyConfig) -> list[str]:
    """The ladder entries that are hub ids (downloaded by transformers when a job loads them)."""
    return [ck.model_id for ck in cfg.ladder if not ck.is_local]


def _section(top: Mapping[str, Any], key: str, source: str, shorthand: str | None = None) -> Any:
    val = top.get(key)
    if val is None:
        return None
    if shorthand and isinstance(val, str):
        return {shorthand: val}
    if not isinstance(val, Mapping):
        raise ConfigError(f"{source}: {key}: must be a mapping, got {type(val).__name__}; see examples/")
    return val


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str,
                required: Sequence[str] = ()) -> Mapping[str, Any]:
    for k in data:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f"did you mean {close[0]}?" if close else f"allowed keys: {', '.join(allowed)}"
            raise ConfigError(f"{where}: unknown key {k!r}; {hint}")
    for k in required:
        if data.get(k) is None:
            raise ConfigError(f"{where}: missing key {k!r}; add it (see examples/)")
    return data


def _build(cls: type, raw: Mapping[str, Any] | None, where: str, *, required: Sequence[str] = (),
           paths: Sequence[str] = (), base: Path | None = None) -> Any:
    raw = dict(raw or {})
    names = [f.name for f in fields(cls)]
    _check_keys(raw, names, where, required=required)
    if base is not None:
        for k in paths:
            if raw.get(k) is not None:
                raw[k] = str(_resolve(base, str(raw[k])))
    types = {f.name: f.type for f in fields(cls)}
    for k, v in list(raw.items()):
        t = str(types[k])
        if v is None or (isinstance(v, tuple) and "tuple" in t):  # lists parsed by the section's loader
            continue
        if t.startswith("int") and (isinstance(v, bool) or not isinstance(v, int)):
            if isinstance(v, float) and v.is_integer():
                raw[k] = int(v)
            else:
                raise ConfigError(f"{where}.{k}: {v!r} is not an integer; give a whole number")
        elif t.startswith("str") and not isinstance(v, str):
            raw[k] = str(v)
        elif t.startswith("float") and not isinstance(v, (int, float)):
            raw[k] = _float(v, f"{where}.{k}")
    return cls(**raw)


def _resolve(base: Path, p: str) -> Path:
    q = Path(os.path.expanduser(p))
    return q if q.is_absolute() else (base / q)


def _float(v: Any, where: str) -> float:
    message = f"{where}: {v!r} is not a number; give e.g. 1e-4"
    if isinstance(v, bool):  # YAML true/false would pass float() as 1.0/0.0
        raise ConfigError(message)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ConfigError(message) from None


def _int_list(v: Any, where: str, *, allow_empty: bool = False) -> tuple[int, ...]:
    items = [v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise ConfigError(f"{where}: {v!r} must be an integer or a list of integers, e.g. [8, 32, 128]")
    out = []
    for x in items:
        if isinstance(x, float) and x.is_integer():
            x = int(x)
        if isinstance(x, bool) or not isinstance(x, int):
            raise ConfigError(f"{where}: {x!r} is not an integer; give whole numbers, e.g. [8, 32, 128]")
        out.append(x)
    if not out and not allow_empty:
        raise ConfigError(f"{where}: empty; give at least one value")
    return tuple(out)


def _seeds(v: Any, where: str) -> tuple[int, ...]:
    """`seeds: 3` means seeds 0, 1, 2; a list gives them explicitly."""
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 1:
            raise ConfigError(f"{where}: {v} seeds; give a count >= 1 or a list of seeds")
        return tuple(range(v))
    return _int_list(v, where)
