"""`emergence predict --law prediction.json --loss L --n-train D`: evaluate a fitted law, with its interval.

With the bootstrap replicates that `emergence fit` stores in prediction.json (``draws``), the
predicted metric and the emergence point are the medians over the replicates and come with their
90% intervals (5th-95th percentile; what they include: the file's ``interval_includes``). Without
them (``fit --bootstrap 0``) they are the fitted law's values and no interval is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emergence_laws.commands.common import run_in_flags


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the metric of a checkpoint from a fitted law (prediction.json)",
        description=(
            "Evaluate A*ReLU(E(D) - L) + B from a law written by `emergence fit --out DIR` at pretraining "
            "loss L (nats/token) after D finetuning examples (D = 0: few-shot, elbow at E(D0)): the median over "
            "the fit's bootstrap replicates and its 90% interval (D0 drawn over its range for D = 0). Values are "
            "reported in the metric's own units and kept inside its range (accuracy in [0, 1]); a warning says "
            "when D or L lies far outside what the law was fitted on. A law file whose parameters leave their "
            "domain or disagree with its own bootstrap draws is refused (exit 2)."
        ),
    )
    p.add_argument("--law", required=True, help="prediction.json written by `emergence fit --out`")
    p.add_argument("--loss", type=float, nargs="+", required=True, help="pretraining loss(es), nats/token")
    p.add_argument("--n-train", type=float, default=0.0, help="finetuning examples D (default 0 = few-shot)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    run_in_flags(p, run)


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
    from emergence_laws.jsonutil import clean
    from emergence_laws.laws.law import EmergenceLaw, LawDraws
    from emergence_laws.laws.law_check import check_law, check_losses
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
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--law {path}: not valid JSON ({exc.msg} at line {exc.lineno}); pass prediction.json written by "
            "`emergence fit --out`"
        ) from None
    try:
        law = EmergenceLaw.from_json(obj)
        draws = LawDraws.from_json(law, obj)
    except InputError as exc:  # name the file: "law JSON: ..." -> "--law FILE: ..."
        raise InputError(f"--law {path}: {str(exc).removeprefix('law JSON: ')}") from None
    check_law(law, draws, f"--law {path}")  # parameters in their domain, consistent with the draws
    if not math.isfinite(args.n_train) or args.n_train < 0 or 0 < args.n_train < 1:
        raise InputError(f"--n-train {args.n_train:g}: a number of finetuning examples, 0 (few-shot) or >= 1")
    loss_warnings = check_losses(args.loss, law, obj)  # refuses no-losses, warns far outside the law's
    # the law was fitted on the metric read larger = better: report it in the metric's own units
    metric = obj.get("metric") if isinstance(obj, dict) and isinstance(obj.get("metric"), str) else None
    declared = obj.get("higher_is_better") if isinstance(obj, dict) else None
    info = resolve(metric, {metric: declared} if isinstance(declared, bool) else None) if metric else None
    bounds = info.bounds if info is not None else None

    def units(values) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        return info.unorient(v) if info is not None else v

    with np.errstate(all="ignore"):
        law_preds = units([law.predict(L, args.n_train) for L in args.loss])
        law_E = float(law.emergence_point(args.n_train))
    if not (np.isfinite(law_preds).all() and math.isfinite(law_E)):
        raise InputError(f"--law {path}: the law gives non-finite values (its parameters overflow); "
                         "re-run `emergence fit --out` to write a sound prediction.json")
    points, interval, E, E_iv = law_preds, None, law_E, None
    if draws is not None:
        with np.errstate(all="ignore"):
            lo, points, hi = np.percentile(units(draws.predict(args.loss, args.n_train)), [5, 50, 95], axis=0)
            e_lo, E, e_hi = (float(x) for x in np.percentile(draws.emergence_point(args.n_train), [5, 50, 95]))
        if args.n_train == 0 and law.ridge_interval is not None:  # as the fit's interval: it spans the ridge
            e_lo, e_hi = min(e_lo, law.ridge_interval[0]), max(e_hi, law.ridge_interval[1])
        e_lo = max(e_lo, 0.0)  # nats per token: never negative
        interval, E_iv = np.stack([lo, hi], axis=1), [e_lo, e_hi]
    warnings = list(loss_warnings)
    far = extrapolation_warning(args.n_train, law.d0, law.amounts)
    if far:
        warnings.append(far)
    if bounds is not None:
        for L, v in zip(args.loss, points):
            if not bounds[0] <= v <= bounds[1]:
                edge = min(max(float(v), bounds[0]), bounds[1])
                warnings.append(f"at loss {L:g} the law gives {v:.4g}, outside the range of {metric} "
                                f"[{bounds[0]:g}, {bounds[1]:g}]; reported as {edge:g} (the law does not saturate)")
        points, law_preds = np.clip(points, *bounds), np.clip(law_preds, *bounds)
        interval = None if interval is None else np.clip(interval, *bounds)
    out = {
        "loss": args.loss,
        "n_train": args.n_train,
        "metric": metric,
        "predicted": [float(v) for v in points],
        "interval": None if interval is None else interval.tolist(),
        "emergence_point": E,
        "emergence_interval": E_iv,
        "law_predicted": [float(v) for v in law_preds],
        "law_emergence_point": law_E,
        "d0_range": list(law.d0_range) if law.d0_range else [law.d0, law.d0],
        "interval_includes": list(law.interval_includes) if draws is not None else [],
        "n_draws": 0 if draws is None else int(draws.params.shape[0]),
        "warnings": warnings,
    }
    if args.json:
        print(json.dumps(clean(out)))
    else:
        e_s = f"{E:.3f} nats" + (f" [90%: {E_iv[0]:.3f}, {E_iv[1]:.3f}]" if E_iv else "")
        for i, L in enumerate(args.loss):
            v = out["predicted"][i]
            iv = out["interval"][i] if out["interval"] else None
            v_s = f"{v:.4f}" + (f" [90%: {iv[0]:.4f}, {iv[1]:.4f}]" if iv else "")
            side = "past" if L < E else "before"
            print(f"loss {L:g} nats, n_train {args.n_train:g}: predicted {v_s} ({side} emergence at {e_s})")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0
