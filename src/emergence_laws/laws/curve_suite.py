"""A generated suite of checkpoint-log curves of known kind, to measure `emergence detect`'s labels.

Each curve is one training run's few-shot accuracy (or exact match) over its checkpoints, shaped
like the evaluation logs open model projects publish (OLMo, Pythia):

* 40-190 trained checkpoints plus step 0 (random init, loss ln 50304 = 10.83 nats): a few
  log-spaced early steps (64, 128, ...), then evenly spaced steps up to 20k-200k;
* pretraining loss (nats/token) from a Chinchilla-style law in parameters (150M-13B) and tokens,
  plus a warm-up transient that starts at the random-init loss and decays over 150-600 steps;
* a floor at chance (4- or 5-way multiple choice, yes/no, or exact match at 0) or below it by an
  answer bias of up to 0.04 (a 4-way floor of 0.22);
* binomial noise: every value is a proportion out of n_eval examples, n_eval log-uniform in
  [100, 14,000].

Kinds (the truth) and the label `emergence detect` should give (in brackets):

* **emergent** [emergent]: at the floor for k = 3-30 checkpoints past warm-up (log-uniform), then
  a rise (a jump of any share of the rise, then a linear ramp) to 20-90% of the way from chance to
  the best score;
* **smooth** [smooth]: rises from the first checkpoint on (linear or concave in the loss), from
  the floor or above it, to 20-90% of the way to the best score; gradual on the checkpoints (no
  step between adjacent ones above a quarter of the rise; a run whose checkpoints cannot show that
  is drawn again);
* **flat** [flat]: at the floor throughout;
* **marginal** [marginal, or flat]: a floor then a rise (emergent- or smooth-shaped) whose top is
  only 2-6% of the way from chance to the best score;
* **noisy** [noisy]: an emergent- or smooth-shaped rise under extra per-checkpoint noise of 1.5-3
  times the signal's spread (the truth explains 10-30% of the variance);
* **late jump** [not identifiable]: 1-2 checkpoints at the floor past warm-up, then a jump of at
  least half the rise;
* **warm-up** [warm-up]: at the floor only during warm-up, then a jump of at least half the rise
  before the first checkpoint past it.

"Past warm-up" uses the definition of :func:`emergence_laws.analysis.series.warmup_mask`: a
checkpoint whose loss has fallen at least half way from the random-init loss to the run's lowest.
The kinds keep away from the label rules' thresholds where a truth would be ambiguous (a top
between 6% and 20% of the way to the best score is in no kind), so a wrong label is a wrong label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

L_INIT = math.log(50304)  #: random-init loss, nats/token
KINDS: tuple[str, ...] = ("emergent", "smooth", "flat", "marginal", "noisy", "late jump", "warm-up")
#: the label(s) that are right for each kind
RIGHT: dict[str, tuple[str, ...]] = {
    "emergent": ("emergent",),
    "smooth": ("smooth",),
    "flat": ("flat",),
    "marginal": ("marginal", "flat"),
    "noisy": ("noisy",),
    "late jump": ("not identifiable",),
    "warm-up": ("warm-up",),
}
#: curves per kind in the default suite (280 in all)
DEFAULT_COUNTS: dict[str, int] = {"emergent": 80, "smooth": 40, "flat": 30, "marginal": 30, "noisy": 30,
                                  "late jump": 35, "warm-up": 35}
#: (chance, metric) of the task formats drawn, with their weights
FORMATS: tuple[tuple[float, str, float], ...] = ((0.25, "accuracy", 0.5), (0.2, "accuracy", 0.1),
                                                 (0.5, "accuracy", 0.15), (0.0, "exact_match", 0.25))


@dataclass(frozen=True)
class Curve:
    """One generated run: its checkpoints (step 0 first) and the truth."""

    kind: str
    steps: np.ndarray  #: training steps, 0 = random init
    loss: np.ndarray  #: pretraining loss per checkpoint, nats/token
    tokens: np.ndarray  #: tokens seen per checkpoint
    value: np.ndarray  #: observed metric (binomial proportion)
    p: np.ndarray  #: true expected metric
    chance: float
    metric: str
    n_eval: int
    k_pre: int  #: checkpoints at the floor past warm-up before the rise (emergent, late jump, marginal)
    reach: float  #: top of the true curve as a share of the way from chance to 1
    shape: str  #: free text: how the rise was drawn


def schedule(rng: np.random.Generator, n: int) -> np.ndarray:
    """Step 0, then 3-8 log-spaced early steps (64, 128, ...), then evenly spaced steps: n+1 in all."""
    n_early = int(rng.integers(3, 9))
    early = 64 * 2 ** np.arange(n_early)
    s_max = float(rng.uniform(2e4, 2e5))
    later = np.round(np.linspace(s_max / (n - n_early), s_max, n - n_early)).astype(int)
    steps = np.unique(np.concatenate([[0], early, later]))
    while len(steps) < n + 1:  # an early step hit a later one: add steps between the last two
        steps = np.unique(np.append(steps, (steps[-1] + steps[-2]) // 2))
    return steps[: n + 1]


def run_losses(rng: np.random.Generator, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pretraining loss (nats) and tokens at each step of a run of random size."""
    params = math.exp(rng.uniform(math.log(1.5e8), math.log(1.3e10)))
    tokens = steps * rng.uniform(0.5e6, 4e6)
    tau = rng.uniform(150, 600)
    with np.errstate(divide="ignore"):
        law = 1.69 + 406.4 / params**0.34 + 410.7 / np.where(tokens > 0, tokens, np.inf) ** 0.28
    loss = law + (L_INIT - law) * np.exp(-steps / tau)
    loss[steps == 0] = L_INIT
    return loss, tokens


