"""Figures of the breakdown maps: which closed form, and which step of the paper, fails where.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global
backend change), PNGs at dpi 100.  Each map figure (:func:`plot_map`) is its
"anatomy", six panels over the (x, y) plane of the map:

* top row, the closed forms against Eq. (24) solved directly: Eq. (32) as
  printed, the consistent Eq. (27) with the WKB resolvent (31) (∫e^ϑ), and
  the local closure (beyond the paper), as log₁₀|dev|;
* bottom row, the paper's two steps: the ODE (29) solved exactly against
  Eq. (24) (``dev_ode_step``) and its WKB solution (31), i.e. Eq. (27),
  against the ODE (``dev_wkb_step``), as log₁₀|dev|; and which of the two
  is larger, log₁₀(|dev_ode_step|/|dev_wkb_step|) (red: equal).

Panels of similar deviations share a colour scale (Eqs. 32 and 27; the two
steps); the local closure and the ratio have their own.  A scale spans its
data, the 1st to the 99.5th percentile rounded out to half decades, not
below the rtol of the direct solution (smaller deviations are not resolved)
nor above |dev| = 10; values beyond take the end colours.  The ratio's
scale is symmetric, the 95th percentile of |log ratio|.  On every panel:
the contours |dev| = 1 % (solid) and 10 % (dashed), black with a white halo
so that they read on any colour; sign changes of dev (dotted); guide lines
of λ_max = sup(1 − Φ) of Eq. (25) (thin grey, labelled on the left column;
left out where λ_max is the y axis itself); grey cells where a panel has no
value (the point's status, or that form's own failure).  Colour bars and the
legend sit outside the panels; the axes span the grid points (log axes where
the grid is log-spaced), labelled with the paper's symbols.
"""

from __future__ import annotations

import math
import os

import numpy as np
import xarray as xr
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatterSciNotation, MaxNLocator

from .schema import Status

__all__ = ["AXIS_LABELS", "DEV_LABELS", "axis_label", "colour_range", "plot_map"]

#: Axis labels (matplotlib mathtext) with the paper's symbols.
AXIS_LABELS: dict[str, str] = {
    "tau_over_tau1": r"$r_1 = \tau/\tau_1$",
    "tau_over_tau3": r"$r_3 = \tau/\tau_3$",
    "E_tau": r"$\varepsilon = E\tau/\hbar$",
    "gamma_tau": r"$g = \gamma\tau/\hbar$",
    "Dq2_tau": r"$Q = Dq^2\tau$",
    "lambda_max": r"$\lambda_{\max}$",
}

#: Panel titles of the deviations (F: Eq. 24 solved directly).
DEV_LABELS: dict[str, str] = {
    "dev_eq32": r"Eq. (32) as printed: $F_{32}/F - 1$",
    "dev_eq27": r"Eq. (27) + WKB (31), consistent: $F_{27}/F - 1$",
    "dev_local_closure": r"local closure (beyond the paper): $F_{\rm cl}/F - 1$",
    "dev_ode_step": r"ODE step: (29) solved, $F_{\rm ODE}/F - 1$",
    "dev_wkb_step": r"WKB step: (31) on (29), $F_{27}/F_{\rm ODE} - 1$",
}

#: Panel (row, column) of each deviation; the step ratio is at (1, 2).
_PANELS: dict[str, tuple[int, int]] = {
    "dev_eq32": (0, 0),
    "dev_eq27": (0, 1),
    "dev_local_closure": (0, 2),
    "dev_ode_step": (1, 0),
    "dev_wkb_step": (1, 1),
}
#: Panels sharing a colour scale (deviations of similar size).
_COLOUR_GROUPS = (
    ("dev_eq32", "dev_eq27"),
    ("dev_local_closure",),
    ("dev_ode_step", "dev_wkb_step"),
)
#: Widest colour range of the step ratio panel (decades either way).
_RATIO_RANGE = 2.0
#: Highest colour of a log₁₀|dev| scale (|dev| ≥ 10: the form has no meaning there).
_LOG_DEV_CEILING = 1.0

_SHORT = {
    "tau_over_tau1": "r_1",
    "tau_over_tau3": "r_3",
    "E_tau": r"\varepsilon",
    "gamma_tau": "g",
    "Dq2_tau": "Q",
}
_HALO = [patheffects.withStroke(linewidth=3.2, foreground="white")]
_NO_VALUE = "0.72"
_EQUAL = "#d62728"


