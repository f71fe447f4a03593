"""The dataset schema of the studies: per-point variables, status flags, CF attributes.

One vocabulary for every dataset the package writes:

* :class:`Status` -- the status of a grid point, an :class:`~enum.IntEnum`
  from which the CF ``flag_values`` / ``flag_meanings`` of the ``status``
  variable are generated;
* :class:`Variable` -- one per-point output: its name, CF attributes, how it
  is computed and what it holds where a point has no solution (NaN, or +inf
  where F(0) = ∞).  The table of the comparison is
  :data:`cooperon.studies.comparison.VARIABLES`; adding an output is one
  entry there;
* :data:`PARAMETER_ATTRS` -- CF attributes of the five parameter coordinates;
* :func:`provenance` -- ``Conventions``, ``title``, ``history``,
  ``date_created``, ``source`` and ``cooperon_version`` attributes.
"""

from __future__ import annotations

import datetime as _dt
import math
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CONVENTIONS",
    "MESSAGE_ATTRS",
    "PARAMETER_ATTRS",
    "Status",
    "Variable",
    "empty_arrays",
    "fill_values",
    "provenance",
    "record_variables",
    "variable_attrs",
]

#: The CF version the datasets follow (attribute ``Conventions``).
CONVENTIONS = "CF-1.10"


class Status(IntEnum):
    """Status of one grid point (the ``status`` variable, int8).

    Only the failures that the numerics declare become a status: a direct
    solution that did not reach ``rtol`` (``NOT_CONVERGED``), F(0) = ∞
    (:class:`~cooperon.parameters.NoCutoffError`, ``NO_CUTOFF``), an
    ``ArithmeticError`` raised by the direct solver (``FAILED``), a closed
    form (or the ODE step) that declared its own failure where the direct
    solution converged (``CLOSED_FORM_FAILED``: only the variables of that
    form are NaN, see :attr:`Variable.optional`), and a point outside the
    valid region of :class:`~cooperon.Parameters` (``INVALID_POINT``).  Any
    other exception propagates.
    """

    description: str

    def __new__(cls, value: int, description: str) -> Status:
        obj = int.__new__(cls, value)
        obj._value_ = value
        obj.description = description
        return obj

    NOT_COMPUTED = -1, "not computed yet (only in the store of an unfinished sweep)"
    OK = 0, "the direct F(0) converged to rtol"
    NOT_CONVERGED = 1, "values kept, but the error estimate of the direct F(0) exceeds rtol"
    NO_CUTOFF = 2, "F(0) = infinity: Q = 0 and no active dephasing channel"
    INVALID_POINT = 3, "outside the valid region of the parameters (e.g. r1 + r3 > 1)"
    FAILED = 4, "the direct solver declared a numerical failure (ArithmeticError)"
    CLOSED_FORM_FAILED = (
        5,
        (
            "the direct F(0) converged, but a closed form or the ODE step declared a failure "
            "(ArithmeticError, or its rtol not reached): its variables are NaN, the message "
            "names it"
        ),
    )

    @property
    def meaning(self) -> str:
        """The CF flag meaning (the member name in lower case)."""
        return self.name.lower()

    @classmethod
    def cf_attrs(cls) -> dict[str, Any]:
        """CF attributes of the ``status`` variable, generated from the members."""
        return {
            "long_name": "status of the point",
            "units": "1",
            "flag_values": np.array([s.value for s in cls], dtype=np.int8),
            "flag_meanings": " ".join(s.meaning for s in cls),
            "comment": "; ".join(f"{s.value} {s.meaning}: {s.description}" for s in cls),
        }


#: Statuses at which a point has a solution (every variable is computed; an
#: :attr:`~Variable.optional` one may be NaN where its own closed form failed).
SOLVED: frozenset[Status] = frozenset({Status.OK, Status.NOT_CONVERGED, Status.CLOSED_FORM_FAILED})
#: Statuses at which the parameters are valid (variables of the parameters alone are computed).
VALID: frozenset[Status] = frozenset({*SOLVED, Status.NO_CUTOFF, Status.FAILED})

Compute = Callable[[Any, Any, Mapping[str, float]], float]


@dataclass(frozen=True)
class Variable:
    """One per-point output variable.

    Attributes
    ----------
    name
        Variable name in the datasets.
    attrs
        CF attributes (``long_name``, ``units``, ...); a ``comment`` saying
        where the variable is NaN / +inf is added by :func:`variable_attrs`.
    compute
        ``compute(params, solution, values) -> float``: the value at a point,
        from the :class:`~cooperon.Parameters`, the direct solution and the
        values of the variables before it in the table (``values``).
    needs_solution
        False for variables of the parameters alone (e.g. λ_max): these are
        computed (with ``solution=None``) wherever the parameters are valid,
        also where the direct solution failed or F(0) = ∞.
    at_no_cutoff
        Value where the status is ``NO_CUTOFF`` (``math.inf`` for F(0)
        itself; NaN for errors and deviations).
    dtype
        ``float`` or ``bool`` (bool: ``False`` wherever a float would be NaN).
    optional
        True for the variables of a closed form that may declare a failure of
        its own (an ``ArithmeticError`` from ``compute``) and for those computed
        from them: they are NaN there while the point keeps the direct
        solution and the other forms (status ``CLOSED_FORM_FAILED``, or
        ``NOT_CONVERGED`` if the direct solution also missed its rtol; the
        message names the form).  A ``compute`` of a non-optional variable
        raising ``ArithmeticError`` fails the point (``FAILED``).
    """

    name: str
    attrs: Mapping[str, str]
    compute: Compute = field(repr=False)
    needs_solution: bool = True
    at_no_cutoff: float = math.nan
    dtype: type = float
    optional: bool = False

    def fill(self, status: Status) -> float | bool:
        """The value stored where ``status`` leaves the variable uncomputed."""
        if self.dtype is bool:
            return False
        return self.at_no_cutoff if status == Status.NO_CUTOFF else math.nan

    def computed_at(self, status: Status) -> bool:
        """Whether the variable holds a computed value at a point with ``status``."""
        return status in (SOLVED if self.needs_solution else VALID)


