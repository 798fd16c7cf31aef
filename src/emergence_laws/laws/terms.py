"""How the science core names an argument in a message: as the Python argument, or as its caller names it.

Errors, warnings and notes of ``laws/`` and ``analysis/`` name the arguments of the function the
user called, in backticks: alone (```d0_range```), with a value (```d0_range=(5, 50)```,
```by='family'```, ```ridge=True```), or a filter on a column's value (```format == 'mc'```).
Read from Python they stay as they are. A caller with other names for them (the ``emergence``
commands: ``--d0-range``) says so with :func:`speaking`; within it, errors leave and notes are
printed in its terms (``--d0-range 5 50``, ``--by family``, ``--ridge``, ``--where format=mc``).

    with speaking({"d0_range": "--d0-range", "where": "--where"}):
        fit_table(df, d0_range=(50, 5))   # InputError: --d0-range 50 5: not a range of examples ...

A term maps an argument name to the caller's name, or a whole ``name=value`` to a phrase
(``{"loss_axis='pretrain_bpb'": "--x bpb"}``). Names the terms do not hold stay as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from emergence_laws.errors import EmergenceError

_TERMS: ContextVar[Mapping[str, str] | None] = ContextVar("emergence_terms", default=None)

#: A backticked argument: ``name`` or ``name=value``; or a filter ``column == 'value'``.
_NAMED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)(?:=([^`]*)|\s*==\s*(['\"])([^`]*)\3)?`")


def _value(text: str) -> str:
    """A Python value as a command line writes it: ``'family'`` -> family, ``(5, 50)`` -> 5 50."""
    text = text.strip()
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]":
        return " ".join(_value(part) for part in text[1:-1].split(","))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def rename(text: str, terms: Mapping[str, str] | None) -> str:
    """``text`` with its backticked arguments in ``terms``'s names (unchanged without terms)."""
    if not terms:
        return text

    def sub(m: re.Match) -> str:
        name, value, filtered = m.group(1), m.group(2), m.group(4)
        if filtered is not None:  # `format == 'mc'`: rows of one value of a column
            where = terms.get("where")
            return f"{where} {name}={filtered}" if where else m.group(0)
        if value is not None and f"{name}={value}" in terms:
            return terms[f"{name}={value}"]
        flag = terms.get(name)
        if flag is None:
            return m.group(0)
        if value is None or value.strip() == "True":
            return flag
        return f"{flag} {_value(value)}"

    return _NAMED.sub(sub, text)


def named(text: str) -> str:
    """``text`` in the terms of the :func:`speaking` block around the call (unchanged outside one)."""
    return rename(text, _TERMS.get())


def renamed(obj: Any, terms: Mapping[str, str] | None = None) -> Any:
    """Every string of a JSON-like ``obj`` (dicts, lists) renamed (``terms``: default the current block's)."""
    terms = _TERMS.get() if terms is None else terms
    if isinstance(obj, str):
        return rename(obj, terms)
    if isinstance(obj, dict):
        return {k: renamed(v, terms) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(renamed(v, terms) for v in obj)
    return obj


@contextmanager
def speaking(terms: Mapping[str, str]) -> Iterator[None]:
    """Within the block, :func:`named` uses ``terms``, and an :class:`EmergenceError` leaving it is renamed."""
    token = _TERMS.set(terms)
    try:
        yield
    except EmergenceError as exc:
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (rename(exc.args[0], terms), *exc.args[1:])
        raise
    finally:
        _TERMS.reset(token)
