"""Generated checkpoint logs: one row per run x training step x task x metric, like those open model
projects publish, drawn from known curves with binomial noise (the truth is known by construction).

Shapes (each one a finding of issue 13):

* several runs of different size, each with the same (log-spaced, then linear) checkpoint steps;
  step 0 is the random initialisation: loss ln(50304) = 10.83 nats, tokens = flops = 0;
* a task in two formats (``format`` column): ``mc`` (letters; at chance 0.25 until the
  pretraining loss falls below ``MC_JUMP`` nats, then a step up) and ``cloze`` (rises smoothly
  from the first checkpoints);
* the bits per byte of the correct answer (``bpb``, lower is better), falling smoothly;
* a task at chance only during warm-up (``warmup_task``): it rises as soon as the loss leaves
  the warm-up transient (below ``WARMUP_RISE`` nats);
* a run with few checkpoints before its jump (``coarse``: step 0 and two more above ``MC_JUMP``);
* a ``final`` step per run (the released model: the last step evaluated again).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

L_INIT = math.log(50304)  #: random-init loss, nats/token (uniform over a GPT-NeoX-size vocabulary)
MC_JUMP = 3.0  #: loss (nats) below which the MC format jumps from chance
WARMUP_RISE = 6.0  #: loss below which warmup_task rises
TOKENS_PER_STEP = 1_000_000
STEPS = (0, 64, 128, 256, 512, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 12000, 14000,
         17000, 20000, 25000, 30000, 40000, 50000, 60000)
RUNS = {"run-150m": 150e6, "run-400m": 400e6, "run-1b": 1e9}


def loss_at(params: float, step: float, tau: float = 300.0) -> float:
    """Pretraining loss (nats): a Chinchilla-style law in params and tokens, plus a warm-up transient
    that starts from the random-init loss and decays over ~``tau`` steps."""
    if step == 0:
        return L_INIT
    tokens = step * TOKENS_PER_STEP
    law = 1.69 + 406.4 / params**0.34 + 410.7 / tokens**0.28
    return law + (L_INIT - law) * math.exp(-step / tau)


def coarse_steps(params: float, n_before: int = 2) -> list[int]:
    """Steps of a run logged rarely: 0, ``n_before`` steps with loss above MC_JUMP, then steps past it."""
    above = [s for s in STEPS[5:] if loss_at(params, s) > MC_JUMP + 0.05]
    below = [s for s in STEPS if loss_at(params, s) < MC_JUMP - 0.05]
    return [0, *above[-n_before:], *below[::2]]


def checkpoint_log(seed: int = 0, n_eval: int = 1000, *, final: bool = True, coarse: bool = True) -> pd.DataFrame:
    """The log as a results table (see the module docstring); columns: model (run), step, tokens, flops,
    params, pretrain_loss, task, format, metric, value, chance, n_eval, n_train, shots."""
    rng = np.random.default_rng(seed)
    runs = [(name, n, list(STEPS)) for name, n in RUNS.items()]
    if coarse:
        runs.append(("coarse", 250e6, coarse_steps(250e6)))
    rows: list[dict] = []
    for name, params, steps in runs:
        labels: list[object] = list(steps) + (["final"] if final else [])
        for step in labels:
            s = steps[-1] if step == "final" else step
            loss = loss_at(params, s)
            base = {"model": name, "step": step, "tokens": s * TOKENS_PER_STEP, "flops": 6 * params * s * TOKENS_PER_STEP,
                    "params": params, "pretrain_loss": round(loss, 5), "n_train": 0, "n_eval": n_eval}

            def acc(p: float) -> float:
                return rng.binomial(n_eval, min(max(p, 0.0), 1.0)) / n_eval

            mc = 0.25 + (0.35 + 0.25 * (MC_JUMP - loss) if loss < MC_JUMP else 0.0)
            cloze = 0.30 + 0.07 * (L_INIT - loss)
            warm = 0.25 + 0.12 * max(WARMUP_RISE - loss, 0.0)
            bpb = 0.25 + 0.3 * (loss - 1.69) + rng.normal(0, 0.005)
            rows += [
                {**base, "task": "qa", "format": "mc", "shots": 5, "metric": "accuracy", "chance": 0.25,
                 "value": acc(mc)},
                {**base, "task": "qa", "format": "cloze", "shots": 0, "metric": "accuracy", "chance": 0.25,
                 "value": acc(cloze)},
                {**base, "task": "qa", "format": "mc", "shots": 5, "metric": "bpb", "chance": None,
                 "value": round(bpb, 5)},
                {**base, "task": "warmup_task", "format": "mc", "shots": 5, "metric": "accuracy", "chance": 0.25,
                 "value": acc(warm)},
            ]
    return pd.DataFrame(rows)


def log_steps(n: int, last: int = 60000) -> list[int]:
    """Step 0, the log-spaced early steps 64-512, then evenly spaced steps up to ``last``: n + 1 in all."""
    early = [64, 128, 256, 512]
    later = np.linspace(1000, last, n - len(early)).round().astype(int).tolist()
    return [0, *early, *later]


def shaped_run(name: str, params: float, steps: list[int], p_of_loss, *, n_eval: int, rng: np.random.Generator,
               task: str = "mmlu", chance: float = 0.25, extra_sd: float = 0.0) -> list[dict]:
    """One run's rows: accuracy ~ binomial(n_eval, p_of_loss(loss) + N(0, extra_sd)) / n_eval at every step
    (extra_sd: checkpoint-to-checkpoint variation beyond sampling, as real logs show; none at step 0)."""
    rows = []
    for step in steps:
        loss = loss_at(params, step)
        p = p_of_loss(loss) + (rng.normal(0.0, extra_sd) if step and extra_sd else 0.0)
        rows.append({"model": name, "step": step, "tokens": step * TOKENS_PER_STEP,
                     "flops": 6 * params * step * TOKENS_PER_STEP, "params": params, "pretrain_loss": round(loss, 5),
                     "task": task, "metric": "accuracy", "chance": chance, "n_eval": n_eval, "n_train": 0,
                     "shots": 0, "value": rng.binomial(n_eval, min(max(p, 0.0), 1.0)) / n_eval})
    return rows
