"""Helpers the commands share: the results argument, `--out`, provenance, shared options, the core's terms.

Import-light (the standard library only at module level), like every module of this package.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


#: Libraries whose own warnings a command keeps off the terminal (their numbers are checked where used).
QUIET_LIBRARIES: tuple[str, ...] = ("numpy", "scipy", "matplotlib", "pandas", "PIL")


@contextmanager
def quiet_library_warnings() -> Iterator[None]:
    """Run a command with numpy/scipy/matplotlib/pandas warnings off the terminal: floating-point
    warnings (``overflow encountered in multiply``) are dropped, since every result is checked where it
    is made and a bad one is refused with one line; a figure font without the glyphs of a label (a
    task name in CJK script) is said once, as one ``warning:`` line, instead of once per glyph."""
    import re
    import sys
    import warnings

    glyphs: set[str] = set()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        for lib in QUIET_LIBRARIES:
            warnings.filterwarnings("ignore", module=rf"{lib}(\..*)?$")
        warnings.filterwarnings("always", message=r"Glyph \d+ .*missing from")  # checked first: collected below
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            m = re.match(r"Glyph (\d+) .*missing from", str(message))
            if m:
                glyphs.add(chr(int(m.group(1))))
                return
            shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield
        finally:
            if glyphs:
                sample = "".join(sorted(glyphs)[:5])
                print(f"warning: the figures' font has no glyphs for {len(glyphs)} character(s) of their labels "
                      f"(e.g. {sample}); they show as boxes. Install a font that has them (e.g. Noto Sans CJK) and "
                      "matplotlib picks it up", file=sys.stderr)


def run_in_flags(p: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int],
                 phrases: Mapping[str, str] | None = None) -> None:
    """Make ``run`` the command of ``p``, run with the science core's argument names said as ``p``'s flags.

    The core's errors and notes name the Python arguments in backticks (```d0_range=(5, 50)```,
    :mod:`emergence_laws.laws.terms`); within the command they read ``--d0-range 5 50``. Each option's
    destination maps to its flag; ``phrases`` adds Python names the command spells otherwise (a function
    that is a flag value here, ``{"baseline_table": "--baseline sigmoid"}``, or a whole ``name=value``).
    """
    terms = {a.dest: next(s for s in a.option_strings if s.startswith("--"))
             for a in p._actions if any(s.startswith("--") for s in a.option_strings)}
    terms.update(phrases or {})

    @functools.wraps(run)
    def in_flags(args: argparse.Namespace) -> int:
        from emergence_laws.laws.terms import speaking

        with speaking(terms):
            return run(args)

    p.set_defaults(func=in_flags)


def resolve_results(path: str) -> str:
    """``example`` (when no such file exists) names the bundled example table; anything else is a path."""
    from emergence_laws.results.io import EXAMPLE, example_table

    return str(example_table()) if path == EXAMPLE and not Path(path).exists() else path


def load_table(args: argparse.Namespace, *, select: tuple[str, ...] = ("task", "metric")):
    """Load and validate ``args.results`` (``--scales`` where the command has it), keep the rows of
    ``--where COL=VALUE``.

    Only the rows the command selects (``args.task``, ``args.metric``, ... as named in ``select``,
    and ``--where``) have their values checked, so a bad row elsewhere in a log does not stop it.
    """
    from emergence_laws.results import load_results

    where = parse_where(getattr(args, "where", None) or [])
    chosen = {**{col: getattr(args, col, None) for col in select}, **where}
    df = load_results(resolve_results(args.results), scales=getattr(args, "scales", None), select=chosen)
    return apply_where(df, where)


def parse_where(items: list[str]) -> dict[str, str]:
    """``["format=mc", "dataset=c4"]`` -> {"format": "mc", "dataset": "c4"}; InputError on a malformed item."""
    from emergence_laws.errors import InputError

    out: dict[str, str] = {}
    for item in items:
        col, sep, value = str(item).partition("=")
        if not sep or not col.strip():
            raise InputError(f"--where {item}: write COLUMN=VALUE, e.g. --where format=mc")
        out[col.strip()] = value.strip()
    return out


def apply_where(df, where: dict[str, str]):
    """The rows whose columns equal the ``--where`` values (compared as text); InputError naming what exists."""
    from emergence_laws.errors import InputError

    for col, want in where.items():
        if col not in df.columns:
            raise InputError(f"--where {col}={want}: the table has no column {col!r}; its columns: "
                             + ", ".join(map(str, df.columns)))
        text = df[col].map(_as_text)
        sub = df[text == want]
        if sub.empty:
            have = sorted(set(text) - {""})
            shown = ", ".join(have[:12]) + (" ..." if len(have) > 12 else "")
            raise InputError(f"--where {col}={want}: no such rows; column {col!r} holds: {shown}")
        df = sub
    return df


def _as_text(v) -> str:
    """A cell as --where compares it: blank for missing, 5 for 5.0, else its text."""
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def add_where_option(p: argparse.ArgumentParser) -> None:
    """``--where COL=VALUE`` (repeatable): keep only those rows, e.g. one format of a task."""
    p.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep only rows whose column COL equals VALUE (repeatable), e.g. --where format=mc")


def make_out_dir(path: str | Path) -> Path:
    """Create the `--out` folder (parents included) or raise a one-line InputError."""
    from emergence_laws.errors import InputError

    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create the directory ({exc.strerror}); choose a writable path") from None
    return out


def provenance(args: argparse.Namespace, command: str, options: tuple[str, ...], **extra: Any) -> dict:
    """Where a result came from: the data file (as given and resolved), the tool version, the options used.

    ``options`` names the argparse destinations to record; each is recorded with its value (``None``
    = not given, the default applied). ``command`` is an equivalent command line. ``extra`` keys
    are added as they are (e.g. the detection thresholds).
    """
    import datetime as dt
    import shlex

    from emergence_laws.version import __version__

    opts = {name: getattr(args, name, None) for name in options}
    cmd = ["emergence", command, str(args.results)]
    for name, value in opts.items():
        if value is None or value is False or value == []:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            cmd.append(flag)
        elif isinstance(value, tuple):  # one option with several values (nargs), e.g. --d0-range 5 50
            cmd += [flag, *map(str, value)]
        elif isinstance(value, list):  # a repeated option (action="append")
            for v in value:
                cmd += [flag, str(v)]
        else:
            cmd += [flag, str(value)]
    return {
        "data": str(args.results),
        "data_resolved": str(Path(resolve_results(str(args.results))).resolve()),
        "version": __version__,
        "tool_version": f"emergence-laws {__version__}",
        "command": shlex.join(cmd),
        "options": opts,
        "created": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        **extra,
    }


def add_direction_options(p: argparse.ArgumentParser) -> None:
    """``--higher-is-better NAME`` / ``--lower-is-better NAME`` for metrics the registry does not know."""
    p.add_argument("--higher-is-better", action="append", default=[], metavar="METRIC",
                   help="declare METRIC higher-is-better (for names the metric registry does not know; repeatable)")
    p.add_argument("--lower-is-better", action="append", default=[], metavar="METRIC",
                   help="declare METRIC lower-is-better (e.g. a custom loss; repeatable)")


def directions(args: argparse.Namespace) -> dict[str, bool]:
    """The metric directions declared on the command line (see :func:`add_direction_options`)."""
    from emergence_laws.metrics import declared_directions

    return declared_directions(higher=getattr(args, "higher_is_better", []) or [],
                               lower=getattr(args, "lower_is_better", []) or [])


#: destinations of the options :func:`add_law_options` adds (recorded in provenance)
LAW_OPTIONS: tuple[str, ...] = ("metric", "method", "d0", "d0_range", "form", "elbow", "bootstrap", "seed",
                                "higher_is_better", "lower_is_better", "where")


def law_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the table API (``fit_table``, ``backtest_table``, ``compare_table``) that
    :func:`add_law_options` sets, from the parsed ``args``."""
    return {"metric": args.metric, "d0": args.d0, "d0_range": args.d0_range, "form": args.form, "elbow": args.elbow,
            "bootstrap": args.bootstrap, "seed": args.seed, "method": args.method, "directions": directions(args)}