def axis_label(name: str) -> str:
    """The label of a parameter axis (its symbol and definition)."""
    return AXIS_LABELS.get(name, name)


def colour_range(log_dev: np.ndarray, floor: float = -math.inf) -> tuple[float, float]:
    """The colour range of log₁₀|dev| values: 1st to 99.5th percentile, out to half decades.

    Not below ``floor`` (log₁₀ of the direct solution's rtol: smaller
    deviations are not resolved) nor above :data:`_LOG_DEV_CEILING`; at
    least half a decade wide; (−3, 0) if no value is finite.
    """
    v = np.asarray(log_dev, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -3.0, 0.0
    hi = min(math.ceil(2.0 * float(np.percentile(v, 99.5))) / 2.0, _LOG_DEV_CEILING)
    lo = math.floor(2.0 * float(np.percentile(v, 1.0))) / 2.0
    if math.isfinite(floor):
        lo = max(lo, math.floor(2.0 * floor) / 2.0)
    return min(lo, hi - 0.5), hi


def ratio_range(log_ratio: np.ndarray) -> float:
    """Half-width of the symmetric colour range of log₁₀(|dev_ode_step|/|dev_wkb_step|).

    The 95th percentile of |log ratio|, rounded up to a quarter decade, in
    [0.25, :data:`_RATIO_RANGE`].
    """
    v = np.abs(np.asarray(log_ratio, dtype=float))
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 1.0
    q = math.ceil(4.0 * float(np.percentile(v, 95.0))) / 4.0
    return min(max(q, 0.25), _RATIO_RANGE)


def _is_log(values: np.ndarray, attrs: dict) -> bool:
    scale = attrs.get("scale")
    if scale is not None:
        return scale == "log"
    return bool((values > 0).all())


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around grid values: midpoints (geometric on a log axis)."""
    v = np.log(values) if log else np.asarray(values, dtype=float)
    if v.size == 1:
        half = 0.5 if log else max(abs(v[0]) * 0.5, 0.5)
        e = np.array([v[0] - half, v[0] + half])
    else:
        mid = 0.5 * (v[1:] + v[:-1])
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _fixed_text(ds: xr.Dataset, x: str, y: str) -> str:
    """The fixed parameters, leaving out those of a channel that is switched off."""
    fixed = {n: float(ds[n]) for n in _SHORT if n not in (x, y) and n in ds.coords}
    if fixed.get("tau_over_tau1") == 0.0:
        fixed.pop("E_tau", None)
    if fixed.get("tau_over_tau3") == 0.0:
        fixed.pop("gamma_tau", None)
    return ", ".join(f"${_SHORT[n]} = {v:g}$" for n, v in fixed.items())


def _log_abs(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.abs(values))


def _lambda_levels(lam: np.ndarray) -> list[float]:
    fin = lam[np.isfinite(lam) & (lam > 0)]
    if fin.size == 0:
        return []
    lo, hi = float(fin.min()), float(fin.max())
    cands = [m * 10.0**k for k in range(-6, 1) for m in (1.0, 3.0)]
    return [v for v in cands if lo < v < hi]


def _draw_lambda_guides(ax, xs, ys, lam, levels, label: bool) -> None:
    if not levels or len(xs) < 2 or len(ys) < 2:
        return
    cs = ax.contour(
        xs,
        ys,
        np.ma.masked_invalid(lam),
        levels=levels,
        colors="0.3",
        linewidths=0.7,
        linestyles=[(0, (6, 2, 1, 2))],
        alpha=0.8,
    )
    if not label:
        return
    for level, segs in zip(cs.levels, cs.allsegs, strict=True):
        segs = [s for s in segs if len(s) >= 2]
        if not segs:
            continue
        seg = max(segs, key=len)
        x0, y0 = seg[np.argmin(seg[:, 0])]  # the left end of the longest piece
        ax.annotate(
            rf"$\lambda_{{\max}} = {level:g}$",
            (x0, y0),
            xytext=(3, 2),
            textcoords="offset points",
            fontsize=7,
            color="0.15",
            ha="left",
            va="bottom",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
        )


def _draw_contours(ax, xs, ys, dev: np.ndarray) -> bool:
    """|dev| = 1 % (solid), 10 % (dashed), sign changes (dotted); whether dev changes sign."""
    if len(xs) < 2 or len(ys) < 2 or np.isfinite(dev).sum() < 4:
        return False
    logd = np.ma.masked_invalid(_log_abs(dev))
    for level, style in ((-2.0, "-"), (-1.0, "--")):
        if logd.min() < level < logd.max():
            cs = ax.contour(
                xs, ys, logd, levels=[level], colors="k", linewidths=1.5, linestyles=style
            )
            cs.set(path_effects=_HALO)
    signed = np.ma.masked_invalid(dev)
    if not signed.min() < 0.0 < signed.max():
        return False
    cs = ax.contour(xs, ys, signed, levels=[0.0], colors="k", linewidths=0.9, linestyles=":")
    cs.set(path_effects=_HALO)
    return True


def _no_value(ax, xe, ye, values: np.ndarray) -> None:
    missing = np.where(np.isfinite(values), np.nan, 1.0)
    if np.isfinite(missing).any():
        ax.pcolormesh(
            xe, ye, missing, cmap=ListedColormap([_NO_VALUE]), shading="flat", vmin=0, vmax=1
        )


def _summary(dev: np.ndarray) -> str:
    a = np.abs(dev[np.isfinite(dev)])
    if a.size == 0:
        return "no values"
    return f"median |dev| {np.median(a):.2g}, max {a.max():.2g}"


def plot_map(
    ds: xr.Dataset,
    x: str,
    y: str,
    path: str | os.PathLike | None = None,
    *,
    title: str | None = None,
    x_label: str | None = None,
    y_label: str | None = None,
    dpi: int = 100,
) -> Figure:
    """The anatomy of a map: five log₁₀|dev| panels and the step ratio over the (x, y) plane.

    Parameters
    ----------
    ds
        A two-axis sweep (:func:`cooperon.sweep`) or map
        (:func:`cooperon.studies.maps.analyse_map`): the ``dev_*`` variables
        of :data:`DEV_LABELS`, ``lambda_max`` and ``status``.
    x, y
        The axes plotted horizontally and vertically.
    path
        If given, save the figure there (PNG; the directory must exist).
    title, x_label, y_label
        Overrides of the figure title and axis labels.
    dpi
        Resolution of the saved PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    xs = np.asarray(ds[x].values, dtype=float)
    ys = np.asarray(ds[y].values, dtype=float)
    xlog, ylog = _is_log(xs, ds[x].attrs), _is_log(ys, ds[y].attrs)
    xe, ye = _edges(xs, xlog), _edges(ys, ylog)
    status = ds["status"].transpose(y, x).values
    direct_ok = np.isin(status, (Status.OK, Status.CLOSED_FORM_FAILED))  # direct F(0) converged
    devs = {name: np.where(direct_ok, ds[name].transpose(y, x).values, np.nan) for name in _PANELS}
    lam = ds["lambda_max"].transpose(y, x).values
    # no guides where λ_max is the y axis itself (maps (a) and (c)): they would repeat its ticks
    levels = [] if np.allclose(lam, ys[:, None], rtol=1e-12, atol=0) else _lambda_levels(lam)

    rtol = ds.attrs.get("rtol")
    floor = math.log10(rtol) if isinstance(rtol, (int, float)) and rtol > 0 else -math.inf

    fig = Figure(figsize=(14.0, 9.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3, sharex=True, sharey=True)
    sign_changes = equal_steps = False
    for group in _COLOUR_GROUPS:
        cells = [_PANELS[name] for name in group]
        pooled = np.concatenate([_log_abs(devs[n]).ravel() for n in group])
        vmin, vmax = colour_range(pooled, floor)
        mesh = None
        for name, (r, c) in zip(group, cells, strict=True):
            ax = axes[r, c]
            logd = _log_abs(devs[name])
            mesh = ax.pcolormesh(
                xe,
                ye,
                np.clip(logd, vmin, vmax),
                cmap="viridis",
                vmin=vmin,
                vmax=vmax,
                shading="flat",
            )
            _no_value(ax, xe, ye, logd)
            _draw_lambda_guides(ax, xs, ys, lam, levels, label=c == 0)
            sign_changes |= _draw_contours(ax, xs, ys, devs[name])
            ax.set_title(f"{DEV_LABELS[name]}\n{_summary(devs[name])}", fontsize=9.5)
        cb = fig.colorbar(
            mesh,
            ax=[axes[r, c] for r, c in cells],
            location="bottom",
            shrink=0.8 if len(cells) > 1 else 0.9,
            aspect=40 if len(cells) > 1 else 22,
            pad=0.01,
            extend="both",
        )
        cb.ax.xaxis.set_major_locator(MaxNLocator(7, steps=[1, 2, 5, 10]))
        below = f" (below {vmin:g}: within the rtol of F)" if vmin <= floor else ""
        cb.set_label(rf"$\log_{{10}}|\mathrm{{dev}}|${below}", fontsize=9)

    ax = axes[1, 2]
    ratio = _log_abs(devs["dev_ode_step"]) - _log_abs(devs["dev_wkb_step"])
    half = ratio_range(ratio)
    rmesh = ax.pcolormesh(
        xe, ye, np.clip(ratio, -half, half), cmap="PuOr_r", vmin=-half, vmax=half, shading="flat"
    )
    _no_value(ax, xe, ye, ratio)
    _draw_lambda_guides(ax, xs, ys, lam, levels, label=False)
    if len(xs) > 1 and len(ys) > 1 and np.isfinite(ratio).sum() >= 4:
        rr = np.ma.masked_invalid(ratio)
        if rr.min() < 0.0 < rr.max():
            ax.contour(xs, ys, rr, levels=[0.0], colors=_EQUAL, linewidths=1.6)
            equal_steps = True
    share = np.mean(ratio[np.isfinite(ratio)] > 0) if np.isfinite(ratio).any() else math.nan
    ax.set_title(
        "which step fails: "
        r"$\log_{10}(|\mathrm{ODE\ step}|\,/\,|\mathrm{WKB\ step}|)$"
        f"\nODE step larger at {100 * share:.0f} % of the points",
        fontsize=9.5,
    )
    cb = fig.colorbar(
        rmesh, ax=ax, location="bottom", shrink=0.9, aspect=25, pad=0.01, extend="both"
    )
    cb.ax.xaxis.set_major_locator(MaxNLocator(7, steps=[1, 2, 2.5, 5, 10]))
    cb.set_label("orange: ODE step (29) larger; purple: WKB step (31) larger", fontsize=9)

    for ax in axes.flat:
        if xlog:
            ax.set_xscale("log")
        if ylog:
            ax.set_yscale("log")
        for log, axis in ((xlog, ax.xaxis), (ylog, ax.yaxis)):
            if log:  # label minor ticks only on axes shorter than half a decade (else they overlap)
                axis.set_minor_formatter(
                    LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(0.5, 0.2))
                )
        if len(xs) > 1:
            ax.set_xlim(xs[0], xs[-1])
        if len(ys) > 1:
            ax.set_ylim(ys[0], ys[-1])
    for ax in axes[1]:
        ax.set_xlabel(x_label or axis_label(x))
    for ax in axes[:, 0]:
        ax.set_ylabel(y_label or axis_label(y))

    handles = [
        Line2D([], [], color="k", lw=1.5, ls="-", path_effects=_HALO, label="|dev| = 1 %"),
        Line2D([], [], color="k", lw=1.5, ls="--", path_effects=_HALO, label="|dev| = 10 %"),
    ]
    if sign_changes:
        handles.append(
            Line2D([], [], color="k", lw=0.9, ls=":", path_effects=_HALO, label="dev changes sign")
        )
    if equal_steps:
        handles.append(
            Line2D([], [], color=_EQUAL, lw=1.6, label="both steps equal (bottom right)")
        )
    if levels:
        label = r"$\lambda_{\max}$ guide"
        handles.append(Line2D([], [], color="0.3", lw=0.7, ls=(0, (6, 2, 1, 2)), label=label))
    if any(not np.isfinite(v).all() for v in devs.values()):
        handles.append(Patch(facecolor=_NO_VALUE, label="no value (status, or that form failed)"))
    fig.legend(
        handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8.5, frameon=False
    )
    sup = title or ds.attrs.get("map_title", "")
    fixed = _fixed_text(ds, x, y)
    head = f"{sup}: {fixed}" if fixed and sup else (sup or fixed)
    fig.suptitle(f"{head}\nF: Eq. (24) solved directly; dev = closed form / F − 1", fontsize=10.5)
    if path is not None:
        from .io import save_figure

        save_figure(fig, path, dpi)
    return fig