#: Attributes of the per-point ``message`` variable.
MESSAGE_ATTRS: dict[str, str] = {
    "long_name": "why the point is not ok: the message of the solver or of the exception",
    "comment": "empty where status = 0",
}


def variable_attrs(variables: Sequence[Variable]) -> dict[str, dict[str, Any]]:
    """CF attributes of the variables, the ``status`` and the ``message`` variable.

    The ``comment`` of each variable is generated from the table: which
    statuses leave it NaN (False for booleans) or +inf.
    """
    out: dict[str, dict[str, Any]] = {}
    for v in variables:
        groups: dict[str, list[str]] = {}
        for s in Status:
            if v.computed_at(s):
                continue
            fill = v.fill(s)
            key = repr(fill) if v.dtype is bool else ("+inf" if fill == math.inf else "NaN")
            groups.setdefault(key, []).append(str(s.value))
        comment = "; ".join(f"{k} where status = {', '.join(c)}" for k, c in groups.items())
        if v.optional:
            comment += (
                f"; NaN also where this closed form declared a failure (status = "
                f"{Status.CLOSED_FORM_FAILED.value}, or {Status.NOT_CONVERGED.value}; "
                "the message names it)"
            )
        out[v.name] = {**v.attrs, "comment": comment}
    out["status"] = Status.cf_attrs()
    out["message"] = dict(MESSAGE_ATTRS)
    return out


def record_variables(variables: Sequence[Variable]) -> tuple[str, ...]:
    """Names of every per-point output in dataset order: the table, ``status``, ``message``."""
    return (*(v.name for v in variables), "status", "message")


def empty_arrays(shape: Sequence[int], variables: Sequence[Variable]) -> dict[str, np.ndarray]:
    """Arrays of ``shape`` for every output, filled as for ``Status.NOT_COMPUTED``."""
    shape = tuple(shape)
    out: dict[str, np.ndarray] = {}
    for v in variables:
        out[v.name] = np.full(shape, v.fill(Status.NOT_COMPUTED), dtype=v.dtype)
    out["status"] = np.full(shape, Status.NOT_COMPUTED, dtype=np.int8)
    out["message"] = np.full(shape, "", dtype=object)
    return out


def fill_values(variables: Iterable[Variable], status: Status, params: Any) -> dict[str, Any]:
    """The values of a point without a solution: fills, and the variables of the parameters.

    ``params`` is the :class:`~cooperon.Parameters` of the point (``None``
    where they are invalid); variables with ``needs_solution=False`` are
    computed from it wherever the status allows.
    """
    values: dict[str, Any] = {}
    for v in variables:
        if params is not None and v.computed_at(status):
            values[v.name] = v.dtype(v.compute(params, None, values))
        else:
            values[v.name] = v.fill(status)
    return values


#: CF attributes of the parameter coordinates (symbols as in the paper).
PARAMETER_ATTRS: dict[str, dict[str, str]] = {
    "tau_over_tau1": {
        "long_name": "r₁ = τ/τ₁, weight of the resonant (σ₁) channel",
        "units": "1",
        "symbol": "r1 = tau/tau_1",
        "equation": "(20), (25)",
    },
    "tau_over_tau3": {
        "long_name": "r₃ = τ/τ₃, weight of the relaxation (σ₃) channel",
        "units": "1",
        "symbol": "r3 = tau/tau_3",
        "equation": "(20), (25)",
    },
    "E_tau": {
        "long_name": "ε = Eτ/ħ, TLS level splitting",
        "units": "1",
        "symbol": "epsilon = E tau/hbar",
        "equation": "(25)",
    },
    "gamma_tau": {
        "long_name": "g = γτ/ħ, TLS switching rate",
        "units": "1",
        "symbol": "g = gamma tau/hbar",
        "equation": "(15), (25)",
    },
    "Dq2_tau": {
        "long_name": "Q = Dq²τ, Cooperon momentum",
        "units": "1",
        "symbol": "Q = D q^2 tau",
        "equation": "(24)",
    },
}


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second with a ``Z`` suffix."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def command_line() -> str:
    """This process's command line (``sys.argv``, the program by its file name)."""
    if not sys.argv or not sys.argv[0]:
        return "python"
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def provenance(title: str, command: str | None = None) -> dict[str, str]:
    """Global attributes of a dataset the package writes.

    ``Conventions`` (CF spelling), ``title``, ``source``, ``cooperon_version``,
    ``date_created`` (ISO 8601 UTC) and ``history`` (``"<date>: <command>"``;
    the command defaults to this process's command line).
    """
    from .. import __version__

    date = now_iso()
    return {
        "Conventions": CONVENTIONS,
        "title": title,
        "source": f"cooperon {__version__}",
        "cooperon_version": __version__,
        "date_created": date,
        "history": f"{date}: {command if command is not None else command_line()}",
    }
