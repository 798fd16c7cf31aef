"""Settings' constraints as data, read by one validator (scikit-learn's ``_parameter_constraints`` style).

A settings dataclass declares, once, what each field may hold::

    @dataclass(frozen=True)
    class EvalSettings:
        batch_size: int = 16
        dtype: str = "auto"

        _parameter_constraints: ClassVar[Constraints] = {
            "batch_size": [Interval(int, 1)],
            "dtype": [Options(("auto", "float32", "bfloat16", "float16"))],
        }

and `check_fields(settings, "study.yaml: eval.")` checks every field against its list: a value passes
when it is None and None is listed, or when one of the listed constraints accepts it. Otherwise a
`SettingError` names the key and the fix in one line, e.g. ``study.yaml: eval.batch_size: 0 is not a
positive integer; give a whole number >= 1``; its `key` (``eval.batch_size``) and `reason` (the text
after the key) let a command say the same of its own flag (``--batch-size: 0 is not ...``).
The YAML loader, the `eval` command's flags and the Python API all go through the same tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from numbers import Real
from typing import Any

from emergence_laws.errors import ConfigError, InputError

__all__ = ["Check", "Constraints", "Each", "Interval", "Options", "SettingError", "check_fields", "check_value", "describe"]


class SettingError(ConfigError):
    """A setting with a value it may not take. `key`: the setting's dotted name (``finetune.lr``);
    `reason`: what is wrong and the fix, without the key."""

    def __init__(self, message: str, key: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.reason = reason or message


class Interval:
    """A number of `kind` (int: a whole number, never a bool; float: any finite real) in
    [low, high] (`closed`: "both", "left", "right" or "neither"; None = unbounded)."""

    def __init__(self, kind: type, low: float | None = None, high: float | None = None, *, closed: str = "both",
                 example: str = "1e-4") -> None:
        self.kind, self.low, self.high, self.closed, self.example = kind, low, high, closed, example

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else Real):
            return False
        if not math.isfinite(float(value)):
            return False
        lo_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        hi_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return lo_ok and hi_ok

    def reason(self, value: Any) -> str:
        if self.kind is int:
            if self.low is not None and self.high is None:
                what = {1: "a positive integer", 0: "a non-negative integer"}.get(int(self.low), f"an integer >= {self.low}")
                return f"{value!r} is not {what}; give a whole number >= {self.low:g}"
            return f"{value!r} is not an integer; give a whole number"
        if self.low == 0 and self.high is None:
            if self.closed in ("neither", "right"):
                return f"{value!r} is not a finite positive number; give a number like {self.example}"
            return f"{value!r} is not a finite number >= 0; give finite numbers >= 0, like {self.example}"
        lo = "[" if self.closed in ("both", "left") else "("
        hi = "]" if self.closed in ("both", "right") else ")"
        span = f"{lo}{'-inf' if self.low is None else f'{self.low:g}'}, {'inf' if self.high is None else f'{self.high:g}'}{hi}"
        return f"{value!r} is not a number in {span}; give one, like {self.example}"

    def describe(self) -> str:
        return self.reason("x").split("; give ", 1)[1]


def _word(v: Any) -> str:
    return {True: "true", False: "false", None: "leave it unset"}.get(v, str(v)) if isinstance(v, (bool, type(None))) \
        else str(v)


def _either(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


class Options:
    """One of `values` (strings, bools, None). `note` goes between the value and the fix (`" is not
    supported"`); `use` replaces the generated list of choices."""

    def __init__(self, values: Sequence[Any], *, note: str = "", use: str | None = None) -> None:
        self.values, self.note, self.use = tuple(values), note, use

    def accepts(self, value: Any) -> bool:
        return any(value is v if isinstance(v, (bool, type(None))) else (value == v and not isinstance(value, bool))
                   for v in self.values)

    def reason(self, value: Any) -> str:
        return f"{value!r}{self.note}; use {self.describe()}"

    def describe(self) -> str:
        return self.use or _either([_word(v) for v in self.values])


class Check:
    """A rule in code: `fn(value, key)` returns None when the value is fine, else the reason (what is wrong and
    the fix); an InputError it raises is passed on with its own message (device names: `devices.py`)."""

    def __init__(self, fn: Callable[[Any, str], str | None], describe: str = "") -> None:
        self.fn, self._describe = fn, describe

    def accepts(self, value: Any) -> bool:
        return self.fn(value, "") is None

    def reason(self, value: Any) -> str:
        return self.fn(value, "") or ""

    def describe(self) -> str:
        return self._describe


class Each:
    """A sequence each of whose items passes `inner` (the reason names the first item that does not)."""

    def __init__(self, inner: Interval | Options | Check) -> None:
        self.inner = inner

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (tuple, list)) and all(self.inner.accepts(v) for v in value)

    def reason(self, value: Any) -> str:
        if not isinstance(value, (tuple, list)):
            return f"{value!r} is not a list; give a list, e.g. [8, 32, 128]"
        bad = next(v for v in value if not self.inner.accepts(v))
        return self.inner.reason(bad)

    def describe(self) -> str:
        return "a list: each " + self.inner.describe()


Constraint = Interval | Options | Check | Each | None
#: field name -> the constraints of which its value must meet one (None in the list: the field may be None)
Constraints = Mapping[str, Sequence[Constraint]]


def check_value(value: Any, constraints: Sequence[Constraint], key: str) -> str | None:
    """None when `value` meets one of `constraints`, else the reason of the first (see the module docstring)."""
    if value is None and None in constraints:
        return None
    rules = [c for c in constraints if c is not None]
    if not rules:
        return None
    for rule in rules:
        if isinstance(rule, Check):
            reason = rule.fn(value, key)
            if reason is None:
                return None
            continue
        if rule.accepts(value):
            return None
    if isinstance(value, (tuple, list)):  # a list: say which item is wrong
        first = next((r for r in rules if isinstance(r, Each)), rules[0])
    else:
        first = next((r for r in rules if not isinstance(r, Each)), rules[0])
    return first.fn(value, key) if isinstance(first, Check) else first.reason(value)


def check_fields(settings: Any, prefix: str = "", section: str = "",
                 constraints: Constraints | None = None) -> Any:
    """Check every constrained field of a dataclass; return it. `prefix` starts each message (``"study.yaml: "``),
    `section` names the settings' place (``"finetune"``: keys ``finetune.lr``). Raises SettingError."""
    table = constraints if constraints is not None else getattr(type(settings), "_parameter_constraints", {})
    names = {f.name for f in fields(settings)} if is_dataclass(settings) else set(table)
    for name, cons in table.items():
        if name not in names:
            raise KeyError(f"{type(settings).__name__} has no field {name!r} (its _parameter_constraints name it)")
        key = f"{section}.{name}" if section else name
        try:
            reason = check_value(getattr(settings, name), cons, key)
        except InputError as exc:  # a Check that raises says it all itself (e.g. a device name)
            raise SettingError(f"{prefix}{exc}", key, str(exc)) from None
        if reason is not None:
            raise SettingError(f"{prefix}{key}: {reason}", key, reason)
    return settings


def describe(constraints: Sequence[Constraint]) -> str:
    """What a field accepts, in words (for help texts): ``full or lora``, ``a whole number >= 1``."""
    out = [c.describe() for c in constraints if c is not None]
    if None in constraints:
        out.append("unset")
    return _either([d for d in out if d]) if out else ""
