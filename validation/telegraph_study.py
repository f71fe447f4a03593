"""Study: the telegraph-noise Monte Carlo against Appendix B's exact and printed formulas.

Run ``python validation/telegraph_study.py [--output-dir DIR] [--seed N]``
(about 10 s; ``--quick``: 10× fewer paths).  Writes ``DIR/telegraph_study.nc``
(NetCDF, CF-style attributes) and ``DIR/telegraph_study.png``, and prints a
table of the deviations in units of each estimate's own standard error σ.
Times are in units of τ, rates in units of 1/τ (γ is ``gamma_tau`` = g).

1. k(t, t₀) = ⟨e^{iJ[ξ(t) − ξ(t₀−t)]}⟩ on 21 positions t ∈ [0, t₀] for
   t₀ = 4, γ = 0.25 (γt₀ = 1) and J = 0.4, 1.0: Monte Carlo (real and
   imaginary part) against the exact cos²J + sin²J e^{−2γ|t₀−2t|} and the
   printed 2cos²J + 2sin²J e^{…}.
2. ⟨1 − k⟩ over a defect position uniform on the loop, for J = 0.4,
   γ = 0.25 and 16 traversal times t₀ from 0.1 to 100: against the exact
   sin²J (2γt₀ − 1 + e^{−2γt₀})/(2γt₀) and the printed
   κ(t₀) = J²(2γ − 1 + e^{−2γt₀})/(2γ), which coincides with the small-J
   exact form only at t₀ = 1.
3. The correlation ⟨ξ(t)ξ(t+s)⟩ for g = 0.1 on 31 lags s ∈ [−15, 15]:
   against the relaxation-channel factor e^{−2g|s|} of Φ, Eq. (25), taken
   from :func:`cooperon.model.Phi` with r₃ = 1.

Where an estimate has σ = 0 (k at t = t₀/2, where ξ(t) − ξ(t₀−t) = 0, and
the lag s = 0, where ξ² = 1) it equals the exact value exactly; its deviation
from a different printed value is infinite.
"""

from __future__ import annotations

