"""The comparison at one parameter point: direct solution of Eq. (24) vs the closed forms.

:data:`VARIABLES` is the table of the per-point outputs (name, CF
attributes, how each is computed, what it holds where F(0) = ∞ or the
solution failed); the sweeps, the stores and the datasets are built from it,
so adding an output is one entry here.

:func:`compare_values` returns the plain numbers, :func:`compare_point` the
numbers with a :class:`~cooperon.studies.schema.Status` and a message (what
the sweeps store), :func:`compare` a labelled :class:`xarray.Dataset`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .. import closed_forms
from ..direct import DirectSolution, solve_direct
from ..model import lambda_max
from ..parameters import NoCutoffError, Parameters
from .schema import PARAMETER_ATTRS, Status, Variable, fill_values, provenance, variable_attrs

__all__ = [
    "VARIABLES",
    "VARIABLE_NAMES",
    "compare",
    "compare_point",
    "compare_values",
]


def _dev(closed: str) -> Any:
    def compute(params: Parameters, sol: DirectSolution, v: Mapping[str, float]) -> float:
        return (v[closed] - v["F0_direct"]) / v["F0_direct"]

    return compute


#: The per-point outputs, in dataset order.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "F0_direct",
        {
            "long_name": "F(0) from Eq. (24) solved directly (c = 1)",
            "units": "1",
            "equation": "(24)",
        },
        lambda p, sol, v: sol.F0,
        at_no_cutoff=math.inf,
    ),
    Variable(
        "F0_direct_error",
        {"long_name": "estimated absolute error of F0_direct", "units": "1", "equation": "(24)"},
        lambda p, sol, v: sol.error_estimate,
    ),
    Variable(
        "F0_wkb_eq32",
        {
            "long_name": "F(0) from the closed form Eq. (32) as printed",
            "units": "1",
            "equation": "(32), (33)",
        },
        lambda p, sol, v: closed_forms.F0_eq32(p),
        at_no_cutoff=math.inf,
    ),
    Variable(
        "F0_wkb_eq27",
        {
            "long_name": (
                "F(0) from Eq. (27) with the WKB resolvent (31), first term kept: 1 + (32)"
            ),
            "units": "1",
            "equation": "(27), (31)",
        },
        lambda p, sol, v: closed_forms.F0_wkb_eq27(p),
        at_no_cutoff=math.inf,
    ),
    Variable(
        "dev_eq32",
        {
            "long_name": "relative deviation of Eq. (32) from the direct solution",
            "units": "1",
            "definition": "(F0_wkb_eq32 - F0_direct) / F0_direct",
        },
        _dev("F0_wkb_eq32"),
    ),
    Variable(
        "dev_eq27",
        {
            "long_name": "relative deviation of Eq. (27) from the direct solution",
            "units": "1",
            "definition": "(F0_wkb_eq27 - F0_direct) / F0_direct",
        },
        _dev("F0_wkb_eq27"),
    ),
    Variable(
        "lambda_max",
        {"long_name": "max over s of lambda(s) = 1 - Phi(s)", "units": "1", "equation": "(25)"},
        lambda p, sol, v: lambda_max(p),
        needs_solution=False,
    ),
    Variable(
        "converged",
        {"long_name": "direct solution reached the requested relative tolerance", "units": "1"},
        lambda p, sol, v: sol.converged,
        dtype=bool,
    ),
)

#: Names of :data:`VARIABLES`, in order.
VARIABLE_NAMES: tuple[str, ...] = tuple(v.name for v in VARIABLES)


def _evaluate(params: Parameters, rtol: float) -> tuple[dict[str, Any], DirectSolution]:
    sol = solve_direct(params, rtol=rtol)
    values: dict[str, Any] = {}
    for v in VARIABLES:
        values[v.name] = v.dtype(v.compute(params, sol, values))
    if sol.converged and not math.isfinite(sol.F0):
        raise RuntimeError(f"solve_direct reported convergence with F(0) = {sol.F0!r} at {params}")
    return values, sol


def compare_values(params: Parameters, rtol: float = 1e-8) -> dict[str, Any]:
    """F(0) from Eq. (24) and from the closed forms, with their relative deviations.

    Parameters
    ----------
    params
        The parameter point.
    rtol
        Requested relative accuracy of the direct F(0), in [1e-13, 0.1].

    Returns
    -------
    dict
        One value per entry of :data:`VARIABLES` (``converged`` a bool, the
        rest floats).

    Raises
    ------
    NoCutoffError
        Where F(0) = ∞.
    ArithmeticError
        Where the solver or a closed form declares a numerical failure.
    """
    return _evaluate(params, rtol)[0]


def compare_point(point: Mapping[str, float], rtol: float) -> tuple[dict[str, Any], Status, str]:
    """:func:`compare_values` at one point of a sweep, with its status and message.

    Parameters
    ----------
    point
        Keyword arguments of :class:`~cooperon.Parameters`.
    rtol
        As for :func:`compare_values`.

    Returns
    -------
    (values, status, message)
        ``values`` has one entry per variable (NaN/+inf where not computed,
        see :class:`~cooperon.studies.schema.Variable`); ``message`` is empty
        for ``Status.OK``, else the reason.  Only the failures the numerics
        declare become a status (invalid parameters, F(0) = ∞, an
        ``ArithmeticError``, a result that did not converge); any other
        exception propagates.
    """
    try:
        params = Parameters(**point)
    except ValueError as exc:
        return fill_values(VARIABLES, Status.INVALID_POINT, None), Status.INVALID_POINT, str(exc)
    try:
        values, sol = _evaluate(params, rtol)
    except NoCutoffError as exc:
        return fill_values(VARIABLES, Status.NO_CUTOFF, params), Status.NO_CUTOFF, str(exc)
    except ArithmeticError as exc:
        message = f"{type(exc).__name__}: {exc}"
        return fill_values(VARIABLES, Status.FAILED, params), Status.FAILED, message
    if sol.converged:
        return values, Status.OK, ""
    return values, Status.NOT_CONVERGED, sol.message


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
        Scalar variables of :data:`VARIABLES` (``F0_direct``,
        ``F0_direct_error``, ``F0_wkb_eq32``, ``F0_wkb_eq27``, ``dev_eq32``,
        ``dev_eq27`` = closed form minus direct over direct, ``lambda_max``,
        ``converged``), ``status`` and ``message`` (as in a sweep); the
        parameters as scalar coordinates; provenance and solver settings in
        the attributes.

    Raises
    ------
    NoCutoffError, ArithmeticError
        As :func:`compare_values`.

    Examples
    --------
    >>> from cooperon import Parameters, compare
    >>> ds = compare(Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02))
    >>> round(float(ds.dev_eq27), 4)
    -0.0015
    """
    values, sol = _evaluate(params, rtol)
    attrs = variable_attrs(VARIABLES)
    data = {k: xr.DataArray(v, attrs=attrs[k]) for k, v in values.items()}
    status = Status.OK if sol.converged else Status.NOT_CONVERGED
    data["status"] = xr.DataArray(np.int8(status), attrs=attrs["status"])
    data["message"] = xr.DataArray("" if sol.converged else sol.message, attrs=attrs["message"])
    coords: dict[str, Any] = {
        k: xr.Variable((), float(v), attrs=PARAMETER_ATTRS[k]) for k, v in params.as_dict().items()
    }
    coords["tau_over_taue"] = xr.Variable(
        (), params.tau_over_taue, attrs={"long_name": "rₑ = τ/τₑ = 1 − r₁ − r₃", "units": "1"}
    )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        provenance("Cooperon F(0): direct solution of Eq. (24) vs closed forms (27), (32)"),
        rtol=rtol,
        method="gregory6 exponential product integration, frozen periodic history",
        normalisation="c = 1/(2 tau T rho) = 1; times in units of tau",
    )
    return ds
