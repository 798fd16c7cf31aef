"""Progress of long work: a tqdm bar on a terminal, periodic plain lines anywhere else (logs, CI, pipes).

    from emergence_laws.progress import progress
    with progress(total=len(batches), desc="loglikelihood", unit="batch") as bar:
        for batch in batches:
            ...
            bar.update(1, loss=0.53)          # extra fields are shown after the counts

On a terminal the bar appears only after `delay` seconds (short work stays silent). Without a
terminal, one line is printed every `interval` seconds, e.g.::

    emergence: finetune 120/400 steps (30%), 2.1 steps/s, eta 2m13s, loss=0.531

and a last line when the work ends (only if an earlier line was printed, or `always_finish`).

Whether progress is shown: the `enabled` argument; when None, the process-wide setting of
`show_progress(...)` (off by default, so library calls stay quiet; the CLI turns it on). The
``EMERGENCE_PROGRESS`` environment variable overrides the style: ``bar``, ``lines`` or ``off``;
``EMERGENCE_PROGRESS_INTERVAL`` sets the line interval in seconds (default 30).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from typing_extensions import Self

_ENABLED: ContextVar[bool] = ContextVar("emergence_progress", default=False)

#: Seconds between plain progress lines when there is no terminal.
DEFAULT_INTERVAL = 30.0


@contextlib.contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Within the block, `progress(..., enabled=None)` shows progress (or not)."""
    token = _ENABLED.set(bool(enabled))
    try:
        yield
    finally:
        _ENABLED.reset(token)


def progress_enabled() -> bool:
    """The setting `progress(enabled=None)` follows (see `show_progress`)."""
    return _ENABLED.get()


def _style(stream: TextIO) -> str:
    forced = os.environ.get("EMERGENCE_PROGRESS", "").strip().lower()
    if forced in ("bar", "lines", "off"):
        return forced
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):
        return "lines"


def _interval() -> float:
    try:
        value = float(os.environ.get("EMERGENCE_PROGRESS_INTERVAL", DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value >= 0 else DEFAULT_INTERVAL


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _plural(unit: str) -> str:
    if unit.endswith("s"):
        return unit
    return unit + ("es" if unit.endswith(("ch", "sh", "x")) else "s")


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class Progress:
    """Counts done units of `total`; renders as a tqdm bar, as periodic lines, or not at all."""

    def __init__(self, total: int | None, desc: str, unit: str = "it", *, enabled: bool | None = None,
                 stream: TextIO | None = None, interval: float | None = None, delay: float = 2.0,
                 initial: int = 0, prefix: str = "emergence", always_finish: bool = False) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = initial
        self.fields: dict[str, Any] = {}
        self.stream = stream if stream is not None else sys.stderr
        self.prefix = prefix
        self.always_finish = always_finish
        on = progress_enabled() if enabled is None else bool(enabled)
        self.style = _style(self.stream) if on else "off"
        self.interval = _interval() if interval is None else float(interval)
        self._start = time.perf_counter()
        self._initial = initial
        self._last_line = self._start
        self._printed = False
        self._last_n: int | None = None
        self._bar = None
        if self.style == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, file=self.stream, delay=delay,
                             leave=False, dynamic_ncols=True, mininterval=0.5, smoothing=0.1)

    def update(self, n: int = 1, **fields: Any) -> None:
        """`n` more units done; `fields` (e.g. loss=0.53) are shown with the counts."""
        self.n += n
        if fields:
            self.fields.update(fields)
        if self._bar is not None:
            if fields:
                self._bar.set_postfix({k: _fmt_value(v) for k, v in self.fields.items()}, refresh=False)
            self._bar.update(n)
        elif self.style == "lines":
            now = time.perf_counter()
            if now - self._last_line >= self.interval:
                self._line(now)

    def line(self, now: float | None = None) -> str:
        """The plain progress line for the current state."""
        now = time.perf_counter() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = (self.n - self._initial) / elapsed
        units = _plural(self.unit)
        parts = [f"{self.prefix}: {self.desc} {self.n}" + (f"/{self.total}" if self.total else "") + f" {units}"]
        if self.total:
            parts[0] += f" ({100.0 * self.n / self.total:.0f}%)"
        if rate >= 100:
            parts.append(f"{rate:.0f} {units}/s")
        elif rate >= 0.1:
            parts.append(f"{rate:.3g} {units}/s")
        elif rate > 0:
            parts.append(f"{format_duration(1 / rate)}/{self.unit}")
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f"eta {format_duration((self.total - self.n) / rate)}")
        elif self.total and self.n >= self.total:
            parts.append(f"done in {format_duration(elapsed)}")
        parts += [f"{k}={_fmt_value(v)}" for k, v in self.fields.items()]
        return ", ".join(parts)

    def _line(self, now: float) -> None:
        print(self.line(now), file=self.stream, flush=True)
        self._last_line = now
        self._last_n = self.n
        self._printed = True

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.style == "lines" and (self._printed or self.always_finish) and self._last_n != self.n:
            self._line(time.perf_counter())
        self.style = "off"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(total: int | None, desc: str, unit: str = "it", **kwargs: Any) -> Progress:
    """A `Progress` (see the module docstring); use it as a context manager."""
    return Progress(total, desc, unit, **kwargs)