import argparse
import os
import sys as _sys
import time
from pathlib import Path
from pathlib import Path as _Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Run from a checkout: make the packages of this repository importable (and not a
# stale install) when the script is started as validation/….py.
_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

from cooperon import telegraph as tg
from cooperon.model import Phi
from cooperon.parameters import Parameters
from cooperon.studies.io import write_netcdf

GAMMA_K, T0_K, J_K = 0.25, 4.0, (0.4, 1.0)
GAMMA_LOOP, J_LOOP = 0.25, 0.4
G_CORR = 0.1


def _attrs(long_name: str, **extra: object) -> dict[str, object]:
    return {"long_name": long_name, "units": "1", **extra}


def run(n_paths: int, seed: int) -> xr.Dataset:
    """All Monte Carlo estimates and formulas of the study, as one labelled Dataset."""
    rng = np.random.default_rng(seed)
    u = np.linspace(0.0, 1.0, 21)
    t = T0_K * u
    k = {name: np.empty((len(J_K), u.size)) for name in ("re", "re_se", "im", "im_se")}
    for i, J in enumerate(J_K):
        est = tg.estimate_k(J, GAMMA_K, t, T0_K, 2 * n_paths, rng)
        k["re"][i], k["re_se"][i] = est.real.value, est.real.stderr
        k["im"][i], k["im_se"][i] = est.imag.value, est.imag.stderr
    Jc = np.array(J_K)[:, None]

    t0 = np.logspace(-1.0, 2.0, 16)
    loops = [tg.estimate_loop_average(J_LOOP, GAMMA_LOOP, x, n_paths, rng) for x in t0]

    s = np.linspace(-15.0, 15.0, 31)
    corr = tg.estimate_correlation(G_CORR, s, n_paths, rng)
    relaxation = Phi(s, Parameters(tau_over_tau3=1.0, gamma_tau=G_CORR))

    n_k, n_loop = 2 * n_paths, n_paths
    k_exact = tg.k_exact(Jc, GAMMA_K, t, T0_K)
    k_printed = tg.k_printed(Jc, GAMMA_K, t, T0_K)
    ds = xr.Dataset(
        {
            "k_mc": (("J", "t"), k["re"], _attrs("Monte Carlo Re k(t, t0)", n_samples=n_k)),
            "k_mc_stderr": (("J", "t"), k["re_se"], _attrs("standard error of k_mc")),
            "k_imag_mc": (("J", "t"), k["im"], _attrs("Monte Carlo Im k(t, t0) (exact: 0)")),
            "k_imag_mc_stderr": (("J", "t"), k["im_se"], _attrs("standard error of k_imag_mc")),
            "k_exact": (
                ("J", "t"),
                k_exact,
                _attrs("exact k = cos^2 J + sin^2 J exp(-2 gamma |t0 - 2t|)", source="App. B"),
            ),
            "k_printed": (
                ("J", "t"),
                k_printed,
                _attrs("k as printed: 2 cos^2 J + 2 sin^2 J exp(-2 gamma |t0 - 2t|)"),
            ),
            "loop_mc": (
                "t0",
                np.array([e.value for e in loops]),
                _attrs("Monte Carlo <1 - k> over a uniform defect position", n_samples=n_loop),
            ),
            "loop_mc_stderr": (
                "t0",
                np.array([e.stderr for e in loops]),
                _attrs("standard error of loop_mc"),
            ),
            "loop_exact": (
                "t0",
                tg.loop_average_exact(J_LOOP, GAMMA_LOOP, t0),
                _attrs("exact sin^2 J (2 gamma t0 - 1 + exp(-2 gamma t0)) / (2 gamma t0)"),
            ),
            "kappa_printed": (
                "t0",
                tg.kappa_printed(J_LOOP, GAMMA_LOOP, t0),
                _attrs("kappa(t0) as printed: J^2 (2 gamma - 1 + exp(-2 gamma t0)) / (2 gamma)"),
            ),
            "corr_mc": (
                "s",
                corr.value,
                _attrs("Monte Carlo <xi(t) xi(t+s)>", n_samples=corr.n_samples),
            ),
            "corr_mc_stderr": ("s", corr.stderr, _attrs("standard error of corr_mc")),
            "corr_exact": (
                "s",
                relaxation,
                _attrs("relaxation factor exp(-2 g |s|) of Phi, Eq. (25)", equation="(25)"),
            ),
        },
        coords={
            "J": ("J", np.array(J_K), _attrs("phase jump J = p_F l / hbar")),
            "t": ("t", t, _attrs("defect position along the loop, in units of tau")),
            "t0": ("t0", t0, _attrs("loop traversal time, in units of tau")),
            "s": ("s", s, _attrs("lag, in units of tau")),
        },
        attrs={
            "title": "Random telegraph noise (Appendix B): Monte Carlo, exact and printed forms",
            "gamma_k": GAMMA_K,
            "t0_k": T0_K,
            "gamma_loop": GAMMA_LOOP,
            "J_loop": J_LOOP,
            "g_corr": G_CORR,
            "seed": seed,
            "positions_per_path": 8,
            "n_origins": 8,
            "Conventions": "CF-1.8",
            "source": "validation/telegraph_study.py (cooperon.telegraph)",
        },
    )
    return ds


def deviations(ds: xr.Dataset) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, z against the exact form, z against the printed form or empty)."""

    def z(value, err, ref):
        return np.asarray(tg.Estimate(value, err, 0).deviation(ref)).ravel()

    rows = []
    for i, J in enumerate(ds.J.values):
        v, e = ds.k_mc.values[i], ds.k_mc_stderr.values[i]
        rows.append(
            (f"Re k, J = {J:g}", z(v, e, ds.k_exact.values[i]), z(v, e, ds.k_printed.values[i]))
        )
        vi, ei = ds.k_imag_mc.values[i], ds.k_imag_mc_stderr.values[i]
        rows.append((f"Im k, J = {J:g}", z(vi, ei, 0.0), np.array([])))
    v, e = ds.loop_mc.values, ds.loop_mc_stderr.values
    rows.append(("<1 - k>", z(v, e, ds.loop_exact.values), z(v, e, ds.kappa_printed.values)))
    rows.append(
        ("<xi xi>", z(ds.corr_mc.values, ds.corr_mc_stderr.values, ds.corr_exact.values), [])
    )
    return [(a, b, np.asarray(c, dtype=float)) for a, b, c in rows]


def table(rows) -> str:
    lines = [
        f"{'estimate':<14} {'points':>6} {'max|z| exact':>12} {'rms z exact':>11} "
        f"{'min|z| printed':>14} {'median |z| printed':>18}"
    ]
    for label, ze, zp in rows:
        fin = np.isfinite(zp)
        pmin = f"{np.abs(zp).min():14.1f}" if zp.size else f"{'-':>14}"
        pmed = f"{np.median(np.abs(zp[fin])):18.1f}" if fin.any() else f"{'-':>18}"
        lines.append(
            f"{label:<14} {ze.size:6d} {np.abs(ze).max():12.2f} "
            f"{np.sqrt(np.mean(ze**2)):11.2f} {pmin} {pmed}"
        )
    return "\n".join(lines)


def figure(ds: xr.Dataset, rows, path: Path) -> None:
    """Four panels: k(t), <1 - k>(t0), <xi xi>(s), deviations in σ."""
    fig = Figure(figsize=(11, 8.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots(2, 2)
    u = ds.t.values / ds.attrs["t0_k"]
    colours = ("C0", "C1")
    for i, J in enumerate(ds.J.values):
        c = colours[i]
        ax[0, 0].errorbar(
            u, ds.k_mc[i], 2 * ds.k_mc_stderr[i], fmt="o", ms=3, color=c, label=f"MC, J = {J:g}"
        )
        ax[0, 0].plot(u, ds.k_exact[i], "-", color=c, label="exact")
        ax[0, 0].plot(u, ds.k_printed[i], "--", color=c, label="as printed")
    ax[0, 0].set_xlabel(r"$t/t_0$")
    ax[0, 0].set_ylabel(r"$k(t, t_0)$")
    ax[0, 0].set_title(
        rf"(a) $k(t,t_0)$, $\gamma = {ds.attrs['gamma_k']:g}$, $t_0 = {ds.attrs['t0_k']:g}$",
        fontsize=10,
    )
    ax[0, 0].legend(fontsize=7, ncol=2)

    t0 = ds.t0.values
    ax[0, 1].errorbar(t0, ds.loop_mc, 2 * ds.loop_mc_stderr, fmt="o", ms=3, color="k", label="MC")
    ax[0, 1].plot(
        t0, ds.loop_exact, "-", color="C0", label=r"exact $\sin^2\!J\,(\ldots)/(2\gamma t_0)$"
    )
    ax[0, 1].plot(t0, ds.kappa_printed, "--", color="C3", label=r"printed $\kappa(t_0)$")
    ax[0, 1].axhline(0.0, color="0.7", lw=0.5)
    ax[0, 1].axvline(1.0, color="0.7", lw=0.5, ls=":")
    ax[0, 1].set_xscale("log")
    ax[0, 1].set_xlabel(r"$t_0$ ($\tau$)")
    ax[0, 1].set_ylabel(r"$\langle 1 - k\rangle$")
    ax[0, 1].set_title(
        rf"(b) uniform defect position, $J = {ds.attrs['J_loop']:g}$, "
        rf"$\gamma = {ds.attrs['gamma_loop']:g}$",
        fontsize=10,
    )
    ax[0, 1].legend(fontsize=7)

    s = ds.s.values
    ax[1, 0].errorbar(s, ds.corr_mc, 2 * ds.corr_mc_stderr, fmt="o", ms=3, color="k", label="MC")
    ax[1, 0].plot(s, ds.corr_exact, "-", color="C0", label=r"$e^{-2g|s|}$ of $\Phi$, Eq. (25)")
    ax[1, 0].set_xlabel(r"$s$ ($\tau$)")
    ax[1, 0].set_ylabel(r"$\langle\xi(t)\xi(t+s)\rangle$")
    ax[1, 0].set_title(
        rf"(c) relaxation factor of $\Phi$, $g = {ds.attrs['g_corr']:g}$", fontsize=10
    )
    ax[1, 0].legend(fontsize=7)

    a = ax[1, 1]
    a.axhspan(-4, 4, color="0.9", label=r"$\pm 4\sigma$")
    for j, (_, ze, zp) in enumerate(rows):
        x = j + np.linspace(-0.3, 0.3, ze.size)
        a.plot(x, ze, "o", ms=3, color="C0", label="vs exact" if j == 0 else None)
        fin = np.isfinite(zp)
        if fin.any():
            xp = j + np.linspace(-0.3, 0.3, zp.size)
            a.plot(xp[fin], zp[fin], "x", ms=4, color="C3", label="vs printed" if j == 0 else None)
    a.set_yscale("symlog", linthresh=4, linscale=1.5)
    ticks = [-1e4, -1e3, -1e2, -4, 0, 4, 1e2, 1e3, 1e4]
    a.set_yticks(ticks, [f"{x:g}" for x in ticks])
    a.set_ylim(-2e4, 2e4)
    a.set_xticks(range(len(rows)), [r[0] for r in rows], rotation=30, ha="right", fontsize=7)
    a.set_ylabel(r"(MC $-$ formula)/$\sigma$")
    a.set_title("(d) deviations in units of each estimate's standard error", fontsize=10)
    a.legend(fontsize=7, loc="upper left")
    fig.suptitle("Random telegraph noise, Appendix B: error bars are 2σ", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output-dir", default="telegraph-study", help="where to write")
    p.add_argument("--seed", type=int, default=20240611)
    p.add_argument("--n-paths", type=int, default=100_000, help="paths per estimate (1e5)")
    p.add_argument("--quick", action="store_true", help="10x fewer paths")
    args = p.parse_args(argv)
    n = args.n_paths // 10 if args.quick else args.n_paths
    start = time.perf_counter()
    ds = run(n, args.seed)
    rows = deviations(ds)
    out = Path(args.output_dir)
    nc = write_netcdf(ds, out / "telegraph_study.nc")
    png = out / "telegraph_study.png"
    figure(ds, rows, png)
    elapsed = time.perf_counter() - start
    print(f"seed {args.seed}; {n} paths per estimate (k: {2 * n}); {elapsed:.1f} s")
    print(table(rows))
    print(f"wrote {nc} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