class _Pair(argparse.Action):
    """Store ``nargs=2`` values as a tuple (so provenance writes them back as one option)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, tuple(values))


def add_law_options(p: argparse.ArgumentParser, *, bootstrap: int) -> None:
    """The options `fit` and `backtest` share: which rows, the law's form, the bootstrap, metric direction."""
    p.add_argument("--metric", help="metric (default: accuracy, acc, acc_norm, exact_match, ... in that order)")
    p.add_argument("--method", help="finetuning method to fit when rows mix several (full, lora)")
    p.add_argument("--d0", type=float, help="a known low-data limit D0 in examples (default: unknown in --d0-range)")
    p.add_argument(
        "--d0-range",
        type=float,
        nargs=2,
        action=_Pair,
        metavar=("LO", "HI"),
        help="D0 unknown in [LO, HI] examples; the interval spans it (default: [N, 10 N], N = the few-shot rows' shots)",
    )
    p.add_argument("--form", choices=("logpower", "power"), default="logpower", help="E(D) form (default logpower)")
    p.add_argument("--elbow", choices=("relu", "softplus"), default="relu", help="elbow shape (default relu)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=bootstrap,
        metavar="N",
        help=f"bootstrap replicates for the 90%% (5-95%%) interval (default {bootstrap}; 0 = none)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap")
    add_direction_options(p)
    add_where_option(p)


