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
            "loss L (nats/token) after D finetuning examples (D = 0: few-shot, elbow at E(D0))."
        ),
    )
    p.add_argument("--law", required=True, help="prediction.json written by `emergence fit --out`")
    p.add_argument("--loss", type=float, nargs="+", required=True, help="pretraining loss(es), nats/token")
    p.add_argument("--n-train", type=float, default=0.0, help="finetuning examples D (default 0 = few-shot)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import math

    from emergence_laws.errors import InputError
    from emergence_laws.laws.law import EmergenceLaw

    path = Path(args.law)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(
            f"--law {path}: no such file; pass the prediction.json written by `emergence fit --out DIR`"
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(f"--law {path}: cannot read it ({type(exc).__name__}); pass a prediction.json file") from None
    law = EmergenceLaw.from_json(text)
    if not math.isfinite(args.n_train) or args.n_train < 0:
        raise InputError(f"--n-train {args.n_train}: must be a non-negative number of examples")
    for L in args.loss:
        if not math.isfinite(L) or L <= 0:
            raise InputError(f"--loss {L}: pretraining loss must be a positive number of nats/token")
    preds = [float(law.predict(L, args.n_train)) for L in args.loss]
    E = float(law.emergence_point(args.n_train))
    if args.json:
        print(json.dumps({"loss": args.loss, "n_train": args.n_train, "predicted": preds, "emergence_point": E}))
        return 0
    for L, v in zip(args.loss, preds):
        side = "past" if L < E else "before"
        print(f"loss {L:g} nats, n_train {args.n_train:g}: predicted {v:.4f} ({side} emergence at {E:.3f} nats)")
    return 0
