"""The `emergence` command: parses arguments and calls the API. Thin by design.

Each subcommand lives in ``emergence_laws.commands.<name>`` and provides
``add_parser(subparsers)`` (import-light: no torch at module level) and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from emergence_laws.version import __version__
from emergence_laws.errors import EmergenceError

#: Subcommands in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "demo",
    "fit",
    "backtest",
    "compare",
    "predict",
    "detect",
    "report",
    "eval",
    "run",
    "status",
    "validate",
)


class Parser(argparse.ArgumentParser):
    """argparse with two changes, inherited by every subcommand's parser: a negative number in any
    notation (``-1e3``, ``-inf``, ``-nan``) is a value, not an unknown option; a usage error is one
    line, ``emergence CMD: error: WHAT; see `emergence CMD --help```."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$",
                                                   re.IGNORECASE)

    def error(self, message: str) -> NoReturn:
        hint = f"; see `{self.prog} --help`"
        self.exit(2, f"{self.prog}: error: {one_line(message, MAX_ERROR_CHARS - len(self.prog) - 9 - len(hint))}{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="emergence",
        description=(
            "Predict where few-shot emergence of a capability will happen, in pretraining loss, "
            "by fitting an emergence law to finetuned runs of smaller models "
            "(Snell et al., 2024). Start with `emergence demo`."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"emergence_laws.commands.{name}")
        except ModuleNotFoundError as exc:  # a subcommand not built yet
            if exc.name == f"emergence_laws.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


#: Longest error line printed, in characters: a longer message keeps its start (what and where) and
#: its end (the fix), cut in the middle.
MAX_ERROR_CHARS = 300


def one_line(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """An error message as one line of at most `limit` characters: inner line breaks (e.g. from a
    library's message) become '; ', and a longer text is cut in the middle with ' [...] '."""
    text = "; ".join(part.strip() for part in message.splitlines() if part.strip())
    if len(text) <= limit:
        return text
    tail = limit // 3
    return f"{text[: limit - tail - 7].rstrip()} [...] {text[-tail:].lstrip()}"


def error_line(command: str, message: str) -> str:
    """``emergence COMMAND: error: MESSAGE`` as one line of at most `MAX_ERROR_CHARS` characters."""
    prefix = f"emergence {command}: error: "
    return prefix + one_line(message, MAX_ERROR_CHARS - len(prefix))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from emergence_laws.commands.common import quiet_library_warnings

    try:
        with quiet_library_warnings():  # numpy/scipy/matplotlib warnings stay off the terminal
            return int(args.func(args) or 0)
    except EmergenceError as exc:
        print(error_line(args.command, str(exc)), file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # stdout closed early (e.g. piped into `head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a path the commands did not check first: still one line, not a traceback
        if exc.filename is None:
            raise
        print(error_line(args.command, f"{exc.filename}: {exc.strerror or type(exc).__name__}; "
                                       "check the path and its permissions"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"emergence {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
