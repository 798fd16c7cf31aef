"""Answer extraction for generation tasks: lm-eval's filters and BIG-bench's `output_regex`.

A greedy generation like ``50 + 54 = 104`` scores 0 under strict exact match against ``104``.
An `Extractor` turns the generation into the answer to compare, as lm-evaluation-harness's
filter pipelines do: ``regex`` (the `select`-th match of a pattern, its first group if it has
groups, else `fallback`), then optional ``strip``/``lowercase``; ``take_first`` (first of several
sampled responses) is a no-op for one greedy response. BIG-bench's ``output_regex`` is the first
match (select 0) and "" when nothing matches. Evaluation reports strict ``exact_match`` and, per
declared extractor, ``exact_match_<name>`` side by side.

    ex = Extractor("extracted", regex=r"[-+]?\\d+", select=-1)
    ex("50 + 54 = 104")   # '104'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emergence_laws.errors import InputError

#: lm-eval's fallback for a regex that does not match.
INVALID = "[invalid]"


@dataclass(frozen=True)
class Extractor:
    """One extraction pipeline. `name` becomes the metric suffix (``exact_match_<name>``)."""

    name: str = "extracted"
    regex: str | None = None
    select: int = 0
    fallback: str = INVALID
    strip: bool = True
    lowercase: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", self.name):
            raise InputError(f"extractor name {self.name!r}: use lower-case letters, digits and _ "
                             "(it becomes the metric name exact_match_<name>)")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise InputError(f"extraction regex {self.regex!r} does not compile ({exc}); fix the pattern") from None

    @property
    def metric(self) -> str:
        return f"exact_match_{self.name}"

    def __call__(self, text: str) -> str:
        out = text
        if self.regex is not None:
            matches = re.findall(self.regex, out)
            if matches:
                try:
                    m = matches[self.select]
                except IndexError:
                    m = matches[-1] if self.select > 0 else matches[0]
                out = next((g for g in m if g), "") if isinstance(m, tuple) else m
            else:
                out = self.fallback
        return self.normalise(out)

    def normalise(self, text: str) -> str:
        """The pipeline's text steps without the regex (applied to the target before comparing)."""
        if self.strip:
            text = text.strip()
        if self.lowercase:
            text = text.lower()
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "regex": self.regex, "select": self.select, "fallback": self.fallback,
                "strip": self.strip, "lowercase": self.lowercase}


def _metric_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or "extracted"


def from_lmeval_filter_list(filter_list: Any, where: str) -> tuple[Extractor, ...]:
    """Extractors from an lm-eval task YAML's ``filter_list`` (regex, take_first, remove_whitespace,
    lowercase steps; a pipeline without a regex is kept for its other steps)."""
    if filter_list is None:
        return ()
    if not isinstance(filter_list, Sequence) or isinstance(filter_list, (str, bytes)):
        raise InputError(f"{where}: filter_list must be a list of {{name, filter: [steps]}}")
    out = []
    for item in filter_list:
        if not isinstance(item, Mapping) or not isinstance(item.get("filter"), Sequence):
            raise InputError(f"{where}: each filter_list entry needs a name and a filter list of steps")
        kw: dict[str, Any] = {"name": _metric_name(str(item.get("name", "extracted"))), "strip": False}
        for step in item["filter"]:
            fn = step.get("function") if isinstance(step, Mapping) else None
            if fn == "regex":
                kw["regex"] = step.get("regex_pattern", r"#### (\-?[0-9\.\,]+)")
                kw["select"] = int(step.get("group_select", 0))
                kw["fallback"] = str(step.get("fallback", INVALID))
            elif fn == "take_first":
                continue
            elif fn in ("remove_whitespace", "strip"):
                kw["strip"] = True
            elif fn == "lowercase":
                kw["lowercase"] = True
            else:
                raise InputError(f"{where}: filter step {fn!r} is not supported; use regex, take_first, "
                                 "remove_whitespace or lowercase")
        if kw["name"] == "none" and "regex" not in kw:
            continue  # lm-eval's default "none" pipeline is our strict exact_match
        out.append(Extractor(**kw))
    return tuple(out)


def task_extractors(metadata: Mapping[str, Any]) -> tuple[Extractor, ...]:
    """The extractors a task declares in its metadata (``extractors``: Extractor objects or dicts)."""
    found = metadata.get("extractors") or ()
    return tuple(e if isinstance(e, Extractor) else Extractor(**e) for e in found)
