"""The comparison at one parameter point: direct solution of Eq. (24) vs the closed forms.

The closed forms are Eq. (32) as printed, the consistent Eq. (27) with the
WKB resolvent (31) (∫e^ϑ) and the local closure (beyond the paper); the
paper's two approximations are also measured one at a time: the ODE (29)
for the resolvent solved exactly (``dev_ode_step``, against Eq. 24) and its
WKB solution (31) (``dev_wkb_step``, Eq. 27 against the ODE).

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


def _dev(closed: str, reference: str = "F0_direct") -> Any:
    """``closed / reference - 1`` (as (closed - reference)/reference, NaN if either is)."""

    def compute(params: Parameters, sol: DirectSolution, v: Mapping[str, float]) -> float:
        return (v[closed] - v[reference]) / v[reference]

    return compute


#: Range of rtol the ODE step accepts (:func:`cooperon.closed_forms.F0_ode_step`).
ODE_RTOL_RANGE: tuple[float, float] = (1e-12, 1e-2)


class ODEStepNotConverged(ArithmeticError):
    """The ODE step (29) did not reach its rtol (its ``status`` is not 0)."""


def ode_rtol(rtol: float) -> float:
    """The rtol of the ODE step at a point whose direct solution has ``rtol``.

    The same accuracy, clipped to :data:`ODE_RTOL_RANGE`: the deviations of
    the ODE step (≳ 1e-4 on the default maps) are then known to ≲ 1e-2 of
    themselves whenever the direct F(0) is.
    """
    lo, hi = ODE_RTOL_RANGE
    return min(max(rtol, lo), hi)


def _ode_step(params: Parameters, sol: DirectSolution, v: Mapping[str, float]) -> float:
    res = closed_forms.F0_ode_step(params, ode_rtol(sol.rtol))
    if not res.success:
        raise ODEStepNotConverged(res.message)
    return res.F0


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
        optional=True,
    ),
    Variable(
        "F0_wkb_eq27",
        {
            "long_name": (
                "F(0) from Eq. (27) with the WKB resolvent (31), consistent with the forcing "
                "Phi/(1+Q) of Eq. (24): integral of exp(theta) = [1 + (32)]/(1+Q)"
            ),
            "units": "1",
            "equation": "(24), (27), (31), (33)",
        },
        lambda p, sol, v: closed_forms.F0_wkb_eq27(p),
        at_no_cutoff=math.inf,
        optional=True,
    ),
    Variable(
        "F0_local_closure",
        {
            "long_name": (
                "F(0) from the local closure of an exact identity of Eq. (24), iterated, "
                "order 1 (beyond the paper; docs/closed_forms.md sections 4-7)"
            ),
            "units": "1",
            "equation": "(24), (25)",
        },
        lambda p, sol, v: closed_forms.F0_local_closure(p),
        at_no_cutoff=math.inf,
        optional=True,
    ),
    Variable(
        "F0_ode",
        {
            "long_name": (
                "F(0) with the resolvent replaced by the solution of the ODE (29) "
                "(the paper's first approximation, without its WKB solution)"
            ),
            "units": "1",
            "equation": "(26), (29)",
            "accuracy": (
                "relative error below the rtol of the direct solution "
                f"(clipped to [{ODE_RTOL_RANGE[0]:g}, {ODE_RTOL_RANGE[1]:g}]); "
                "NaN where that is not reached"
            ),
        },
        _ode_step,
        at_no_cutoff=math.inf,
        optional=True,
    ),
    Variable(
        "dev_eq32",
        {
            "long_name": "relative deviation of Eq. (32) from the direct solution",
            "units": "1",
            "definition": "(F0_wkb_eq32 - F0_direct) / F0_direct",
        },
        _dev("F0_wkb_eq32"),
        optional=True,
    ),
    Variable(
        "dev_eq27",
        {
            "long_name": "relative deviation of the consistent Eq. (27) from the direct solution",
            "units": "1",
            "definition": "(F0_wkb_eq27 - F0_direct) / F0_direct",
        },
        _dev("F0_wkb_eq27"),
        optional=True,
    ),
    Variable(
        "dev_local_closure",
        {
            "long_name": "relative deviation of the local closure from the direct solution",
            "units": "1",
            "definition": "(F0_local_closure - F0_direct) / F0_direct",
        },
        _dev("F0_local_closure"),
        optional=True,
    ),
    Variable(
        "dev_ode_step",
        {
            "long_name": (
                "error of the paper's ODE step: the ODE (29) solved exactly against "
                "Eq. (24) solved directly"
            ),
            "units": "1",
            "definition": "(F0_ode - F0_direct) / F0_direct",
            "relation": "(1 + dev_eq27) = (1 + dev_ode_step) (1 + dev_wkb_step)",
        },
        _dev("F0_ode"),
        optional=True,
    ),
    Variable(
        "dev_wkb_step",
        {
            "long_name": (
                "error of the paper's WKB step: the WKB solution (31) of the ODE (29), "
                "i.e. the consistent Eq. (27), against the ODE solved exactly"
            ),
            "units": "1",
            "definition": "(F0_wkb_eq27 - F0_ode) / F0_ode",
            "relation": "(1 + dev_eq27) = (1 + dev_ode_step) (1 + dev_wkb_step)",
        },
        _dev("F0_wkb_eq27", "F0_ode"),
        optional=True,
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


def _evaluate(params: Parameters, rtol: float) -> tuple[dict[str, Any], Status, str, list[str]]:
    """The values at a point with its status, message and the closed forms that failed.

    A closed form's own ``ArithmeticError`` leaves its optional variables NaN
    (status ``CLOSED_FORM_FAILED``, or ``NOT_CONVERGED`` if the direct F(0)
    also missed ``rtol``); one of the direct solver, or of a non-optional
    variable, propagates.
    """
    sol = solve_direct(params, rtol=rtol)
    values: dict[str, Any] = {}
    failures: list[str] = []
    for v in VARIABLES:
        try:
            value = v.compute(params, sol, values)
        except ArithmeticError as exc:
            if not v.optional:
                raise
            failures.append(f"{v.name} not computed: {type(exc).__name__}: {exc}")
            value = math.nan
        values[v.name] = v.dtype(value)
    if sol.converged and not math.isfinite(sol.F0):
        raise RuntimeError(f"solve_direct reported convergence with F(0) = {sol.F0!r} at {params}")
    if not sol.converged:
        return values, Status.NOT_CONVERGED, "; ".join([sol.message, *failures]), failures
    if failures:
        return values, Status.CLOSED_FORM_FAILED, "; ".join(failures), failures
    return values, Status.OK, "", failures


def compare_values(params: Parameters, rtol: float = 1e-8) -> dict[str, Any]:
    """F(0) from Eq. (24) and from the closed forms, with their relative deviations.

    Parameters
    ----------
    params
        The parameter point.
    rtol
        Requested relative accuracy of the direct F(0), in [1e-13, 0.1]
        (the ODE step is solved to the same accuracy, see :func:`ode_rtol`).

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
        Where the direct solver or a closed form (including the ODE step
        missing its rtol) declares a numerical failure; :func:`compare` and
        :func:`compare_point` instead keep the other values and say which
        form failed.
    """
    values, _, _, failures = _evaluate(params, rtol)
    if failures:
        raise ArithmeticError("; ".join(failures))
    return values


def compare_point(point: Mapping[str, float], rtol: float) -> tuple[dict[str, Any], Status, str]:
    """The values of :func:`compare_values` at one point of a sweep, with its status and message.

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
        ``ArithmeticError`` of the direct solver, a direct result that did
        not converge, a closed form's own ``ArithmeticError`` or an ODE step
        that missed its rtol -- these two leave only that form's variables
        NaN); any other exception propagates.
    """
    try:
        params = Parameters(**point)
    except ValueError as exc:
        return fill_values(VARIABLES, Status.INVALID_POINT, None), Status.INVALID_POINT, str(exc)
    try:
        values, status, message, _ = _evaluate(params, rtol)
    except NoCutoffError as exc:
        return fill_values(VARIABLES, Status.NO_CUTOFF, params), Status.NO_CUTOFF, str(exc)
    except ArithmeticError as exc:
        message = f"{type(exc).__name__}: {exc}"
        return fill_values(VARIABLES, Status.FAILED, params), Status.FAILED, message
    return values, status, message


def compare(params: Parameters, rtol: float = 1e-8) -> xr.Dataset:
    """Direct solution of Eq. (24) against the closed forms and the ODE step, as a Dataset.

    Parameters
    ----------
    params
        The parameter point.
    rtol
        Requested relative accuracy of the direct F(0) (and of the ODE step,
        :func:`ode_rtol`).

    Returns
    -------
    xarray.Dataset
        Scalar variables of :data:`VARIABLES`: ``F0_direct``,
        ``F0_direct_error``, the closed forms ``F0_wkb_eq32`` (Eq. 32 as
        printed), ``F0_wkb_eq27`` (the consistent Eq. 27, ∫e^ϑ),
        ``F0_local_closure`` and the ODE step ``F0_ode``; ``dev_eq32``,
        ``dev_eq27``, ``dev_local_closure``, ``dev_ode_step`` (form / direct
        − 1) and ``dev_wkb_step`` (``F0_wkb_eq27 / F0_ode − 1``);
        ``lambda_max``, ``converged``, ``status`` and ``message`` (as in a
        sweep: a closed form that declared a failure is NaN, with status
        ``CLOSED_FORM_FAILED`` and the reason in ``message``).  The
        parameters as scalar coordinates; provenance and solver settings in
        the attributes.

    Raises
    ------
    NoCutoffError
        Where F(0) = ∞.
    ArithmeticError
        Where the direct solver declares a numerical failure.

    Examples
    --------
    >>> from cooperon import Parameters, compare
    >>> ds = compare(Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02))
    >>> round(float(ds.dev_eq27), 3)
    -0.021
    """
    values, status, message, _ = _evaluate(params, rtol)
    attrs = variable_attrs(VARIABLES)
    data = {k: xr.DataArray(v, attrs=attrs[k]) for k, v in values.items()}
    data["status"] = xr.DataArray(np.int8(status), attrs=attrs["status"])
    data["message"] = xr.DataArray(message, attrs=attrs["message"])
    coords: dict[str, Any] = {
        k: xr.Variable((), float(v), attrs=PARAMETER_ATTRS[k]) for k, v in params.as_dict().items()
    }
    coords["tau_over_taue"] = xr.Variable(
        (), params.tau_over_taue, attrs={"long_name": "rₑ = τ/τₑ = 1 − r₁ − r₃", "units": "1"}
    )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        provenance(
            "Cooperon F(0): direct solution of Eq. (24) vs the closed forms (27), (32), "
            "the local closure and the ODE step (29)"
        ),
        rtol=rtol,
        method="gregory6 exponential product integration, frozen periodic history",
        normalisation="c = 1/(2 tau T rho) = 1; times in units of tau",
    )
    return ds
