"""Paths the user gives: read input text files and check output paths before any work starts.

Every failure is an `InputError` with one line naming the path and the fix, never an OSError or
UnicodeDecodeError traceback, and never after minutes of work (check outputs first).
"""

from __future__ import annotations

import os
from pathlib import Path

from emergence_laws.errors import InputError


def read_text(path: str | os.PathLike[str], what: str, fix: str) -> str:
    """The UTF-8 text of an input file. `what` names it in errors ("task YAML"), `fix` says what to pass."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: {what} not found; {fix}") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a folder, not a {what}; {fix}") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a UTF-8 text file (binary?), so not a {what}; {fix}") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read the {what} ({exc.strerror or type(exc).__name__}); {fix}") from None


def check_output_file(path: str | os.PathLike[str], flag: str) -> Path:
    """Check that a file can be written at `path` (its folder exists or can be made, and is writable;
    the path is not a folder) without leaving anything behind; return it. `flag` names the option
    ("--export") in the error."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{flag} {p}: is a folder; give a file path")
    parent = p.parent
    probe = parent
    while not probe.exists() and probe != probe.parent:  # the nearest existing folder must be writable
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{flag} {p}: {probe} is not a folder; choose a writable path")
    if not os.access(probe, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InputError(f"{flag} {p}: not writable; choose a writable path")
    if probe != parent:
        try:  # e.g. /proc refuses new folders even where access() says yes
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{flag} {p}: cannot create its folder ({exc.strerror}); choose a writable path") from None
    if not p.exists():
        try:  # the only sure test: create it (and remove it again)
            with open(p, "xb"):
                pass
            p.unlink()
        except FileExistsError:
            pass
        except OSError as exc:
            raise InputError(f"{flag} {p}: cannot write the file ({exc.strerror}); choose a writable path") from None
    return p
