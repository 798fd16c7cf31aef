"""The emergence law as a value: ``EmergenceLaw`` (its parameters, the curves it predicts, its JSON).

For a checkpoint with pretraining loss ``L`` (nats/token) finetuned on ``D`` examples::

    Perf(L, D) = A * ReLU(E_theta(D) - L) + B              finetuned (D = n_train > 0)
    Perf(L, 0) = A * ReLU(E_theta(D0) - L) + B + delta     few-shot (elbow at E_theta(D0))

with ``E_theta(D) = k (log D)^alpha + C`` ("logpower") or ``k D^alpha + C`` ("power"). The few-shot
emergence point — the prediction — is ``E_theta(D0)``. Fitting lives in :mod:`~emergence_laws.laws.law_fit`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from emergence_laws.errors import InputError
from emergence_laws.jsonutil import clean
from emergence_laws.laws.forms import DEFAULT_BETA, ELBOW_FORMS, SHIFT_FORMS, shift
from emergence_laws.laws.forms import elbow as elbow_fn

#: Parameter order of every parameter vector: ``k, alpha, C`` (the shift), ``A, B`` (slope per nat,
#: floor), ``delta`` (few-shot floor shift).
PARAM_NAMES: tuple[str, ...] = ("k", "alpha", "C", "A", "B", "delta")


@dataclass(frozen=True)
class EmergenceLaw:
    """A fitted emergence law. Losses in nats/token; ``D`` in finetuning examples.

    ``d0`` is the low-data limit of this fit; ``d0_range`` the declared range of D0 it stands for
    (``(d0, d0)`` when D0 was given; by default ``[N, 10 N]``, and ``d0`` is then the median of D0's
    weights over it, :mod:`~emergence_laws.laws.d0`). ``interval`` (5th, 95th percentile) and
    ``median`` of the few-shot emergence point, and ``interval_includes`` (what the interval accounts
    for, in words) are set by :func:`emergence_laws.laws.bootstrap.bootstrap_law`; None/empty before.
    The interval spans its two parts, also kept: ``bootstrap_interval`` (the replicates' 5th-95th
    percentile) and ``ridge_interval`` (the predictions that fit the data as well as the best: one
    point when the data identify the law, a range on a flat ridge; :mod:`~emergence_laws.laws.profile`).
    ``fixed`` names the parameters held fixed in the fit (``alpha`` with 2 data amounts, ``delta``
    without few-shot rows or when not fitted); the bootstrap holds them fixed too.
    """

    k: float
    alpha: float
    C: float
    A: float
    B: float
    delta: float = 0.0
    d0: float = 1.0
    d0_range: tuple[float, float] | None = None
    form: str = "logpower"
    elbow: str = "relu"
    beta: float = DEFAULT_BETA
    shots: int = 0
    noise: str = "gaussian"
    nll: float = float("nan")
    n_rows: int = 0
    amounts: tuple[float, ...] = ()
    interval: tuple[float, float] | None = None
    median: float | None = None
    n_bootstrap: int = 0
    interval_includes: tuple[str, ...] = ()
    bootstrap_interval: tuple[float, float] | None = None
    ridge_interval: tuple[float, float] | None = None
    fixed: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    # -- the law ---------------------------------------------------------------------------
    def emergence_point(self, n_train) -> np.ndarray | float:
        """``E_theta(D)`` in nats for ``D = n_train`` examples (``n_train == 0`` means ``D0``)."""
        D = np.asarray(n_train, dtype=float)
        D = np.where(D == 0, self.d0, D)
        out = shift(self.form, D, self.k, self.alpha, self.C)
        return float(out) if np.ndim(out) == 0 else out

    @property
    def few_shot_emergence_point(self) -> float:
        """The prediction: ``E_theta(D0)``, nats/token."""
        return float(shift(self.form, self.d0, self.k, self.alpha, self.C))

    @property
    def point_estimate(self) -> float:
        """The reported few-shot emergence point (nats): the median over the interval's replicates when
        there is an interval (D0 drawn over its range), else ``E_theta(D0)`` of this fit."""
        return float(self.median) if self.median is not None else self.few_shot_emergence_point

    def predict(self, loss, n_train=0) -> np.ndarray | float:
        """Predicted metric at pretraining ``loss`` (nats) after ``n_train`` examples (0 = few-shot)."""
        loss = np.asarray(loss, dtype=float)
        n_train = np.asarray(n_train, dtype=float)
        E = np.asarray(self.emergence_point(n_train))
        floor = self.B + self.delta * (n_train == 0)
        out = elbow_fn(self.elbow, loss, self.A, E, floor, self.beta)
        return float(out) if np.ndim(out) == 0 else out

    @property
    def params(self) -> dict[str, float]:
        return {n: float(getattr(self, n)) for n in PARAM_NAMES}

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in PARAM_NAMES], dtype=float)

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict:
        """A JSON-ready dict (``json.dumps``-able) that :meth:`from_json` reads back."""
        out = {
            "form": self.form,
            "elbow": self.elbow,
            "params": {**self.params, "beta": float(self.beta)},
            "d0": float(self.d0),
            "few_shot_emergence_point": self.few_shot_emergence_point,
        }
        rest = {k: v for k, v in asdict(self).items() if k not in PARAM_NAMES and k not in out and k != "beta"}
        return clean({**out, **rest})

    @classmethod
    def from_json(cls, obj) -> EmergenceLaw:
        """Read a law from :meth:`to_json` output, a ``prediction.json`` dict (key ``law``), or a JSON string."""
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"law JSON: not valid JSON ({exc.msg} at line {exc.lineno}); pass the prediction.json a fit wrote"
                ) from None
        if isinstance(obj, Mapping):  # e.g. a FitResult
            obj = dict(obj)
        if not isinstance(obj, dict):
            raise InputError("law JSON: expected an object; pass the prediction.json a fit wrote")
        if "law" in obj and isinstance(obj["law"], dict):
            obj = obj["law"]
        params = obj.get("params")
        if not isinstance(params, dict):
            raise InputError("law JSON: no 'params' object; pass the prediction.json a fit wrote")
        kw = {}
        for name in PARAM_NAMES:
            v = params.get(name, 0.0 if name == "delta" else None)
            if not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise InputError(f"law JSON: params.{name} is missing or not a number; re-run the fit that wrote it")
            kw[name] = float(v)
        form, elb = obj.get("form", "logpower"), obj.get("elbow", "relu")
        if form not in SHIFT_FORMS or elb not in ELBOW_FORMS:
            raise InputError(f"law JSON: form {form!r}/elbow {elb!r} unknown; expected {SHIFT_FORMS}/{ELBOW_FORMS}")
        interval, d0_range = _pair(obj, "interval"), _pair(obj, "d0_range")
        return cls(
            **kw,
            d0=float(obj.get("d0", 1.0)),
            d0_range=d0_range,
            form=form,
            elbow=elb,
            beta=float(params.get("beta", DEFAULT_BETA)),
            shots=int(obj.get("shots", 0)),
            noise=str(obj.get("noise", "gaussian")),
            nll=float(obj["nll"]) if obj.get("nll") is not None else float("nan"),
            n_rows=int(obj.get("n_rows", 0)),
            amounts=tuple(float(x) for x in obj.get("amounts", ())),
            interval=interval,
            median=None if obj.get("median") is None else float(obj["median"]),
            n_bootstrap=int(obj.get("n_bootstrap", 0)),
            interval_includes=tuple(str(x) for x in obj.get("interval_includes", ())),
            bootstrap_interval=_pair(obj, "bootstrap_interval"),
            ridge_interval=_pair(obj, "ridge_interval"),
            fixed=tuple(str(x) for x in obj.get("fixed", ())),
            warnings=tuple(str(x) for x in obj.get("warnings", ())),
        )


def _pair(obj: dict, key: str) -> tuple[float, float] | None:
    """``obj[key]`` as two finite floats, None when absent; InputError when malformed."""
    v = obj.get(key)
    if v is None:
        return None
    try:
        a, b = (float(x) for x in v)
    except (TypeError, ValueError):
        raise InputError(f"law JSON: {key} is not a pair of numbers; re-run the fit that wrote it") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise InputError(f"law JSON: {key} holds a non-finite number; re-run the fit that wrote it")
    return (a, b)


@dataclass(frozen=True)
class LawDraws:
    """The bootstrap replicates behind a law's interval: one parameter vector and one D0 per replicate.

    ``law`` gives the form, elbow and sharpness; ``params`` is (R, 6) in :data:`PARAM_NAMES` order,
    ``d0`` (R,) examples. Percentiles over the replicates are the intervals of :meth:`predict` and
    :meth:`emergence_point` (what they include: the law's ``interval_includes``).
    """

    law: EmergenceLaw
    params: np.ndarray
    d0: np.ndarray

    def emergence_point(self, n_train: float = 0.0) -> np.ndarray:
        """``E_theta(D)`` of every replicate (nats), ``D = n_train`` (0 = each replicate's D0)."""
        D = self.d0 if float(n_train) == 0 else np.full(self.d0.shape, float(n_train))
        P = self.params
        return np.asarray(shift(self.law.form, D, P[:, 0], P[:, 1], P[:, 2]), dtype=float)

    def predict(self, loss, n_train: float = 0.0) -> np.ndarray:
        """The metric of every replicate at each ``loss`` (nats) after ``n_train`` examples: (R, len(loss))."""
        loss = np.atleast_1d(np.asarray(loss, dtype=float))
        P = self.params
        E = self.emergence_point(n_train)[:, None]
        floor = P[:, 4:5] + (P[:, 5:6] if float(n_train) == 0 else 0.0)
        return elbow_fn(self.law.elbow, loss[None, :], P[:, 3:4], E, floor, self.law.beta)

    @classmethod
    def from_json(cls, law: EmergenceLaw, obj: dict) -> LawDraws | None:
        """The ``draws`` of a ``prediction.json`` dict; None when it has none (fitted without a bootstrap)."""
        draws = obj.get("draws") if isinstance(obj, dict) else None
        if draws is None:
            return None
        try:
            P = np.asarray(draws["params"], dtype=float)
            d0 = np.asarray(draws["d0"], dtype=float)
        except (TypeError, ValueError, KeyError):
            raise InputError("law JSON: draws must hold params (rows of 6 numbers) and d0; re-run the fit that wrote it") from None
        if P.ndim != 2 or P.shape[1] != len(PARAM_NAMES) or d0.shape != (P.shape[0],) or P.shape[0] < 2:
            raise InputError("law JSON: draws must hold params (rows of 6 numbers) and d0; re-run the fit that wrote it")
        if not (np.all(np.isfinite(P)) and np.all(np.isfinite(d0))):
            raise InputError("law JSON: draws hold non-finite numbers; re-run the fit that wrote it")
        return cls(law, P, d0)
