"""`emergence predict --law prediction.json --loss L --n-train D`: evaluate a fitted law."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the metric of a checkpoint from a fitted law (prediction.json)",
        description=(
            "Evaluate A*ReLU(E(D) - L) + B from a law written by `emergence fit --out DIR` at pretraining "
            "loss L (nats/token) after D finetuning examples (D = 0: few-shot, elbow at E(D0)). Values are kept "
            "inside the metric's range (accuracy in [0, 1]); a warning says when D lies far outside the data "
            "amounts the law was fitted on."
        ),
    )
    p.add_argument("--law", required=True, help="prediction.json written by `emergence fit --out`")
    p.add_argument("--loss", type=float, nargs="+", required=True, help="pretraining loss(es), nats/token")
    p.add_argument("--n-train", type=float, default=0.0, help="finetuning examples D (default 0 = few-shot)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


#: `predict` warns when D lies this many times beyond the fitted data amounts (above the largest,
#: or below the smallest of D0 and the amounts).
FAR_FACTOR = 10.0


def extrapolation_warning(n_train: float, d0: float, amounts: tuple[float, ...]) -> str | None:
    """A warning when `n_train` examples lie far outside the D range the law was fitted on, else None."""
    if not amounts or n_train == 0:  # D = 0 means D0: the law's own few-shot extrapolation
        return None
    lo, hi = min(d0, *amounts), max(amounts)
    if n_train > FAR_FACTOR * hi:
        return (f"n_train {n_train:g} is {n_train / hi:.3g}x the largest fitted data amount ({hi:g}); "
                "the law is extrapolated far outside its fitted D range, so trust this value less")
    if n_train < lo / FAR_FACTOR:
        return (f"n_train {n_train:g} is far below the fitted data amounts and D0 (from {lo:g}); "
                "the law is extrapolated outside its fitted D range, so trust this value less")
    return None


def run(args: argparse.Namespace) -> int:
    import math
    import sys

    import numpy as np

    from emergence_laws.errors import InputError
    from emergence_laws.laws.fit import EmergenceLaw
    from emergence_laws.metrics import resolve

    path = Path(args.law)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"--law {path}: no such file; pass the prediction.json written by `emergence fit --out DIR`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--law {path}: cannot read it ({type(exc).__name__}); pass a prediction.json file") from None
    law = EmergenceLaw.from_json(text)
    if not math.isfinite(args.n_train) or args.n_train < 0 or 0 < args.n_train < 1:
        raise InputError(f"--n-train {args.n_train:g}: a number of finetuning examples, 0 (few-shot) or >= 1")
    for L in args.loss:
        if not math.isfinite(L) or L <= 0:
            raise InputError(f"--loss {L:g}: pretraining loss must be a positive number of nats/token")
    doc = json.loads(text)
    metric = doc.get("metric") if isinstance(doc, dict) and isinstance(doc.get("metric"), str) else None
    info = None
    if metric:  # the law was fitted on the metric read larger = better; report it in the metric's own units
        declared = doc.get("higher_is_better")
        info = resolve(metric, {metric: declared} if isinstance(declared, bool) else None)
    bounds = info.bounds if info is not None else None
    warnings = []
    far = extrapolation_warning(args.n_train, law.d0, law.amounts)
    if far:
        warnings.append(far)
    preds = []
    for L in args.loss:
        with np.errstate(all="ignore"):
            v = float(law.predict(L, args.n_train))
            v = float(info.unorient(v)) if info is not None else v
        if not math.isfinite(v):
            raise InputError(f"--law {path}: the law gives {v} at loss {L:g} (its parameters overflow); "
                             "re-run `emergence fit --out` to write a sound prediction.json")
        if bounds is not None and not bounds[0] <= v <= bounds[1]:
            edge = min(max(v, bounds[0]), bounds[1])
            warnings.append(f"at loss {L:g} the law gives {v:.4g}, outside the range of {metric} "
                            f"[{bounds[0]:g}, {bounds[1]:g}]; reported as {edge:g} (the ReLU law does not saturate)")
            v = edge
        preds.append(v)
    with np.errstate(all="ignore"):
        E = float(law.emergence_point(args.n_train))
    if args.json:
        print(json.dumps({"loss": args.loss, "n_train": args.n_train, "metric": metric, "predicted": preds,
                          "emergence_point": E, "warnings": warnings}))
    else:
        for L, v in zip(args.loss, preds):
            side = "past" if L < E else "before"
            print(f"loss {L:g} nats, n_train {args.n_train:g}: predicted {v:.4f} ({side} emergence at {E:.3f} nats)")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0
