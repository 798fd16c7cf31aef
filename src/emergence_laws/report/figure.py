"""What every figure of the report needs: matplotlib (Agg, imported on first use), a grid of
panels, the scale axis drawn the same way everywhere, and saving a PNG.

Scale axis convention: bigger model to the right. FLOPs, params, tokens and steps on a log axis,
as detection reads them (a checkpoint at 0, the random initialisation, cannot be placed there
and is left out by the caller, who says so); pretraining loss (nats) on an inverted linear axis.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

#: Scale columns drawn on a log axis (the same as emergence_laws.analysis.series.LOG_AXES).
LOG_AXES: tuple[str, ...] = ("flops", "params", "tokens", "step")

#: Axis labels of the scale columns.
X_LABELS: dict[str, str] = {
    "pretrain_loss": "pretraining loss (nats/token) - lower is bigger",
    "pretrain_bpb": "pretraining loss (bits/byte) - lower is bigger",
    "flops": "pretraining compute (FLOPs)",
    "params": "parameters",
    "tokens": "pretraining tokens",
    "step": "training step",
}


def plt():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def grid(n: int, ncols: int, panel: tuple[float, float], extra_height: float = 0.5):
    """A figure with ``n`` panels in rows of ``ncols``; returns (fig, list of the n axes). Unused panels are hidden."""
    pyplot = plt()
    n = max(n, 1)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = pyplot.subplots(nrows, ncols, figsize=(panel[0] * ncols, panel[1] * nrows + extra_height),
                                squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.axis("off")
    return fig, flat[:n]


def setup_x(ax, x: str) -> None:
    """Bigger model to the right: log axis for FLOPs/params/tokens/steps, inverted axis for loss."""
    if x in LOG_AXES:
        ax.set_xscale("log")
    elif x in ("pretrain_loss", "pretrain_bpb") and not ax.xaxis_inverted():
        ax.invert_xaxis()


def dense(xmin: float, xmax: float, x: str, n: int = 200) -> np.ndarray:
    """``n`` scale values spanning [xmin, xmax], evenly spaced on the axis ``x`` is drawn on."""
    if x in LOG_AXES and xmin > 0:
        return np.logspace(math.log10(xmin), math.log10(xmax), n)
    return np.linspace(xmin, xmax, n)


def far_out(values, factor: float = 1.0) -> np.ndarray:
    """Mask of one far-out high value (e.g. the random-init checkpoint's loss, ~10 nats above the
    rest): the largest value, when its gap to the others exceeds ``factor`` x their spread (it
    would take over half the axis). Needs 4+ finite values; else nothing is far out."""
    v = np.asarray(values, dtype=float)
    out = np.zeros(v.shape, dtype=bool)
    finite = np.isfinite(v)
    if finite.sum() < 4:
        return out
    order = np.sort(v[finite])
    spread = float(order[-2] - order[0])
    if spread > 0 and order[-1] - order[-2] > factor * spread:
        out = finite & (v > order[-2])
    return out


def clip_x(ax, xs, ys, far: np.ndarray) -> None:
    """Limit the x axis to the points not ``far`` (see :func:`far_out`) and mark the far ones at the
    edge with an arrow and their x in the legend; call after the axis is set up (inverted or not)."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    if not far.any():
        return
    near = xs[~far & np.isfinite(xs)]
    lo, hi = float(near.min()), float(near.max())
    pad = 0.06 * max(hi - lo, 1e-9)
    edge = hi + pad
    inverted = ax.xaxis_inverted()
    ax.set_xlim(*((edge, lo - pad) if inverted else (lo - pad, edge)))
    ax.scatter(np.full(int(far.sum()), edge), ys[far], marker="<" if inverted else ">", s=36, color="#555555",
               zorder=6, clip_on=False, label=f"{int(far.sum())} point(s) off the axis at x = {_g(xs[far])}")


def _g(v: np.ndarray) -> str:
    return ", ".join(f"{float(a):.3g}" for a in v[:3]) + (" ..." if v.size > 3 else "")


def save(fig, path: str | Path, *, dpi: int = 90) -> Path:
    """Lay out, write the PNG, close the figure; returns the path."""
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=dpi)
    plt().close(fig)
    return out
