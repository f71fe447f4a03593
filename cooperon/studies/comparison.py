"""The comparison at one parameter point: direct solution of Eq. (24) vs closed forms.

:func:`compare_values` returns plain numbers (used by the sweeps);
:func:`compare` wraps them in a labelled :class:`xarray.Dataset`.
"""

from __future__ import annotations

import math

import xarray as xr

from . import __version__, wkb
from .direct import solve_direct
from .model import lambda_max
from .parameters import Parameters

__all__ = ["compare", "compare_values", "VARIABLES", "variable_attrs"]

#: Output variables of :func:`compare_values`, in order.
VARIABLES: tuple[str, ...] = (
    "F0_direct",
    "F0_direct_error",
    "F0_wkb_eq32",
    "F0_wkb_eq27",
    "dev_eq32",
    "dev_eq27",
    "lambda_max",
    "converged",
)


def variable_attrs() -> dict[str, dict[str, str]]:
    """CF-style attributes of the output variables."""
    return {
        "F0_direct": {
            "long_name": "F(0) from Eq. (24) solved directly (c = 1)",
            "units": "1",
            "equation": "(24)",
        },
        "F0_direct_error": {
            "long_name": "estimated absolute error of F0_direct",
            "units": "1",
            "equation": "(24)",
        },
        "F0_wkb_eq32": {
            "long_name": "F(0) from the closed form Eq. (32) as printed",
            "units": "1",
            "equation": "(32), (33)",
        },
        "F0_wkb_eq27": {
            "long_name": (
                "F(0) from Eq. (27) with the WKB resolvent (31), first term kept: 1 + (32)"
            ),
            "units": "1",
            "equation": "(27), (31)",
        },
        "dev_eq32": {
            "long_name": "relative deviation of Eq. (32) from the direct solution",
            "units": "1",
            "definition": "(F0_wkb_eq32 - F0_direct) / F0_direct",
        },
        "dev_eq27": {
            "long_name": "relative deviation of Eq. (27) from the direct solution",
            "units": "1",
            "definition": "(F0_wkb_eq27 - F0_direct) / F0_direct",
        },
        "lambda_max": {
            "long_name": "max over s of lambda(s) = 1 - Phi(s)",
            "units": "1",
            "equation": "(25)",
        },
        "converged": {
            "long_name": "direct solution reached the requested relative tolerance",
            "units": "1",
        },
    }


def compare_values(params: Parameters, rtol: float = 1e-8) -> dict[str, float]:
    """F(0) from Eq. (24) and from the closed forms, with their relative deviations.

    Returns
    -------
    dict
        The keys of :data:`VARIABLES`; ``converged`` is 1.0 or 0.0.
    """
    sol = solve_direct(params, rtol=rtol)
    f32 = wkb.F0_eq32(params)
    f27 = wkb.F0_eq27(params)
    return {
        "F0_direct": sol.F0,
        "F0_direct_error": sol.error_estimate,
        "F0_wkb_eq32": f32,
        "F0_wkb_eq27": f27,
        "dev_eq32": (f32 - sol.F0) / sol.F0,
        "dev_eq27": (f27 - sol.F0) / sol.F0,
        "lambda_max": lambda_max(params),
        "converged": 1.0 if sol.converged else 0.0,
    }


def compare(params: Parameters, rtol: float = 1e-8) -> xr.Dataset:
    """Direct solution of Eq. (24) against the closed forms (27) and (32), as a Dataset.

    Parameters
    ----------
    params
        The parameter point.
    rtol
        Requested relative accuracy of the direct F(0).

    Returns
    -------
    xarray.Dataset
        Scalar variables ``F0_direct``, ``F0_direct_error``, ``F0_wkb_eq32``,
        ``F0_wkb_eq27``, ``dev_eq32``, ``dev_eq27`` (closed form minus direct,
        over direct), ``lambda_max`` and ``converged``; the parameters as
        scalar coordinates; attributes naming the equations, solver settings
        and package version.

    Examples
    --------
    >>> from cooperon import Parameters, compare
    >>> ds = compare(Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02))
    >>> round(float(ds.dev_eq27), 4)
    -0.0015
    """
    vals = compare_values(params, rtol=rtol)
    attrs = variable_attrs()
    data = {}
    for k in VARIABLES:
        v = vals[k]
        data[k] = xr.DataArray(bool(v) if k == "converged" else float(v), attrs=attrs[k])
    coords = {k: float(v) for k, v in params.as_dict().items()}
    coords["tau_over_taue"] = params.tau_over_taue
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        title="Cooperon F(0): direct solution of Eq. (24) vs closed forms (27), (32)",
        conventions="CF-1.8",
        source=f"cooperon {__version__}",
        rtol=rtol,
        method="gregory6 exponential product integration, frozen periodic history",
        normalisation="c = 1/(2 tau T rho) = 1; times in units of tau",
    )
    if not math.isfinite(vals["F0_direct"]):
        raise ArithmeticError("direct F(0) is not finite")
    return ds
