"""Benchmark: one weak-localisation magnetoconductance curve Δσ(B) of the tunnelling model.

Run ``python validation/bench_magneto.py [--figure PATH] [--output FILE.nc]`` (about 15 s
on a shared 2-core machine: the curve and its two baselines).  A benchmark, not a test:
nothing about time is asserted; a curve slower than the target is flagged ``SLOW``.

The model: the tunnelling-states ensemble, Eq. (37), at T = 50 mK with Λ₀ = 10 mK,
E* = 1 K, χ = 0.1, τ = 1e-13 s, τᵢ = 1e-11 s (the reference case of
``docs/ensembles.md``, ln(τ_φ/τ) ≈ 9.5 from Eq. 34), in a film with D = 1e-3 m²/s:
50 fields from 1e-5 T to 1 T, rtol = 1e-6 on Δσ (direct solutions of Eq. (24) at
1e-8).

Printed, measured in one run:

1. the one-time start-up (Numba's compiled cores loaded from the disk cache, or
   compiled) as a separate line;
2. the curve: total time (target ≤ 5 s) and how it splits: the fitted vertex Φ̄ of the
   ensemble (setup), the quadrature of Eq. (32) for all fields, the direct solutions of
   Eq. (24) (their number and mean time), the HLN fits and Eq. (34), and the rest (the
   Landau-level functionals);
3. baselines in the same run, as ratios: the (32) curve alone (``direct=False``), the
   direct curve at rtol = 1e-5 (fewer nodes), and the curve with the solves on a pool of
   two threads (``executor=``);
4. the curve itself (every 5th field): Δσ from (24) and from (32), their relative
   difference, the error estimates, the HLN residuals; and the HLN fits (B_φ, τ_φ,HLN,
   τ_φ,HLN/τ_φ,(34), rms residual, window size).

Written: a figure (Δσ direct, (32), HLN fits, residuals) and optionally the Dataset.
The machine may be shared: times are noisy; ratios measured in the same run less so.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cooperon import solve_direct  # noqa: E402
from cooperon.ensembles import TunnelingModel  # noqa: E402
from cooperon.hln import hln  # noqa: E402
from cooperon.magneto import magnetoconductance  # noqa: E402
from cooperon.vertex import Vertex  # noqa: E402

TARGET = 5.0  # seconds for the 50-field curve
MODEL = dict(T=0.05, Lambda0=0.01, E_star=1.0, chi=0.1, tau=1e-13, tau_i=1e-11)
D = 1e-3
RTOL = 1e-6


def _curve(B, rtol=RTOL, direct=True, executor=None):
    start = time.perf_counter()
    model = TunnelingModel(**MODEL)
    ds = magnetoconductance(model, B, D, rtol=rtol, direct=direct, executor=executor)
    return ds, time.perf_counter() - start


def figure(ds, path: Path) -> None:
    """Δσ(B) from (24) and (32) with their HLN fits; the fit residuals; (24)/(32) − 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    B = ds.B.values
    fig, (ax, axr, axd) = plt.subplots(
        3, 1, figsize=(6.4, 8.0), sharex=True, gridspec_kw={"height_ratios": [2, 1, 1]}
    )
    styles = {
        "direct": dict(color="C0", marker="o", mfc="none", ms=5, label="Eq. (24) direct"),
        "eq32": dict(color="C1", marker=".", ms=4, label="Eq. (32)"),
    }
    for name, st in styles.items():
        y = ds[f"delta_sigma_{name}"].values
        ax.plot(B, y, ls="none", **st)
        if int(ds[f"fit_status_{name}"]) == 0:
            Bphi = float(ds[f"B_phi_{name}"])
            ax.plot(
                B,
                hln(B, Bphi, float(ds[f"alpha_{name}"])),
                ls="-" if name == "direct" else "--",
                lw=1,
                color=st["color"],
                label=f"HLN fit to {st['label']}: B_φ = {Bphi * 1e3:.4g} mT",
            )
            win = ds[f"in_fit_window_{name}"].values
            axr.plot(B[win], ds[f"hln_residual_{name}"].values[win], ls="-", **st)
    rel = ds.delta_sigma_direct.values / ds.delta_sigma_eq32.values - 1
    axd.plot(B, rel, "k.-", ms=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("Δσ(B)  [e²/h]")
    ax.set_title("Tunnelling model (37), T = 50 mK; film D = 1e-3 m²/s")
    ax.legend(fontsize=8)
    axr.axhline(0, color="k", lw=0.5)
    axr.set_ylabel("Δσ − HLN fit  [e²/h]")
    axd.set_ylabel("Δσ_(24)/Δσ_(32) − 1")
    axd.set_xlabel("B  [T]")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--figure", type=Path, default=root / "docs/figures/magneto_tm.png")
    parser.add_argument("--output", type=Path, default=None, help="write the Dataset (NetCDF)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    solve_direct(Vertex(np.array([0.9]), np.array([0.0])), 1e-8, Q=0.1)
    print(
        f"start-up (Numba cores loaded or compiled, once per process): "
        f"{time.perf_counter() - start:.2f} s"
    )

    B = np.geomspace(1e-5, 1.0, 50)
    ds, total = _curve(B)
    a = ds.attrs
    n = a["n_F0_direct"]
    split = {
        "vertex fit of the ensemble (setup)": a["seconds_setup"],
        "Eq. (32), all fields": a["seconds_eq32"],
        f"{n} direct solutions of Eq. (24)": a["seconds_direct_solves"],
        "HLN fits + Eq. (34)": a["seconds_fits_eq34"],
    }
    split["Landau functionals, rest"] = total - sum(split.values())
    flag = "OK" if total <= TARGET else "SLOW"
    print(
        f"\n50-field curve, 1e-5 T ... 1 T, rtol {RTOL:g}: {total:.2f} s  "
        f"(target {TARGET:g} s: {flag})"
    )
    for k, v in split.items():
        print(f"  {k:<40s} {v:6.2f} s  ({100 * v / total:4.1f} %)")
    print(
        f"  mean time per direct solution: {1e3 * a['seconds_direct_solves'] / max(n, 1):.1f} ms;"
        f" F(0; Q) evaluations: {n}; (32) rule: {a['eq32_panels']} panels, "
        f"{a['eq32_nodes']} nodes"
    )
    print(f"  {a['direct_message']}")

    _, t32 = _curve(B, direct=False)
    ds5, t5 = _curve(B, rtol=1e-5)
    with ThreadPoolExecutor(2) as pool:
        dsp, tp = _curve(B, executor=pool)
    print("\nbaselines (same run):")
    print(f"  (32) curve alone:        {t32:.2f} s   direct curve / this = {total / t32:.1f}")
    print(
        f"  direct curve, rtol 1e-5: {t5:.2f} s   ({ds5.attrs['n_F0_direct']} solutions;"
        f" rtol 1e-6 / 1e-5 time = {total / t5:.2f})"
    )
    same = np.array_equal(dsp.delta_sigma_direct.values, ds.delta_sigma_direct.values)
    print(
        f"  2 threads for the solves: {tp:.2f} s   (solves {dsp.attrs['seconds_direct_solves']:.2f}"
        f" s against {a['seconds_direct_solves']:.2f} s serial; identical result: {same})"
    )
    dev5 = np.max(np.abs(ds5.delta_sigma_direct / ds.delta_sigma_direct - 1).values)
    est5 = np.max((ds5.delta_sigma_direct_error / np.abs(ds5.delta_sigma_direct)).values)
    print(
        f"    rtol 1e-5 curve against rtol 1e-6: max rel. deviation {dev5:.1e} "
        f"(its own estimate: {est5:.1e})"
    )

    print("\n  B [T]      Δσ_direct   Δσ_(32)     direct/(32)−1  err_dir/Δσ  res_dir     res_(32)")
    for i in range(0, B.size, 5):
        d, w = float(ds.delta_sigma_direct[i]), float(ds.delta_sigma_eq32[i])
        print(
            f"  {B[i]:9.3e}  {d:10.4e}  {w:10.4e}  {d / w - 1:+12.3e}  "
            f"{float(ds.delta_sigma_direct_error[i]) / d:10.1e}  "
            f"{float(ds.hln_residual_direct[i]):+10.3e}  {float(ds.hln_residual_eq32[i]):+10.3e}"
        )
    print(
        f"\nτ_φ from Eq. (34): {float(ds.tau_phi_eq34):.4e} s "
        f"(ln(τ_φ/τ) = {float(ds.log_tau_phi_over_tau_eq34):.4f})"
    )
    print("HLN fits (window |Δσ| < 1 e²/h, α = 1):")
    for name in ("direct", "eq32"):
        print(
            f"  {name:6s}: B_φ = {float(ds[f'B_phi_{name}']):.5e} T, "
            f"τ_φ,HLN = {float(ds[f'tau_phi_hln_{name}']):.4e} s, "
            f"τ_φ,HLN/τ_φ,(34) = {float(ds[f'tau_phi_hln_over_eq34_{name}']):.4f}, "
            f"rms residual {float(ds[f'fit_rms_{name}']):.2e} e²/h over "
            f"{int(ds[f'in_fit_window_{name}'].sum())} fields; {ds.attrs[f'fit_message_{name}']}"
        )
    figure(ds, args.figure)
    print(f"\nfigure: {args.figure}")
    if args.output is not None:
        ds.to_netcdf(args.output)
        print(f"dataset: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
