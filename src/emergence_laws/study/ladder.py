"""The ladder: its checkpoints (`Checkpoint`), local paths vs hub ids, and ladders read from a YAML list or a folder.

    find_checkpoints("ckpts/")  # [ckpts/step2000, ckpts/step10000]: each a HF folder or a .gguf file
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from emergence_laws.constraints import Check, Constraints, Interval
from emergence_laws.errors import ConfigError, InputError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_STEP = re.compile(r"(?:^|[^a-z])step[_-]?(\d+)", re.IGNORECASE)


def is_hub_id(path: str) -> bool:
    """True when `path` looks like ``org/name`` and no such local folder exists."""
    return bool(_HUB_ID.match(path)) and not Path(path).exists() and not path.startswith(".")


def _check_gguf_support(where: str) -> None:
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ConfigError(f"{where}: reading .gguf files needs the gguf package; "
                          "pip install 'emergence-laws[gguf]' (or pip install gguf)") from None


def _checkpoint_path(path: Any, key: str) -> str | None:
    """A hub id, a .gguf file, or a folder with a config.json."""
    if not isinstance(path, str) or not path:
        return "missing; give a local HF checkpoint folder or a hub id"
    if is_hub_id(path):
        return None
    p = Path(path)
    if p.is_file() and p.suffix == ".gguf":
        _check_gguf_support(key)
        return None
    if not p.is_dir():
        return f"folder {path} does not exist; give a local HF checkpoint folder, a .gguf file or a hub id"
    if not (p / "config.json").is_file():
        return f"{path} has no config.json; point at a Hugging Face checkpoint folder (save_pretrained output)"
    return None


_SCALE = [Interval(float, 0, closed="neither", example="1.2e9"), None]


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

    _parameter_constraints: ClassVar[Constraints] = {
        "path": [Check(_checkpoint_path, "a local HF folder, a .gguf file or a hub id")],
        "params": _SCALE, "tokens": _SCALE, "flops": _SCALE, "tokens_per_step": _SCALE,
    }

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


def hub_ids(ladder: Sequence[Checkpoint]) -> list[str]:
    """The ladder entries that are hub ids (downloaded by transformers when a job loads them)."""
    return [ck.model_id for ck in ladder if not ck.is_local]


def repeated_model_id(ladder: Sequence[Checkpoint]) -> tuple[str, str] | None:
    """(key, reason) for the first checkpoint whose model id an earlier one has, or None."""
    seen: dict[str, int] = {}
    for i, ck in enumerate(ladder):
        if ck.model_id in seen:
            return (f"ladder[{i}]", f"model id {ck.model_id!r} repeats ladder[{seen[ck.model_id]}]; "
                                    "give each checkpoint a distinct `name`")
        seen[ck.model_id] = i
    return None


# ---------------------------------------------------------------- a ladder from a folder

def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def find_checkpoints(path: str | Path) -> list[Path]:
    """The checkpoints at `path`: itself (a HF folder with ``config.json``, or a ``.gguf`` file) or those
    inside it (subfolders with ``config.json`` and ``.gguf`` files), in natural order."""
    p = Path(path).expanduser()
    if p.is_file():
        if p.suffix != ".gguf":
            raise InputError(f"{p}: is a file; give a checkpoint folder (with config.json), a .gguf file, "
                             "or a folder of checkpoints")
        return [p]
    if not p.is_dir():
        raise InputError(f"{p}: no such checkpoint or folder; check the path")
    if (p / "config.json").is_file():
        return [p]
    found = [c for c in p.iterdir() if (c.is_dir() and (c / "config.json").is_file()) or
             (c.is_file() and c.suffix == ".gguf")]
    if not found:
        raise InputError(f"{p}: no checkpoints inside (subfolders with config.json, or .gguf files); "
                         "give a checkpoint folder or a folder of them")
    return sorted(found, key=_natural_key)


# ---------------------------------------------------------------- a ladder from a YAML list

def resolve_path(base: Path, p: str) -> Path:
    """`p` with ``~`` expanded, relative to `base` unless absolute."""
    q = Path(os.path.expanduser(p))
    return q if q.is_absolute() else (base / q)


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
    return resolve_path(base, p).exists() or (base / head).exists() or (base.parent / head).exists()


def _missing_hint(path: str, base: Path) -> str:
    """Where a missing relative path was looked for, and the sibling folder it may have meant."""
    if Path(os.path.expanduser(path)).is_absolute():
        return ""
    hint = f" (relative to {base.resolve() if str(base) else Path.cwd()})"
    head = _head(path)
    if not (base / head).exists() and (base.parent / head).exists():
        hint += f"; ../{head} exists beside the YAML's folder: did you mean ../{path}?"
    return hint


def parse_ladder(raw: Any, base: Path, source: str,
                 build: Callable[[Mapping[str, Any], str], Checkpoint]) -> tuple[Checkpoint, ...]:
    """The ladder of a study YAML: a list of entries (a path/hub id, or a mapping with ``path:``), or
    ``{defaults: {...}, checkpoints: [...]}``. `build(entry, where)` makes one Checkpoint (the YAML loader's
    key and type checks). Entries that look like paths are resolved against `base` and must exist."""
    defaults: Mapping[str, Any] = {}
    items = raw
    if isinstance(raw, Mapping):
        unknown = [k for k in raw if k not in ("defaults", "checkpoints")]
        if unknown:
            raise ConfigError(f"{source}: ladder: unknown key {unknown[0]!r}; allowed keys: defaults, checkpoints")
        if raw.get("checkpoints") is None:
            raise ConfigError(f"{source}: ladder: missing key 'checkpoints'; add it (see examples/)")
        defaults = raw.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise ConfigError(f"{source}: ladder.defaults: must be a mapping of checkpoint keys (family, tokens_per_step, ...)")
        items = raw["checkpoints"]
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise ConfigError(f"{source}: ladder: must be a list of checkpoints (each a path/hub id or a mapping with path:)")
    parsed = []
    for i, item in enumerate(items):
        where = f"{source}: ladder[{i}]"
        entry = {"path": item} if isinstance(item, str) else item
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: must be a path string or a mapping with path:, got {type(item).__name__}")
        merged = {**defaults, **entry}
        params = merged.get("params")
        if isinstance(params, str):  # YAML reads 1.6e8 (no sign in the exponent) as text
            try:
                params = float(params)
            except ValueError:
                pass  # the loader's type check names it
        if isinstance(params, float) and params.is_integer():
            merged["params"] = int(params)
        if merged.get("revision") is not None:
            merged["revision"] = str(merged["revision"])
        parsed.append((where, entry, item, build(merged, where)))
    # a path's first folder, where some entry is clearly a path: `checkpoints/small` beside
    # `checkpoints/large/step-2000` is a folder too, not a hub id
    path_heads = {_head(ck.path) for _, _, _, ck in parsed if ck.path and _looks_like_path(ck.path, base)}
    out = []
    for where, entry, item, ck in parsed:
        if ck.path and (_looks_like_path(ck.path, base) or _head(ck.path) in path_heads):
            resolved = resolve_path(base, ck.path)
            if not resolved.exists():
                raise ConfigError(f"{where}.path: folder {ck.path} does not exist{_missing_hint(ck.path, base)}; "
                                  "give a local HF checkpoint folder, a .gguf file or a hub id (org/name)")
            ck = replace(ck, path=str(resolved))
            if not ck.name:
                given = Path(entry["path"] if isinstance(entry, Mapping) else item)
                ck = replace(ck, name=given.stem if given.suffix == ".gguf" else given.name)
        out.append(ck)
    return tuple(out)
