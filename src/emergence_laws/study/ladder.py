"""A ladder from a folder: the checkpoints at a path, in natural order (``step2000`` before ``step10000``).

    find_checkpoints("ckpts/")  # [ckpts/step2000, ckpts/step10000]: each a HF folder or a .gguf file
"""

from __future__ import annotations

import re
from pathlib import Path

from emergence_laws.errors import InputError


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

