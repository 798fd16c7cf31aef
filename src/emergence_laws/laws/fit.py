"""Joint maximum-likelihood fit of an emergence law (Snell et al., 2024).

Model, for a row with pretraining loss ``L`` (nats/token) and ``D`` finetuning examples::

    Perf(L, D) = A * ReLU(E_theta(D) - L) + B              finetuned rows (D = n_train > 0)
    Perf(L, 0) = A * ReLU(E_theta(D0) - L) + B + Delta     few-shot rows (elbow at E_theta(D0))

with ``E_theta(D) = k (log D)^alpha + C`` ("logpower", default) or ``k D^alpha + C`` ("power"),
``k >= 0`` so that more data moves emergence to higher loss (weaker models). The few-shot
emergence point — the prediction — is ``E_theta(D0)``; ``D0`` defaults to the few-shot rows'
``shots`` (clamped to >= 1: for zero-shot rows ``E_theta(1) = C``).

Likelihood: binomial for rows whose ``value`` is a proportion with known ``n_eval``; Gaussian with
a profiled common variance for the others. Optimiser: L-BFGS-B with analytic gradients, bounds,
and several starts built from per-data-amount elbow fits (:func:`~emergence_laws.laws.elbow.fit_elbow`).
"""

from __future__ import annotations

import json
import math
import warnings as _warnings
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy.optimize import minimize

from emergence_laws.errors import InputError, NotIdentifiableError
from emergence_laws.laws.data import LawData
from emergence_laws.laws.elbow import fit_elbow
from emergence_laws.laws.forms import (
    DEFAULT_BETA,
    ELBOW_FORMS,
    SHIFT_FORMS,
    shift,
    shift_basis,
    softplus,
)
from emergence_laws.laws.forms import elbow as elbow_fn

PARAM_NAMES: tuple[str, ...] = ("k", "alpha", "C", "A", "B", "delta")
_EPS = 1e-6


@dataclass(frozen=True)
class EmergenceLaw:
    """A fitted emergence law. Losses in nats/token; ``D`` in finetuning examples.

    ``interval`` (5th, 95th percentile) and ``median`` of the few-shot emergence point are set by
    :func:`emergence_laws.laws.bootstrap.bootstrap_law`; None before. ``fixed`` names the parameters
    held fixed in the fit (``alpha`` with 2 data amounts, ``delta`` without few-shot rows or when
    not fitted); the bootstrap holds them fixed too.
    """

    k: float
    alpha: float
    C: float
    A: float
    B: float
    delta: float = 0.0
    d0: float = 1.0
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
        d = asdict(self)
        d["interval"] = None if self.interval is None else [float(x) for x in self.interval]
        d["amounts"] = [float(x) for x in self.amounts]
        d["warnings"] = list(self.warnings)
        d["fixed"] = list(self.fixed)
        d["nll"] = None if not math.isfinite(self.nll) else float(self.nll)
        out = {
            "form": self.form,
            "elbow": self.elbow,
            "params": {**self.params, "beta": float(self.beta)},
            "d0": float(self.d0),
            "few_shot_emergence_point": self.few_shot_emergence_point,
        }
        out.update({k: v for k, v in d.items() if k not in PARAM_NAMES and k not in ("form", "elbow", "beta", "d0")})
        return out

    @classmethod
    def from_json(cls, obj) -> EmergenceLaw:
        """Read a law from :meth:`to_json` output, a ``prediction.json`` dict (key ``law``), or a JSON string."""
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"law JSON: not valid JSON ({exc.msg} at line {exc.lineno}); pass prediction.json written by `emergence fit --out`"
                ) from None
        if not isinstance(obj, dict):
            raise InputError("law JSON: expected an object; pass prediction.json written by `emergence fit --out`")
        if "law" in obj and isinstance(obj["law"], dict):
            obj = obj["law"]
        params = obj.get("params")
        if not isinstance(params, dict):
            raise InputError("law JSON: no 'params' object; pass prediction.json written by `emergence fit --out`")
        kw = {}
        for name in PARAM_NAMES:
            v = params.get(name, 0.0 if name == "delta" else None)
            if not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise InputError(f"law JSON: params.{name} is missing or not a number; re-run `emergence fit --out`")
            kw[name] = float(v)
        form, elb = obj.get("form", "logpower"), obj.get("elbow", "relu")
        if form not in SHIFT_FORMS or elb not in ELBOW_FORMS:
            raise InputError(f"law JSON: form {form!r}/elbow {elb!r} unknown; expected {SHIFT_FORMS}/{ELBOW_FORMS}")
        interval = obj.get("interval")
        return cls(
            **kw,
            d0=float(obj.get("d0", 1.0)),
            form=form,
            elbow=elb,
            beta=float(params.get("beta", DEFAULT_BETA)),
            shots=int(obj.get("shots", 0)),
            noise=str(obj.get("noise", "gaussian")),
            nll=float(obj["nll"]) if obj.get("nll") is not None else float("nan"),
            n_rows=int(obj.get("n_rows", 0)),
            amounts=tuple(float(x) for x in obj.get("amounts", ())),
            interval=None if interval is None else (float(interval[0]), float(interval[1])),
            median=None if obj.get("median") is None else float(obj["median"]),
            n_bootstrap=int(obj.get("n_bootstrap", 0)),
            fixed=tuple(str(x) for x in obj.get("fixed", ())),
            warnings=tuple(str(x) for x in obj.get("warnings", ())),
        )