#: The core's names for the few-shot sigmoid baseline, said as `--baseline sigmoid` (fit, backtest).
SIGMOID_TERMS: dict[str, str] = {name: "--baseline sigmoid" for name in
                                 ("baseline_table", "sigmoid_backtest_table", "fit_sigmoid_baseline")}


def add_baseline_and_output_options(p: argparse.ArgumentParser, *, sigmoid: str, out: str) -> None:
    """What `fit` and `backtest` share after the law's options: ``--baseline none|sigmoid`` (``sigmoid``: its
    help), ``--json``, ``--no-progress`` and ``--out DIR`` (``out``: what it holds)."""
    p.add_argument("--baseline", choices=("none", "sigmoid"), default="none", help=sigmoid)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (default: a bar on a terminal, else a line every ~30 s, when the "
                        "bootstrap or the likelihood's ridge takes more than a few seconds)")
    p.add_argument("--out", help=f"directory for {out}")


#: Loss axes the law can be fitted on: ``--x`` value -> (column, unit).
LOSS_AXES: dict[str, tuple[str, str]] = {"pretrain_loss": ("pretrain_loss", "nats"), "bpb": ("pretrain_bpb", "bits/byte")}


def add_loss_axis_option(p: argparse.ArgumentParser) -> None:
    """``--x pretrain_loss|bpb``: the loss the law is fitted in."""
    p.add_argument("--x", choices=tuple(LOSS_AXES), default="pretrain_loss",
                   help="the loss axis: pretrain_loss (nats/token, default) or bpb (pretrain_bpb, bits per byte of "
                        "the reference text: comparable across tokenizers)")


def on_loss_axis(df, x: str):
    """The table with the chosen loss axis in the `pretrain_loss` column the law reads (rows without it dropped)."""
    from emergence_laws.errors import InputError

    col, _ = LOSS_AXES[x]
    if col == "pretrain_loss":
        return df
    if col not in df.columns or df[col].isna().all():
        raise InputError(f"--x {x}: the table has no {col} values; measure them with `emergence run` (a reference "
                         "text) or `emergence eval --reference`, or add a pretrain_bpb column")
    return df[df[col].notna()].assign(pretrain_loss=df[col])


def check_bootstrap(args: argparse.Namespace) -> None:
    """A negative ``--bootstrap`` or ``--seed`` is bad input; so are ``--d0`` and ``--d0-range`` together."""
    from emergence_laws.errors import InputError

    if getattr(args, "bootstrap", 0) < 0:
        raise InputError(f"--bootstrap {args.bootstrap} is negative; use 0 (no interval) or e.g. 200")
    if getattr(args, "seed", 0) < 0:
        raise InputError(f"--seed {args.seed} is negative; use a whole number >= 0")
    if getattr(args, "d0", None) is not None and getattr(args, "d0_range", None) is not None:
        raise InputError("--d0 and --d0-range both given; pass one: --d0 N (D0 known) or --d0-range LO HI (unknown)")
