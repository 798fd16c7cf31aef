"""Parse YAML from users (study configs, task files) safely: data only, bounded size, one-line errors."""

from __future__ import annotations

from typing import Any

import yaml

from emergence_laws.errors import InputError

#: Most values (mapping keys and values, list items, counted as expanded through aliases) a
#: user's YAML may hold: far above any real config, far below an alias bomb.
MAX_VALUES = 100_000


def load_yaml(text: str, where: str, loader: type = yaml.SafeLoader) -> Any:
    """`yaml.load` with a safe loader; syntax errors, nesting too deep for Python and alias bombs
    (a few lines that expand to billions of values) become an `InputError` naming `where`."""
    if not issubclass(loader, yaml.SafeLoader):  # never a loader that builds Python objects
        raise TypeError(f"load_yaml needs yaml.SafeLoader or a subclass, got {loader.__name__}")
    try:
        data = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(f"{where}:{line} is not valid YAML ({problem}); fix the syntax") from None
    except RecursionError:
        raise InputError(f"{where}: the YAML is nested too deeply to read; flatten it") from None
    _check_size(data, where)
    return data


def _check_size(data: Any, where: str) -> None:
    count, stack = 0, [data]
    while stack:
        obj = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise InputError(f"{where}: the YAML expands to more than {MAX_VALUES} values (aliases of aliases?); "
                             "write the values out")
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
