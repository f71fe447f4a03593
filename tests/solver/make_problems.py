"""Symbolic derivation of the forcing terms of the *constructed* catalogue problems.

Run ``python tests/solver/make_problems.py`` to print, for every constructed
problem of :mod:`tests.solver.problems`, the exact solution ``y``, the forcing
``f = y - H - ∫_{t0}^{t} K(t, s) G(s, y(s)) ds`` derived in closed form by
SymPy, and (for the history problems) the history contribution
``H(t) = ∫_{-∞}^{t0} K(t, s) y(s) ds``. The expressions printed here were
pasted (as NumPy code) into ``problems.py``;
``test_problems_exact.py::test_sympy_derivation_matches_catalogue`` re-runs this
derivation and compares it numerically with the catalogue, so a transcription
error cannot go unnoticed.

The method of construction is always the same: choose a smooth exact solution
``y``, integrate ``K(t, s) G(s, y(s))`` symbolically over ``s`` (splitting at
kernel breakpoints), and define ``f`` as the difference. The problems quoted
from the literature are not derived here (their ``f`` is the published one);
they are checked only by the quadrature residual test.
"""

from __future__ import annotations

import sympy as sp

t, s = sp.symbols("t s", real=True)
I = sp.I


def _linear_f(y, K, lo=0, nonlin=None):
    g = y.subs(t, s) if nonlin is None else nonlin(s, y.subs(t, s))
    integral = sp.integrate(sp.expand(K * g), (s, lo, t))
    return sp.simplify(y - integral)


