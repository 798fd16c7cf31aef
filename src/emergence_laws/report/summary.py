"""Plain words for a prediction's point, its interval, what the interval covers, and the D0 range.

Reads the JSON of `emergence fit` (``emergence_point``), `emergence backtest` (``predicted``) or
`emergence demo` (``predicted_emergence_point``); the report puts these lines at the top.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def sci(x: float | None) -> str:
    """A scale in two significant digits as people write it: ``3.1e17``, ``7.2e7`` (None: unreachable)."""
    if x is None:
        return "unreachable"
    m, e = f"{float(x):.1e}".split("e")
    return f"{m}e{int(e)}"


def scale_words(scale: Any) -> str | None:
    """``3.1e17 FLOPs [1.2e17, 9.0e17] / 7.2e7 parameters [...]`` from a payload's ``scale``; None without one."""
    if not isinstance(scale, Mapping):
        return None
    parts = []
    for axis, unit in (("flops", "FLOPs"), ("params", "parameters")):
        s = scale.get(axis)
        if not isinstance(s, Mapping):
            continue
        at, iv = _num(s.get("at_loss")), s.get("interval")
        text = f"{sci(at)} {unit}" if at else f"unreachable in {unit} (below the fitted irreducible loss)"
        if isinstance(iv, (list, tuple)) and len(iv) == 2:
            text += f" [{sci(_num(iv[0]))}, {sci(_num(iv[1]))}]"
        parts.append(text)
    return " / ".join(parts) or None


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def prediction_summary(payload: Mapping[str, Any]) -> list[str] | None:
    """Lines for the top of a fit/backtest/demo report, or None when the payload holds no emergence point."""
    point = next(
        (_num(payload.get(k)) for k in ("emergence_point", "predicted", "predicted_emergence_point") if _num(payload.get(k)) is not None),
        None,
    )
    if point is None or payload.get("baseline") == "sigmoid":
        return None
    lines = []
    iv = payload.get("interval")
    if isinstance(iv, (list, tuple)) and len(iv) == 2 and all(_num(v) is not None for v in iv):
        level = _num(payload.get("interval_level")) or 0.90
        lines.append(
            f"Few-shot emergence predicted at pretraining loss {point:.3f} nats/token, {100 * level:.0f}% interval "
            f"[{iv[0]:.3f}, {iv[1]:.3f}] nats (5th-95th percentile of the bootstrap replicates; the point is their median)."
        )
    else:
        lines.append(f"Few-shot emergence predicted at pretraining loss {point:.3f} nats/token (no interval was computed).")
    truth = _num(payload.get("actual", payload.get("true_emergence_point")))
    if truth is not None:
        inside = isinstance(iv, (list, tuple)) and len(iv) == 2 and all(_num(v) is not None for v in iv) and iv[0] <= truth <= iv[1]
        tail = (" — inside the interval." if inside else " — outside the interval.") if iv else "."
        lines.append(f"Observed few-shot emergence: {truth:.3f} nats, error {abs(point - truth):.3f} nats{tail}")
    scale = scale_words(payload.get("scale"))
    if scale:
        lines.append(f"Reached at about {scale} (scaling-law inversion; the interval also carries the scaling fit).")
    rng = payload.get("d0_range")
    if isinstance(rng, (list, tuple)) and len(rng) == 2 and all(_num(v) is not None for v in rng):
        lo, hi = float(rng[0]), float(rng[1])
        lines.append(
            f"D0, the low-data limit, taken as unknown in [{lo:g}, {hi:g}] finetuning examples."
            if hi > lo
            else f"D0, the low-data limit, fixed at {lo:g} examples: the interval does not vary it."
        )
    elif _num(payload.get("d0")) is not None:
        lines.append(f"D0, the low-data limit: {float(payload['d0']):g} examples.")
    includes = payload.get("interval_includes")
    if isinstance(includes, (list, tuple)) and includes:
        lines.append("The interval includes: " + "; ".join(map(str, includes)) + ".")
    return lines
