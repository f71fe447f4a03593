"""The benchmark cube of Eq. (24): rate × ε × g, shared by the benchmark and the studies.

``python validation/bench_cooperon.py`` times ``solve_direct`` on it and
``python validation/honesty_study.py`` checks its error estimates there.
"""

from __future__ import annotations

from cooperon import Parameters

#: Q + r₁ + r₃ of the cube's points (Q = r₁ = r₃ = rate/3)
RATES = [1e-7, 1e-5, 1e-3, 1e-1, 1.0]
#: ε and g of the cube's points
SCALES = [1e-7, 1e-5, 1e-3, 1e-1, 10.0]


def cube_point(rate: float, eps: float, g: float) -> Parameters:
    """The cube's point: Q = r₁ = r₃ = rate/3, ε and g as given."""
    third = rate / 3.0
    return Parameters(
        tau_over_tau1=third, tau_over_tau3=third, E_tau=eps, gamma_tau=g, Dq2_tau=third
    )