def derivations() -> dict[str, dict[str, sp.Expr]]:
    """Return ``{problem name: {"y": ..., "f": ..., ["H": ...]}}`` (SymPy expressions in t)."""
    out: dict[str, dict[str, sp.Expr]] = {}

    # -- non-convolution kernel K(t, s) = s exp(t - s), y = cos t ----------------
    y = sp.cos(t)
    out["nonconv_s_exp"] = {"y": y, "f": _linear_f(y, s * sp.exp(t - s))}

    # -- non-convolution kernel K(t, s) = cos(t - s) exp(-t), y = sin 2t + cos t --
    y = sp.sin(2 * t) + sp.cos(t)
    out["nonconv_cos_exp"] = {"y": y, "f": _linear_f(y, sp.cos(t - s) * sp.exp(-t))}

    # -- 2x2 system, K(t, s) = [[exp(-(t-s)), -t s/2], [1, cos(t-s)]],
    #    y = [cos t, exp(-t/2)]
    y1, y2 = sp.cos(t), sp.exp(-t / 2)
    K = sp.Matrix([[sp.exp(-(t - s)), -t * s / 2], [1, sp.cos(t - s)]])
    Y = sp.Matrix([y1.subs(t, s), y2.subs(t, s)])
    integ = (K * Y).applyfunc(lambda e: sp.integrate(sp.expand(e), (s, 0, t)))
    out["system2_nonconv"] = {
        "y": sp.Matrix([y1, y2]),
        "f": sp.simplify(sp.Matrix([y1, y2]) - integ),
    }

    # -- 2x2 system with a convolution kernel k(u) = [[-u, 1/2], [-1/2, exp(-u)]],
    #    y = [1 + sin t, exp(-t)]
    y1, y2 = 1 + sp.sin(t), sp.exp(-t)
    u = t - s
    K = sp.Matrix([[-u, sp.Rational(1, 2)], [-sp.Rational(1, 2), sp.exp(-u)]])
    Y = sp.Matrix([y1.subs(t, s), y2.subs(t, s)])
    integ = (K * Y).applyfunc(lambda e: sp.integrate(sp.expand(e), (s, 0, t)))
    out["system2_conv"] = {
        "y": sp.Matrix([y1, y2]),
        "f": sp.simplify(sp.Matrix([y1, y2]) - integ),
    }

    # -- nonlinear, K(t, s) = t, G = y^3, y = exp(-t) ---------------------------
    y = sp.exp(-t)
    out["cubic_nonconv"] = {"y": y, "f": _linear_f(y, t, nonlin=lambda ss, yy: yy**3)}

    # -- nonlinear, K = 1, G = exp(-y), y = -log(2 + sin t) ---------------------
    y = -sp.log(2 + sp.sin(t))
    out["exp_minus_y"] = {"y": y, "f": _linear_f(y, 1, nonlin=lambda ss, yy: sp.exp(-yy))}

    # -- history problems (t0 = 0) ----------------------------------------------
    a = sp.Rational(1, 2)
    y = sp.cos(t)
    K = a * sp.exp(-(t - s))
    full = sp.integrate(K * y.subs(t, s), (s, -sp.oo, t))
    H = sp.integrate(K * y.subs(t, s), (s, -sp.oo, 0))
    out["history_exp_cos"] = {"y": y, "f": sp.simplify(y - full), "H": sp.simplify(H)}

    # history y(s) = exp(s) for s < 0 (bounded), solution y(t) = exp(-3t/10) for t >= 0
    y = sp.exp(-sp.Rational(3, 10) * t)
    phi = sp.exp(s)
    K = (t - s) * sp.exp(-(t - s))
    H = sp.integrate(sp.expand(K * phi), (s, -sp.oo, 0))
    inner = sp.integrate(sp.expand(K * y.subs(t, s)), (s, 0, t))
    out["history_texp_decay"] = {"y": y, "f": sp.simplify(y - H - inner), "H": sp.simplify(H)}

    # -- kernel with a kink at s = 2t on t in [-2, 0]: K = 2(2t - s) for s < 2t,
    #    2(s - 2t) for s > 2t (i.e. 2|2t - s|), y = cos 2t -------------------------
    y = sp.cos(2 * t)
    kl = 2 * (2 * t - s)
    kr = 2 * (s - 2 * t)
    ys = y.subs(t, s)
    f_early = y - sp.integrate(sp.expand(kr * ys), (s, -2, t))  # t <= -1: 2t <= t0
    f_late = y - (
        sp.integrate(sp.expand(kl * ys), (s, -2, 2 * t))
        + sp.integrate(sp.expand(kr * ys), (s, 2 * t, t))
    )
    out["kink_2t"] = {"y": y, "f_early": sp.simplify(f_early), "f_late": sp.simplify(f_late)}

    # -- kernel with a jump at s = t/2 on [0, 4]: K = exp(-(t-s)) for s < t/2,
    #    cos(t - s)/2 for s > t/2, y = 1 + sin t ---------------------------------
    y = 1 + sp.sin(t)
    ys = y.subs(t, s)
    integ = sp.integrate(sp.expand(sp.exp(-(t - s)) * ys), (s, 0, t / 2)) + sp.integrate(
        sp.expand(sp.cos(t - s) / 2 * ys), (s, t / 2, t)
    )
    out["jump_half"] = {"y": y, "f": sp.simplify(y - integ)}

    # -- ExpSum kernels: K = sum_k w_k exp(lam_k t - mu_k (t - s)) ----------------
    w = [sp.Rational(1, 2), sp.Rational(3, 10)]
    lam = [0, -sp.Rational(1, 5)]
    mu = [1, -sp.Rational(1, 2)]
    y = sp.cos(t)
    K = sum(wk * sp.exp(lk * t - mk * (t - s)) for wk, lk, mk in zip(w, lam, mu, strict=True))
    out["expsum_real"] = {"y": y, "f": _linear_f(y, K)}

    w = [sp.Rational(1, 2), sp.Rational(3, 10) * I]
    lam = [sp.Rational(1, 10) * I, 0]
    mu = [1 + 2 * I, -sp.Rational(3, 10) + I]
    y = sp.exp((-sp.Rational(1, 2) + sp.Rational(3, 2) * I) * t)
    K = sum(wk * sp.exp(lk * t - mk * (t - s)) for wk, lk, mk in zip(w, lam, mu, strict=True))
    integrand = sp.expand(sp.powsimp(K * y.subs(t, s)))
    out["expsum_complex"] = {
        "y": y,
        "f": sp.simplify(y - sp.integrate(integrand, (s, 0, t))),
    }
    return out


def main() -> None:
    for name, exprs in derivations().items():
        print(f"# --- {name}")
        for key, e in exprs.items():
            print(f"#   {key} = {e}")
            print(f"#   numpy: {sp.pycode(e, fully_qualified_modules=False)}")


if __name__ == "__main__":
    main()
