"""A study YAML file -> a validated `StudyConfig` (`emergence_laws.study.config`).

Each section of the YAML is one dataclass; its keys are the dataclass's fields (an unknown key is
refused with the closest known one: ``n_trian`` -> did you mean n_train?), values are converted by
the fields' types (YAML's ``1e-4`` is text: read as a number), lists by the section's parsers
(`PARSERS`), and relative paths resolve against the YAML's folder. Then `StudyConfig.validate()`
checks every value against the constraints the dataclasses declare.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from emergence_laws.errors import ConfigError, InputError
from emergence_laws.study.config import SECTIONS, Checkpoint, FinetuneGrid, StudyConfig
from emergence_laws.study.ladder import parse_ladder, resolve_path

__all__ = ["PARSERS", "load_study", "study_from_dict"]


def load_study(path: str | os.PathLike[str]) -> StudyConfig:
    """Read and validate a study YAML file. Relative paths resolve against the file's folder."""
    from emergence_laws.paths import read_text
    from emergence_laws.yamlio import load_yaml

    p = Path(path)
    try:
        text = read_text(p, "study YAML", "give the path of a study YAML (see examples/)")
        data = load_yaml(text, str(p))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    return study_from_dict(data, base_dir=p.parent, source=p.name, default_name=p.stem)


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


def _int_or_list(v: Any, where: str) -> int | tuple[int, ...]:
    return _int_list(v, where) if isinstance(v, (list, tuple)) else v


def _names(v: Any, where: str) -> Any:
    return tuple(str(x) for x in v) if isinstance(v, (list, tuple)) else v


#: Section -> key -> how its YAML value becomes the field's value (the other keys: by the field's type).
PARSERS: dict[str, dict[str, Callable[[Any, str], Any]]] = {
    "fewshot": {"shots": lambda v, w: _int_list(v, w, allow_empty=True), "seeds": _seeds},
    "finetune": {"n_train": _int_list, "seeds": _seeds, "shots": _int_or_list, "lora_target_modules": _names},
}

#: Section -> keys holding paths, resolved against the YAML's folder.
PATHS: dict[str, tuple[str, ...]] = {"task": ("path",), "reference": ("path",), "finetune": ("keep_checkpoints",)}

#: Sections that may be one string: the value of this key (``task: task.jsonl``).
SHORTHANDS: dict[str, str] = {"task": "path", "reference": "path", "executor": "kind"}

#: The YAML's top-level keys.
TOP_KEYS = ("name", "store", "ladder", *SECTIONS)


def study_from_dict(data: Any, *, base_dir: str | os.PathLike[str] = ".", source: str = "<dict>",
                    default_name: str = "study") -> StudyConfig:
    """Build and validate a StudyConfig from a parsed YAML mapping."""
    base = Path(base_dir)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping with keys ladder, task, ...; see examples/")
    top = _check_keys(data, TOP_KEYS, source, required=("ladder", "task"))
    name = str(top.get("name") or default_name)
    store = top.get("store")
    store_path = str(resolve_path(base, str(store))) if store else str(base / f"{name}.db")

    ladder = parse_ladder(top["ladder"], base, source,
                          lambda entry, where: _build(Checkpoint, entry, where, required=("path",)))
    ft_section = _section(top, "finetune", source)
    if ft_section is not None:
        _check_keys(ft_section, [f.name for f in fields(FinetuneGrid)], f"{source}: finetune")  # n_trian: did you mean
        if ft_section.get("n_train") in (None, [], ()):  # no amounts: never fittable
            raise ConfigError(f"{source}: finetune.n_train: missing or empty; list the data amounts (e.g. [8, 32, "
                              "128, 512], 2+ amounts) or remove the finetune section for a few-shot-only study")
    defaults = {f.name: f.default for f in fields(StudyConfig)}
    sections = {}
    for section, cls in SECTIONS.items():
        raw = _section(top, section, source, shorthand=SHORTHANDS.get(section))
        if raw is None and section in defaults and defaults[section] is None:  # an optional section: absent
            sections[section] = None
            continue
        sections[section] = _build(cls, raw, f"{source}: {section}", parsers=PARSERS.get(section, {}),
                                   paths=PATHS.get(section, ()), base=base)
    cfg = StudyConfig(ladder=ladder, **sections, name=name, store=store_path, source=source)
    return cfg.validate()


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
           parsers: Mapping[str, Callable[[Any, str], Any]] | None = None, paths: Sequence[str] = (),
           base: Path | None = None) -> Any:
    """`cls(**raw)` after checking the keys, parsing lists (`parsers`), resolving `paths` against `base`
    and converting each value by its field's type (an integer-valued float to int, text to a number)."""
    raw = dict(raw or {})
    types = {f.name: str(f.type) for f in fields(cls)}
    _check_keys(raw, list(types), where, required=required)
    for k, parse in (parsers or {}).items():
        if raw.get(k) is not None:
            raw[k] = parse(raw[k], f"{where}.{k}")
    for k in paths:
        if isinstance(raw.get(k), str) and base is not None:
            raw[k] = str(resolve_path(base, raw[k]))
    for k, v in list(raw.items()):
        t = types[k]
        if v is None or k in (parsers or {}):
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