class Objective:
    """Negative log-likelihood of the joint law and its analytic gradient, for row weights ``w``.

    Weights are bootstrap counts (1 for the point fit). Parameter vector order: :data:`PARAM_NAMES`.
    """

    def __init__(self, data: LawData, form: str, elbow: str, beta: float, d0: float):
        if form not in SHIFT_FORMS:
            raise InputError(f"form {form!r} unknown; use one of {', '.join(SHIFT_FORMS)}")
        if elbow not in ELBOW_FORMS:
            raise InputError(f"elbow {elbow!r} unknown; use one of {', '.join(ELBOW_FORMS)}")
        self.form, self.elbow, self.beta, self.d0 = form, elbow, float(beta), float(d0)
        fs = data.is_fewshot
        D = np.where(fs, d0, data.n_train)
        self.g = shift_basis(form, D)
        self.logg = np.log(np.where(self.g > 0, self.g, 1.0))
        self.fs = fs.astype(float)
        self.L = data.loss
        self.y = data.value
        nb = data.binomial_counts()
        self.binom = np.isfinite(nb)
        self.nb = np.where(self.binom, nb, 0.0)
        self.gauss = ~self.binom
        self.any_binom = bool(self.binom.any())
        self.any_gauss = bool(self.gauss.any())
        self.noise = "binomial" if not self.any_gauss else ("gaussian" if not self.any_binom else "mixed")

    def mean(self, p: np.ndarray):
        k, a, C, A, B, dl = p
        u = np.power(self.g, a)
        z = k * u + C - self.L
        if self.elbow == "relu":
            r = np.maximum(z, 0.0)
            dr = (z > 0).astype(float)
        else:
            r = softplus(z, self.beta)
            dr = 0.5 * (1.0 + np.tanh(0.5 * self.beta * z))
        mu = A * r + B + dl * self.fs
        return mu, u, r, dr

    def __call__(self, p: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
        k, A = p[0], p[3]
        mu, u, r, dr = self.mean(p)
        nll = 0.0
        dmu = np.zeros_like(mu)
        if self.any_binom:
            pc = np.clip(mu, _EPS, 1 - _EPS)
            wb = w * self.nb
            y = self.y
            nll -= float(np.sum(wb * (y * np.log(pc) + (1 - y) * np.log1p(-pc))))
            # Above 1 the metric saturates: flat (no gradient). Below 0 the log-likelihood is
            # extended linearly from p = eps, so the optimiser is pushed back inside.
            slope = -wb * (y / pc - (1 - y) / (1 - pc))
            below = mu < _EPS
            if np.any(below):
                nll += float(np.sum(np.where(below, slope * (mu - pc), 0.0)))
            dmu += np.where(mu < 1 - _EPS, slope, 0.0)
        if self.any_gauss:
            wg = w * self.gauss
            m = float(wg.sum())
            if m > 0:
                res = self.y - mu
                ss = float(np.sum(wg * res * res)) + 1e-12 * m
                nll += 0.5 * m * math.log(ss / m)
                dmu -= (m / ss) * wg * res
        t = dmu * A * dr
        grad = np.array(
            [
                float(np.dot(t, u)),
                float(np.dot(t, k * u * self.logg)),
                float(t.sum()),
                float(np.dot(dmu, r)),
                float(dmu.sum()),
                float(np.dot(dmu, self.fs)),
            ]
        )
        return nll, grad


def _batch_mean(obj: Objective, P: np.ndarray):
    """Mean and Jacobian columns for R parameter vectors at once (P: (R, 6))."""
    k, a, C, A, B, dl = (P[:, i : i + 1] for i in range(6))
    u = np.power(obj.g[None, :], a)
    z = k * u + C - obj.L[None, :]
    if obj.elbow == "relu":
        r = np.maximum(z, 0.0)
        dr = (z > 0).astype(float)
    else:
        r = softplus(z, obj.beta)
        dr = 0.5 * (1.0 + np.tanh(0.5 * obj.beta * z))
    mu = A * r + B + dl * obj.fs[None, :]
    return mu, u, r, dr


def batch_nll(obj: Objective, P: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Negative log-likelihood of R parameter vectors ``P`` (R, 6) under row weights ``W`` (R, n)."""
    mu = _batch_mean(obj, P)[0]
    return _nll_from_mu(obj, mu, W)


def _nll_from_mu(obj: Objective, mu: np.ndarray, W: np.ndarray) -> np.ndarray:
    out = np.zeros(mu.shape[0])
    y = obj.y[None, :]
    if obj.any_binom:
        pc = np.clip(mu, _EPS, 1 - _EPS)
        wb = W * obj.nb[None, :]
        out -= np.sum(wb * (y * np.log(pc) + (1 - y) * np.log1p(-pc)), axis=1)
        below = mu < _EPS
        if np.any(below):
            slope = -wb * (y / pc - (1 - y) / (1 - pc))
            out += np.sum(np.where(below, slope * (mu - pc), 0.0), axis=1)
    if obj.any_gauss:
        wg = W * obj.gauss[None, :]
        m = wg.sum(axis=1)
        res = y - mu
        ss = np.sum(wg * res * res, axis=1) + 1e-12 * m
        with np.errstate(divide="ignore", invalid="ignore"):
            out += np.where(m > 0, 0.5 * m * np.log(ss / np.where(m > 0, m, 1.0)), 0.0)
    return out


def batch_fit(
    obj: Objective,
    P0: np.ndarray,
    W: np.ndarray,
    bounds,
    max_iter: int = 60,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit R problems at once (bootstrap replicates, or several starts) by projected Levenberg-Marquardt.

    Fisher scoring for binomial rows, Gauss-Newton for Gaussian rows, a damping factor per
    replicate, steps projected onto ``bounds``. Returns ``(P, nll)`` of shapes (R, 6) and (R,).
    """
    lb = np.array([b[0] for b in bounds], dtype=float)
    ub = np.array([b[1] for b in bounds], dtype=float)
    free = (ub > lb).astype(float)
    P = np.clip(np.array(P0, dtype=float), lb, ub)
    R = P.shape[0]
    f = _nll_from_mu(obj, _batch_mean(obj, P)[0], W)
    lam = np.full(R, 1e-3)
    active = np.ones(R, dtype=bool)
    y = obj.y[None, :]
    eye = np.eye(6)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Pa, Wa = P[idx], W[idx]
        mu, u, r, dr = _batch_mean(obj, Pa)
        k, A = Pa[:, 0:1], Pa[:, 3:4]
        Adr = A * dr
        J = np.stack(
            [Adr * u, Adr * k * u * obj.logg[None, :], Adr, r, np.ones_like(r), np.broadcast_to(obj.fs, r.shape)],
            axis=2,
        )
        dmu = np.zeros_like(mu)
        info = np.zeros_like(mu)
        if obj.any_binom:
            wb = Wa * obj.nb[None, :]
            pc = np.clip(mu, _EPS, 1 - _EPS)
            dmu -= np.where(mu < 1 - _EPS, wb * (y - pc) / (pc * (1 - pc)), 0.0)
            pi = np.clip(mu, 1e-3, 1 - 1e-3)
            info += np.where(mu < 1 - _EPS, wb / (pi * (1 - pi)), 0.0)
        if obj.any_gauss:
            wg = Wa * obj.gauss[None, :]
            m = wg.sum(axis=1, keepdims=True)
            res = y - mu
            s2 = (np.sum(wg * res * res, axis=1, keepdims=True) + 1e-12 * m) / np.maximum(m, 1e-300)
            dmu -= wg * res / s2
            info += wg / s2
        g = np.einsum("rn,rnp->rp", dmu, J) * free
        H = np.einsum("rnp,rn,rnq->rpq", J, info, J)
        H = H * free[None, :, None] * free[None, None, :] + (1 - free)[None, :, None] * eye[None]
        diag = np.einsum("rpp->rp", H)
        Hd = H + (lam[idx, None] * np.maximum(diag, 1e-12) + 1e-12)[:, :, None] * eye[None]
        try:
            step = -np.linalg.solve(Hd, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = -g / np.maximum(np.einsum("rpp->rp", Hd), 1e-12)
        Pn = np.clip(Pa + step, lb, ub)
        fn = _nll_from_mu(obj, _batch_mean(obj, Pn)[0], Wa)
        better = np.isfinite(fn) & (fn <= f[idx])
        gain = np.where(better, f[idx] - fn, 0.0)
        P[idx[better]] = Pn[better]
        f[idx[better]] = fn[better]
        lam[idx] = np.where(better, np.maximum(lam[idx] / 3.0, 1e-9), lam[idx] * 4.0)
        done = (better & (gain <= tol * np.maximum(np.abs(f[idx]), 1.0))) | (lam[idx] > 1e8)
        active[idx[done]] = False
    return P, f


def default_d0(data: LawData, d0: float | None) -> tuple[float, list[str]]:
    """``D0`` (examples) and warnings: ``d0`` if given, else the few-shot rows' ``shots``, clamped to >= 1."""
    notes: list[str] = []
    if d0 is None:
        d0 = float(data.shots)
        src = f"shots={data.shots} of the few-shot rows"
    else:
        d0 = float(d0)
        src = f"--d0 {d0:g}"
        if not math.isfinite(d0) or d0 < 0:
            raise InputError(f"d0: {d0} is not a non-negative number of examples; pass e.g. --d0 5")
    if d0 < 1 and not data.is_fewshot.any() and src.startswith("shots"):
        notes.append(
            "no few-shot rows (n_train = 0), so D0 defaults to 1 (E_theta(1) = C); pass --d0 N with N the number "
            "of in-context examples you will use"
        )
        d0 = 1.0
    elif d0 < 1:
        notes.append(
            f"D0 from {src} is below 1; the log power law needs D >= 1, so D0 = 1 is used (E_theta(1) = C); "
            "pass --d0 N (e.g. the number of in-context examples) to choose it"
        )
        d0 = 1.0
    return d0, notes


def _bounds(data: LawData, form: str, obj: Objective, fit_delta: bool, alpha_fixed: float | None):
    prop = bool(np.all((data.value >= 0) & (data.value <= 1)))
    ylo, yhi = float(data.value.min()), float(data.value.max())
    yspan = max(yhi - ylo, 1e-3)
    lspan = float(data.loss.max() - data.loss.min())
    a_lo, a_hi = (0.05, 5.0) if form == "logpower" else (1e-3, 2.0)
    if alpha_fixed is not None:
        a_lo = a_hi = float(alpha_fixed)
    b = (0.0, 1.0) if prop else (ylo - yspan, yhi + yspan)
    has_fs = bool(obj.fs.any())
    dl = ((-1.0, 1.0) if prop else (-2 * yspan, 2 * yspan)) if (fit_delta and has_fs) else (0.0, 0.0)
    c_pad = 10.0 * max(lspan, 0.1) + 5.0
    return [
        (0.0, 50.0),
        (a_lo, a_hi),
        (float(data.loss.min()) - c_pad, float(data.loss.max()) + c_pad),
        (0.0, 1e3 * yspan / max(lspan, 1e-3)),
        b,
        dl,
    ]


def _starts(data: LawData, form: str, d0: float, bounds, n_starts: int) -> list[np.ndarray]:
    """Starting vectors from per-amount elbow fits and a small grid over alpha."""
    ne = data.n_eval
    pts, As, Bs = [], [], []
    for d in data.amounts:
        m = data.n_train == d
        if np.unique(data.loss[m]).size < 2:
            continue
        ef = fit_elbow(data.loss[m], data.value[m], n_eval=None if ne is None else ne[m])
        if ef.emerged:
            pts.append((float(d), ef.E))
            As.append(ef.A)
            Bs.append(ef.B)
    fs = data.is_fewshot
    B_fs = None
    if fs.sum() >= 2 and np.unique(data.loss[fs]).size >= 2:
        ef = fit_elbow(data.loss[fs], data.value[fs], n_eval=None if ne is None else ne[fs])
        B_fs = ef.B
    if not As:  # nothing emerged: caller normally refuses before; fall back to crude values
        ys = data.value
        As, Bs = [max(float(ys.max() - ys.min()), 1e-3)], [float(np.quantile(ys, 0.1))]
        pts = [(float(data.amounts.max()), float(data.loss.min()))]
    A0, B0 = float(np.median(As)), float(np.median(Bs))
    dl0 = 0.0 if B_fs is None or bounds[5][0] == bounds[5][1] else float(np.clip(B_fs - B0, *bounds[5]))
    a_lo, a_hi = bounds[1]
    alphas = [a_lo] if a_lo == a_hi else [a for a in (1.0, 0.5, 2.0, 0.25, 3.0, 1.5) if a_lo <= a <= a_hi]
    dd = np.array([p[0] for p in pts])
    ee = np.array([p[1] for p in pts])
    cands = []
    for a in alphas:
        x = np.power(shift_basis(form, dd), a)
        if dd.size >= 2 and np.ptp(x) > 0:
            k, C = np.polyfit(x, ee, 1)
            if k < 0:
                k, C = 0.0, float(ee.mean())
        else:
            k = 0.05 / max(float(x.mean()), 1e-9) if form == "power" else 0.05
            C = float(ee.mean() - k * x.mean())
        sse = float(np.sum((k * x + C - ee) ** 2))
        cands.append((sse, a, k, C))
    cands.sort(key=lambda t: t[0])
    out = []
    for _, a, k, C in cands[:n_starts]:
        p = np.array([k, a, C, A0, B0, dl0])
        out.append(np.array([np.clip(v, lo, hi) for v, (lo, hi) in zip(p, bounds)]))
    return out


def _minimise(obj: Objective, x0: np.ndarray, bounds, w: np.ndarray, maxiter: int = 500):
    res = minimize(obj, x0, args=(w,), jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": maxiter})
    return res


def fit_law(
    data: LawData,
    *,
    form: str = "logpower",
    elbow: str = "relu",
    d0: float | None = None,
    fit_delta: bool = True,
    beta: float = DEFAULT_BETA,
    alpha: float | None = None,
    n_starts: int = 4,
    check: bool = True,
) -> EmergenceLaw:
    """Fit the joint emergence law to ``data`` by maximum likelihood.

    Args:
        data: validated rows (:class:`LawData`); finetuned rows are required, few-shot rows optional.
        form: ``"logpower"`` (``k (log D)^alpha + C``, default) or ``"power"`` (``k D^alpha + C``).
        elbow: ``"relu"`` (default) or ``"softplus"`` (sharpness ``beta``, 1/nats).
        d0: low-data extrapolation limit ``D0`` (examples); default: the few-shot rows' ``shots``.
        fit_delta: fit a floor shift ``Delta`` for few-shot rows (when there are any).
        alpha: fix ``alpha`` instead of fitting it (done automatically, at 1, with 2 data amounts).
        n_starts: number of optimiser starts.
        check: run the identifiability checks (:mod:`~emergence_laws.laws.identifiability`) first.

    Returns:
        :class:`EmergenceLaw` (no interval yet: see :func:`~emergence_laws.laws.bootstrap.bootstrap_law`).

    Raises:
        NotIdentifiableError: the data cannot determine the law (the message says what to add).
    """
    from emergence_laws.laws.identifiability import check_identifiable

    notes: list[str] = []
    d0v, n0 = default_d0(data, d0)
    notes += n0
    if check:
        notes += check_identifiable(data)
    if alpha is None and data.amounts.size == 2:
        alpha = 1.0
        notes.append(
            "only 2 finetuning data amounts: alpha is fixed at 1 (E linear in log D); add a third amount to fit alpha"
        )
    obj = Objective(data, form, elbow, beta, d0v)
    bounds = _bounds(data, form, obj, fit_delta, alpha)
    w = np.ones(data.n_rows)
    best_x, best_f = None, np.inf
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        starts = np.array(_starts(data, form, d0v, bounds, n_starts))
        P, f = batch_fit(obj, starts, np.ones((len(starts), data.n_rows)), bounds, max_iter=200)
        ok = np.all(np.isfinite(P), axis=1) & np.isfinite(f)
        if ok.any():
            i = int(np.argmin(np.where(ok, f, np.inf)))
            best_x, best_f = P[i], float(f[i])
            res = _minimise(obj, best_x, bounds, w)  # polish
            if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun < best_f:
                best_x, best_f = res.x, float(res.fun)
    if best_x is None:
        raise NotIdentifiableError(
            "the emergence-law fit did not converge from any start; check that accuracy rises as loss falls "
            "in the finetuned rows, or add checkpoints past emergence"
        )
    p = best_x
    law = EmergenceLaw(
        *[float(v) for v in p],
        d0=d0v,
        form=form,
        elbow=elbow,
        beta=float(beta),
        shots=data.shots,
        noise=obj.noise,
        nll=best_f,
        n_rows=data.n_rows,
        amounts=tuple(float(x) for x in data.amounts),
        fixed=tuple(n for n, (lo, hi) in zip(PARAM_NAMES, bounds) if lo == hi),
        warnings=tuple(notes),
    )
    if check:
        from emergence_laws.laws.identifiability import post_fit_warnings

        law = replace(law, warnings=law.warnings + tuple(post_fit_warnings(data, law)))
    return law
