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


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the metric of a checkpoint from a fitted law (prediction.json)",
        description=(
            "Evaluate A*ReLU(E(D) - L) + B from a law written by `emergence fit --out DIR` at pretraining "
            "loss L (nats/token) after D finetuning examples (D = 0: few-shot, elbow at E(D0)): the median over "
            "the fit's bootstrap replicates and its 90% interval (D0 drawn over its range for D = 0)."
        ),
    )
    p.add_argument("--law", required=True, help="prediction.json written by `emergence fit --out`")
    p.add_argument("--loss", type=float, nargs="+", required=True, help="pretraining loss(es), nats/token")
    p.add_argument("--n-train", type=float, default=0.0, help="finetuning examples D (default 0 = few-shot)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    import numpy as np

    from emergence_laws.errors import InputError
    from emergence_laws.jsonutil import clean
    from emergence_laws.laws.law import EmergenceLaw, LawDraws

    path = Path(args.law)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(
            f"--law {path}: no such file; pass the prediction.json written by `emergence fit --out DIR`"
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(f"--law {path}: cannot read it ({type(exc).__name__}); pass a prediction.json file") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--law {path}: not valid JSON ({exc.msg} at line {exc.lineno}); pass prediction.json written by "
            "`emergence fit --out`"
        ) from None
    law = EmergenceLaw.from_json(obj)
    draws = LawDraws.from_json(law, obj)
    if not math.isfinite(args.n_train) or args.n_train < 0:
        raise InputError(f"--n-train {args.n_train}: must be a non-negative number of examples")
    for L in args.loss:
        if not math.isfinite(L) or L <= 0:
            raise InputError(f"--loss {L}: pretraining loss must be a positive number of nats/token")
    law_preds = [float(law.predict(L, args.n_train)) for L in args.loss]
    law_E = float(law.emergence_point(args.n_train))
    out = {
        "loss": args.loss,
        "n_train": args.n_train,
        "predicted": law_preds,
        "interval": None,
        "emergence_point": law_E,
        "emergence_interval": None,
        "law_predicted": law_preds,
        "law_emergence_point": law_E,
        "d0_range": list(law.d0_range) if law.d0_range else [law.d0, law.d0],
        "interval_includes": list(law.interval_includes) if draws is not None else [],
        "n_draws": 0 if draws is None else int(draws.params.shape[0]),
    }
    if draws is not None:
        lo, mid, hi = np.percentile(draws.predict(args.loss, args.n_train), [5, 50, 95], axis=0)
        e_lo, e_mid, e_hi = np.percentile(draws.emergence_point(args.n_train), [5, 50, 95])
        out.update(
            predicted=mid.tolist(),
            interval=np.stack([lo, hi], axis=1).tolist(),
            emergence_point=float(e_mid),
            emergence_interval=[float(e_lo), float(e_hi)],
        )
    if args.json:
        print(json.dumps(clean(out)))
        return 0
    E, E_iv = out["emergence_point"], out["emergence_interval"]
    e_s = f"{E:.3f} nats" + (f" [90%: {E_iv[0]:.3f}, {E_iv[1]:.3f}]" if E_iv else "")
    for i, L in enumerate(args.loss):
        v = out["predicted"][i]
        iv = out["interval"][i] if out["interval"] else None
        v_s = f"{v:.4f}" + (f" [90%: {iv[0]:.4f}, {iv[1]:.4f}]" if iv else "")
        side = "past" if L < E else "before"
        print(f"loss {L:g} nats, n_train {args.n_train:g}: predicted {v_s} ({side} emergence at {e_s})")
    return 0