def warmup(loss: np.ndarray) -> np.ndarray:
    """Checkpoints less than half way from the random-init loss to the run's lowest (step 0 included)."""
    return loss > L_INIT - 0.5 * (L_INIT - loss.min())


def _rise(u: np.ndarray, u_jump: float, floor: float, top: float, jump_share: float, width: float) -> np.ndarray:
    """Floor up to u_jump, then a jump of jump_share of the rise and a linear ramp over `width` to the top."""
    ramp = np.clip((u - u_jump) / max(width, 1e-9), 0.0, 1.0)
    return np.where(u > u_jump, floor + (top - floor) * (jump_share + (1 - jump_share) * ramp), floor)


class _Redraw(Exception):
    """The run drawn cannot hold the kind asked for: draw another."""


def draw_curve(kind: str, rng: np.random.Generator) -> Curve:
    """One curve of the given kind (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    while True:
        try:
            return _draw(kind, rng)
        except _Redraw:
            continue


def _draw(kind: str, rng: np.random.Generator) -> Curve:
    n = int(rng.integers(40, 191))
    steps = schedule(rng, n)
    loss, tokens = run_losses(rng, steps)
    u = -loss
    warm = warmup(loss)
    w0 = int(np.argmax(~warm))  # first checkpoint past warm-up
    i = rng.choice(len(FORMATS), p=[f[2] for f in FORMATS])
    chance, metric = FORMATS[i][0], FORMATS[i][1]
    floor = chance - (rng.uniform(0.0, 0.04) if chance > 0 else 0.0)
    n_eval = int(round(math.exp(rng.uniform(math.log(100), math.log(14000)))))
    reach = float(rng.uniform(0.2, 0.9))
    k_pre = 0
    shape = ""

    def top_of(r: float) -> float:
        return chance + r * (1.0 - chance)

    def after_floor(k: int, share: tuple[float, float]) -> tuple[np.ndarray, str]:
        """At the floor for k checkpoints past warm-up, then a rise (jump share drawn in `share`)."""
        j = w0 + k  # first checkpoint above the floor
        u_jump = float(rng.uniform(u[j - 1], u[j]))
        s = float(rng.uniform(*share))
        width = float(rng.uniform(0.1, 1.0)) * (u[-1] - u_jump)
        return _rise(u, u_jump, floor, top_of(reach), s, width), f"jump {s:.0%} of the rise, ramp {width:.2f} nats"

    def gradual() -> tuple[np.ndarray, str]:
        """A rise from the first trained checkpoint on, linear or concave in the loss, that the checkpoints
        resolve as gradual: no two adjacent checkpoints differ by more than a quarter of the rise (drawn again
        until so; a steeper start is a jump on these checkpoints, whatever the curve between them)."""
        t = (u - u[1]) / (u[-1] - u[1])
        for _ in range(100):
            start = floor + rng.uniform(0.0, 0.4) * (top_of(reach) - floor)
            name = ("linear", "concave (square)", "concave (cube)", "concave (sqrt)")[int(rng.integers(4))]
            g = {"linear": t, "concave (square)": 1 - (1 - t) ** 2, "concave (cube)": 1 - (1 - t) ** 3,
                 "concave (sqrt)": np.sqrt(np.clip(t, 0, 1))}[name]
            g = np.clip(g, 0, 1)
            if np.max(np.diff(g[1:])) < 0.25:
                return start + (top_of(reach) - start) * g, f"{name}, from {start:.3f}"
        raise _Redraw  # these checkpoints are too sparse in loss to show any rise as gradual

    post = len(u) - w0

    def floor_points() -> int:
        """3-30 checkpoints at the floor past warm-up, log-uniform (as many short floors as long ones)."""
        return min(int(math.exp(rng.uniform(math.log(3), math.log(31)))), 30, post - 8)

    if kind == "emergent":
        k_pre = floor_points()
        p, shape = after_floor(k_pre, (0.0, 1.0))
    elif kind == "late jump":
        k_pre = int(rng.integers(1, 3))
        p, shape = after_floor(k_pre, (0.5, 1.0))
    elif kind == "warm-up":
        p, shape = after_floor(0, (0.5, 1.0))
    elif kind == "smooth":
        p, shape = gradual()
    elif kind == "flat":
        p, shape = np.full(len(u), floor), "flat"
    elif kind == "marginal":
        reach = float(rng.uniform(0.02, 0.06))
        if rng.random() < 0.5:
            k_pre = floor_points()
            p, shape = after_floor(k_pre, (0.0, 1.0))
        else:
            p, shape = gradual()
    else:  # noisy
        if rng.random() < 0.5:
            k_pre = floor_points()
            p, shape = after_floor(k_pre, (0.0, 1.0))
        else:
            p, shape = gradual()
        c = float(rng.uniform(1.5, 3.0))
        sd = c * float(np.std(p[1:]))
        p = p + np.where(steps > 0, rng.normal(0.0, sd, len(p)), 0.0)
        shape += f", extra noise {c:.1f} x the signal's spread"
    p = np.clip(p, 0.0, 1.0)
    p[0] = floor  # random init sits at the floor
    value = rng.binomial(n_eval, p) / n_eval
    return Curve(kind, steps, loss, tokens, value, p, chance, metric, n_eval, k_pre, reach, shape)


def draw_suite(seed: int, counts: dict[str, int] | None = None) -> list[Curve]:
    """The suite for one seed: ``counts`` curves of each kind (default DEFAULT_COUNTS), in kind order."""
    rng = np.random.default_rng(seed)
    counts = DEFAULT_COUNTS if counts is None else counts
    return [draw_curve(kind, rng) for kind in KINDS for _ in range(counts.get(kind, 0))]


def suite_rows(curves: list[Curve]) -> dict[str, list]:
    """The suite as results-table columns (one run and one task per curve, so no curve pools with another)."""
    cols: dict[str, list] = {c: [] for c in ("model", "step", "tokens", "pretrain_loss", "task", "metric", "value",
                                             "chance", "n_eval", "n_train", "shots")}
    for i, c in enumerate(curves):
        m = len(c.steps)
        cols["model"] += [f"run{i:03d}"] * m
        cols["step"] += c.steps.tolist()
        cols["tokens"] += c.tokens.tolist()
        cols["pretrain_loss"] += np.round(c.loss, 5).tolist()
        cols["task"] += [f"curve{i:03d}"] * m
        cols["metric"] += [c.metric] * m
        cols["value"] += c.value.tolist()
        cols["chance"] += [c.chance] * m
        cols["n_eval"] += [c.n_eval] * m
        cols["n_train"] += [0] * m
        cols["shots"] += [0] * m
    return cols
