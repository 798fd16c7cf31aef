"""Content hashes: of a JSON-able object (`digest`) and of a file's bytes (`file_digest`, big files sampled).

Job keys (`study.keys`) and the GGUF conversion cache (`models.gguf`) are built from these.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: Weight files above this size are fingerprinted by size + three 1 MiB samples, not read in full.
FULL_HASH_BYTES = 16 * 2**20
_SAMPLE = 2**20


def digest(obj: Any, n: int = 24) -> str:
    """sha256 of the canonical JSON of `obj`, first `n` hex digits."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:n]


def file_digest(path: str | os.PathLike[str], full: bool = True) -> str:
    """sha256 of a file's bytes; with `full=False` and a large file: size + head/middle/tail samples."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256()
    with p.open("rb") as fh:
        if full or size <= FULL_HASH_BYTES:
            for chunk in iter(lambda: fh.read(2**20), b""):
                h.update(chunk)
        else:
            h.update(str(size).encode())
            for offset in (0, size // 2, size - _SAMPLE):
                fh.seek(offset)
                h.update(fh.read(_SAMPLE))
    return h.hexdigest()
