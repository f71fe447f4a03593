"""Tests of :func:`cooperon.solve_direct` (Eq. (24) solved directly).

1. exact limits: Φ ≡ 1 ⇒ F(t) = 1/Q for all t (docs/equations.md);
2. the O(N) running-sum path against the general O(N²) path;
3. the error estimate against references that share none of
   ``cooperon.direct``'s history/truncation machinery (zero-history long-T
   solves, stored in ``reference_F0.json`` by ``make_reference.py``);
4. invalid input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_data import ERROR_CASES, load_stored, stored_params, zero_history_F0

from cooperon import DirectSolution, NoCutoffError, Parameters, solve_direct

P = Parameters

# --------------------------------------------------------------------------
# 1. exact limits
# --------------------------------------------------------------------------

PHI_ONE_CASES = {
    "Q=1e-4 only": P(Dq2_tau=1e-4),
    "Q=0.02 only": P(Dq2_tau=0.02),
    "Q=1 only": P(Dq2_tau=1.0),
    "r1=0.5,eps=0,Q=0.01": P(tau_over_tau1=0.5, E_tau=0.0, Dq2_tau=0.01),
    "r1=0.5,eps=0,g=3 (r3=0),Q=0.1": P(tau_over_tau1=0.5, gamma_tau=3.0, Dq2_tau=0.1),
    "r3=0.7,g=0,Q=1e-3": P(tau_over_tau3=0.7, gamma_tau=0.0, Dq2_tau=1e-3),
    "r3=0.5,g=0,eps=2 (r1=0),Q=0.1": P(tau_over_tau3=0.5, E_tau=2.0, Dq2_tau=0.1),
    "r1=0.3,r3=0.6,eps=g=0,Q=0.05": P(tau_over_tau1=0.3, tau_over_tau3=0.6, Dq2_tau=0.05),
}


@pytest.mark.parametrize("rtol", [1e-4, 1e-8])
@pytest.mark.parametrize("name", list(PHI_ONE_CASES))
def test_phi_identically_one_gives_one_over_Q(name, rtol):
    """Φ ≡ 1 ⇒ (1+Q)F = 1 + ∫ e^{−(t−t')} F dt' has the solution F ≡ 1/Q (c = 1).

    To 1e-10 relative, for F(0) and the whole array, at any rtol: the frozen
    history is exactly 1/Q and the exponential product rules of the fast
    path integrate e^{−(t−s)}·const exactly, so only rounding remains
    (F ≤ 1e4 here; N·eps ≲ 1e-12). The error estimate must cover the
    (rounding-level) error.
    """
    p = PHI_ONE_CASES[name]
    exact = 1.0 / p.Dq2_tau
    sol = solve_direct(p, rtol=rtol)
    assert isinstance(sol, DirectSolution)
    assert sol.converged, sol.message
    assert sol.F0 == pytest.approx(exact, rel=1e-10, abs=0)
    np.testing.assert_allclose(sol.F, exact, rtol=1e-10, atol=0)
    assert sol.t[-1] == 0.0 and sol.t[0] == pytest.approx(-sol.T)
    assert abs(sol.F0 - exact) <= sol.error_estimate + 1e-13 * exact
    assert sol.truncation_error == 0.0


# --------------------------------------------------------------------------
# 2. fast path vs the general O(N²) path
# --------------------------------------------------------------------------

PATH_CASES = [
    # (params, rtol); every direct-path grid stays below 10 000 points (O(N²) work)
    (P(tau_over_tau3=0.3, gamma_tau=0.5, Dq2_tau=0.05), 1e-6),
    (P(tau_over_tau1=0.3, E_tau=1.0, Dq2_tau=0.05), 1e-6),
    (P(tau_over_tau1=0.2, E_tau=0.7, tau_over_tau3=0.3, gamma_tau=0.3, Dq2_tau=0.02), 1e-6),
    (P(tau_over_tau1=0.2, E_tau=2.0, tau_over_tau3=0.6, gamma_tau=3.0, Dq2_tau=0.05), 1e-6),
    (P(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02), 1e-6),
    (P(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02), 1e-8),
    (P(tau_over_tau1=0.4, E_tau=0.3, tau_over_tau3=0.4, gamma_tau=0.05, Dq2_tau=0.1), 1e-6),
]


@pytest.mark.parametrize(("p", "rtol"), PATH_CASES, ids=repr)
def test_fast_path_agrees_with_general_path(p, rtol):
    """``path="direct"`` (O(N²), polynomial product integration of the whole integrand)
    and the default O(N) path (exponential product integration with running
    sums) must agree to the requested rtol: each claims ``rtol`` on its own.
    """
    fast = solve_direct(p, rtol=rtol)
    slow = solve_direct(p, rtol=rtol, path="direct")
    assert fast.stats.path == "expsum"
    assert slow.stats.path == "direct"
    assert fast.converged and slow.converged, (fast.message, slow.message)
    assert slow.stats.points <= 10_000
    assert abs(fast.F0 - slow.F0) <= rtol * abs(fast.F0), (fast.F0, slow.F0)


# --------------------------------------------------------------------------
# 3. the error estimate
# --------------------------------------------------------------------------

STORED = load_stored()


def test_stored_references_match_cases():
    """reference_F0.json is not stale: same cases, same parameters, small errors."""
    assert set(STORED) == set(ERROR_CASES)
    for name, entry in STORED.items():
        assert stored_params(entry) == ERROR_CASES[name], name
        assert entry["error"] <= 1e-11 * abs(entry["F0"]), name


def test_stored_reference_reproducible():
    """One stored entry recomputed live (cheap case, 0.4 s) agrees within the errors."""
    name = "r1=0.2,eps=1,r3=0.3,g=0.5,Q=1e-4 (mixed)"
    entry = STORED[name]
    F0, err, _ = zero_history_F0(ERROR_CASES[name], rel=1e-12)
    assert abs(F0 - entry["F0"]) <= err + entry["error"]


def _case(name, rtol):
    entry = STORED[name]
    p = ERROR_CASES[name]
    sol = solve_direct(p, rtol=rtol)
    ref, ref_err = entry["F0"], entry["error"]
    true = abs(sol.F0 - ref)
    return sol, ref, ref_err, true


#: The estimate may be below the true error by this factor: the Richardson
#: estimate |y_h − y_2h|/(2⁶ − 1) is asymptotically exact but off by O(h)
#: relative terms and by pre-asymptotic behaviour on coarse grids; the
#: truncation part is a bound. 50 % slack is generous for "honest".
MARGIN = 0.5


@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_error_estimate_is_an_upper_bound(name, rtol):
    """true error ≤ (1 + MARGIN)·error_estimate (+ the reference's own error),
    ``converged`` True, relative_error_estimate ≤ rtol, and the promise
    true error ≤ rtol·|F0| itself.
    """
    sol, ref, ref_err, true = _case(name, rtol)
    info = (
        f"F0={sol.F0!r} ref={ref!r} true rel err={true / abs(ref):.3g} "
        f"est={sol.relative_error_estimate:.3g} (disc {sol.discretisation_error / abs(ref):.2g}, "
        f"trunc {sol.truncation_error / abs(ref):.2g}) T={sol.T:.4g} h={sol.h:.3g}"
    )
    assert sol.converged, sol.message
    assert sol.relative_error_estimate <= rtol
    assert true <= rtol * abs(ref) + ref_err, "rtol not met: " + info
    assert true <= (1.0 + MARGIN) * sol.error_estimate + ref_err, "estimate too low: " + info


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_error_estimate_is_not_too_pessimistic(name):
    """The estimate is within a factor 10 of the true error where that is
    resolvable. The true error is split into its parts with a fine solve on
    the same [−T, 0] (rtol 1e-11, same T): discretisation |F0 − F0_fine| and
    truncation |F0_fine − ref|, so that a lucky cancellation of the two (seen
    at 2g = 1) does not make the estimate look pessimistic. Requirement:
    estimate ≤ 10·max(total, parts, floor), floor = max(10× the errors of
    the references, 1e-12·|F0|) (below the floor nothing is resolvable). Also
    estimate ≤ 10·rtol·|F0| (implied by converged). A failure means a grossly
    conservative part (typically the truncation bound: then T, and the cost,
    are larger than needed), not a wrong F(0).
    """
    rtol = 1e-6
    sol, ref, ref_err, true = _case(name, rtol)
    assert sol.error_estimate <= 10 * rtol * abs(sol.F0)
    fine = solve_direct(ERROR_CASES[name], rtol=1e-11, T=sol.T)
    disc_true = abs(sol.F0 - fine.F0)
    trunc_true = abs(fine.F0 - ref)
    floor = max(10 * (ref_err + fine.discretisation_error), 1e-12 * abs(ref))
    assert sol.error_estimate <= 10 * max(true, disc_true, trunc_true, floor), (
        f"estimate {sol.relative_error_estimate:.3g} vs true {true / abs(ref):.3g} "
        f"(disc est {sol.discretisation_error / abs(ref):.2g} true {disc_true / abs(ref):.2g}; "
        f"trunc est {sol.truncation_error / abs(ref):.2g} true {trunc_true / abs(ref):.2g}; "
        f"floor {floor / abs(ref):.2g})"
    )


def test_not_converged_is_reported():
    """A fixed coarse step cannot reach rtol = 1e-12: converged False, message says so."""
    p = P(tau_over_tau3=0.3, gamma_tau=0.5, Dq2_tau=0.05)
    sol = solve_direct(p, rtol=1e-12, h=0.5)
    assert not sol.converged
    assert "not reached" in sol.message
    assert sol.relative_error_estimate > 1e-12
    assert math.isfinite(sol.F0)


def test_fixed_h_and_T_are_used():
    p = P(tau_over_tau3=0.3, gamma_tau=0.5, Dq2_tau=0.05)
    sol = solve_direct(p, rtol=1e-6, h=0.05, T=30.0)
    assert sol.T == 30.0
    assert sol.h == pytest.approx(0.05, rel=0.05)
    assert sol.t[0] == pytest.approx(-30.0)


# --------------------------------------------------------------------------
# 4. invalid input
# --------------------------------------------------------------------------

BAD_PARAMETERS = [
    ({"tau_over_tau1": -0.1}, "tau_over_tau1"),
    ({"tau_over_tau3": -1e-9}, "tau_over_tau3"),
    ({"E_tau": -1.0}, "E_tau"),
    ({"gamma_tau": -0.5}, "gamma_tau"),
    ({"Dq2_tau": -1e-3}, "Dq2_tau"),
    ({"tau_over_tau1": 0.6, "tau_over_tau3": 0.5}, "tau_over_tau1 + tau_over_tau3"),
    ({"gamma_tau": float("nan")}, "gamma_tau"),
    ({"Dq2_tau": float("inf")}, "Dq2_tau"),
    ({"E_tau": True}, "E_tau"),
    ({"tau_over_tau3": np.bool_(False)}, "tau_over_tau3"),
]


@pytest.mark.parametrize(("kw", "name"), BAD_PARAMETERS, ids=lambda x: str(x))
def test_invalid_parameters_name_the_parameter(kw, name):
    with pytest.raises(ValueError, match=name.replace("+", r"\+")):
        P(**kw)


def test_non_numeric_parameter_is_type_error():
    with pytest.raises(TypeError, match="Dq2_tau"):
        P(Dq2_tau="0.1")


@pytest.mark.parametrize(
    "p",
    [
        P(),
        P(tau_over_tau1=0.5),  # ε = 0: Φ ≡ 1
        P(tau_over_tau3=0.5, E_tau=3.0),  # g = 0
        P(tau_over_tau1=0.3, tau_over_tau3=0.3, E_tau=0.0, gamma_tau=0.0),
        P(tau_over_tau1=0.0, E_tau=1.0, gamma_tau=1.0),  # rates but no weights
    ],
    ids=repr,
)
def test_no_cutoff_raises(p):
    """F(0) = ∞ (Q = 0, no active channel) is an error, never a huge number or NaN."""
    with pytest.raises(NoCutoffError, match="infinity"):
        solve_direct(p)


@pytest.mark.parametrize("rtol", [0.0, -1e-6, 1e-14, 0.5, 1.0, float("nan"), float("inf")])
def test_rtol_out_of_range(rtol):
    with pytest.raises(ValueError, match="rtol"):
        solve_direct(P(Dq2_tau=0.1), rtol=rtol)


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"h": 0.0}, "h"),
        ({"h": -0.1}, "h"),
        ({"h": 20.0}, "h"),
        ({"T": 0.0}, "T"),
        ({"T": float("inf")}, "T"),
        ({"T": -5.0}, "T"),
    ],
)
def test_invalid_h_or_T(kw, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        solve_direct(P(Dq2_tau=0.1), **kw)


def test_params_must_be_parameters():
    with pytest.raises(TypeError, match="Parameters"):
        solve_direct({"Dq2_tau": 0.1})


def test_method_is_validated():
    p = Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02)
    with pytest.raises(ValueError, match="method"):
        solve_direct(p, method="gregory10")
    a = solve_direct(p, rtol=1e-6, method="auto")
    b = solve_direct(p, rtol=1e-6, method="gregory6")
    assert a.F0 == b.F0


def test_ill_conditioned_point_is_not_called_converged():
    # Q = 0 and r3 = 1e-9: F(0) ~ 1e9 and the rounding of the kernel mass (~1e-16) becomes a
    # relative error ~1e-16/1e-9 = 1e-7 in F(0); rtol = 1e-8 cannot be honestly reached
    p = Parameters(tau_over_tau3=1e-9, gamma_tau=0.1)
    sol = solve_direct(p, rtol=1e-8)
    assert not sol.converged
    assert sol.relative_error_estimate > 1e-8
    assert "not reached" in sol.message


def test_gregory8_keeps_its_steps_within_its_stability_limit():
    # gregory8 is unstable on steps much longer than the memory (solver.api.COARSE_STEP_LIMIT):
    # solve_direct keeps its steps within the limit. At rates 1e-5 that costs points but
    # agrees with gregory6 within the estimates; at 1e-7 the history needs more points than
    # max_points and it says so, with the way out (it overflowed before)
    third = 1e-5 / 3
    p = P(tau_over_tau1=third, tau_over_tau3=third, E_tau=1e-5, gamma_tau=1e-5, Dq2_tau=third)
    s8 = solve_direct(p, method="gregory8")
    s6 = solve_direct(p, method="gregory6")
    assert s8.converged and s6.converged
    assert np.max(np.diff(s8.t)) <= 16.0 + 1e-9
    assert abs(s8.F0 - s6.F0) <= 1.5 * (s8.error_estimate + s6.error_estimate)
    third = 1e-7 / 3
    p = P(tau_over_tau1=third, tau_over_tau3=third, E_tau=1e-4, gamma_tau=1e-7, Dq2_tau=third)
    with pytest.raises(ArithmeticError, match="stability limit of the method; gregory6"):
        solve_direct(p, method="gregory8")


# --------------------------------------------------------------------------
# the layer of F at t = 0 and the first step of the grid (docs/envelopes.md)
# --------------------------------------------------------------------------


def _F_on_grid(p, h0, m, T=2.5e5):
    """F of Eq. (24) on the skeleton with first step h0, refined m times (no estimate)."""
    from cooperon import direct, equation
    from cooperon.grid import doubling_mesh
    from solver import solve_volterra
    from solver.mesh import refine

    v, Q = equation.model(p)
    frozen = equation.frozen_solution(v, Q=Q)
    t = doubling_mesh(*direct._skeleton_args(v, Q + v.dephasing, T, 1e-8, h0=h0))
    tt = refine(t, m)
    res = solve_volterra(equation.kernel(v, Q), equation.rhs(v, Q), tt, method="gregory6",
                         history=equation.history(v, -float(tt[0]), frozen, Q=Q),
                         error_estimate=False, vectorized=True)  # fmt: skip
    return tt, res.y


@pytest.mark.parametrize("r3,g", [(1e-4, 1e-7), (1e-3, 1e-7), (1e-4, 1e-6)])
def test_unresolved_layer_costs_f0_a_first_order_error(r3, g):
    # steps of 250 and 125 τ at t = 0 against a grid resolving τ there: only F(0) is off
    # (the rows before it agree to 1e-11), by C A h with A = 8 r₃ g the layer's size and
    # C ≈ 0.21, below the _LAYER_GAIN = 0.5 that solve_direct adds to its estimate
    from cooperon import direct, equation

    p = Parameters(tau_over_tau3=r3, gamma_tau=g, Dq2_tau=1e-4)
    A = direct._layer_size(equation.model(p)[0])
    assert A == pytest.approx(8 * r3 * g)  # c = r₃, α = 2g
    tr, yr = _F_on_grid(p, 1.0, 16)
    errs = []
    for m in (4, 8):
        tt, y = _F_on_grid(p, 1000.0, m)
        h = tt[-1] - tt[-2]
        errs.append(abs(y[-1] - yr[-1]) / abs(yr[-1]))
        assert 0.15 * A * h <= errs[-1] <= direct._LAYER_GAIN * A * h
        # a row before t = 0 on both grids
        j = int(np.flatnonzero(np.isclose(tt, -2000.0))[0])
        k = int(np.flatnonzero(np.isclose(tr, -2000.0))[0])
        assert abs(y[j] - yr[k]) <= 1e-11 * abs(yr[k])
    assert errs[0] / errs[1] == pytest.approx(2.0, rel=0.1)  # first order


def test_first_step_follows_the_layer():
    # with long_first (the envelopes): no decaying term, no layer, the first step is the
    # slow scale (here ε = 1e-4: the oscillation); a strong layer: the first step is ~τ.
    # F itself (the default) keeps a first step of ~τ in both cases
    from cooperon import direct, equation

    density = (1e-2) ** 0.2  # at rtol 1e-8
    v, Q = equation.model(Parameters(tau_over_tau1=1e-6, E_tau=1e-4, Dq2_tau=1e-6))
    h0 = direct._skeleton_args(v, Q + v.dephasing, 1e7, 1e-8, long_first=True)[1]
    assert h0 == pytest.approx(density / 1e-4)  # density × 1/ε
    assert direct._skeleton_args(v, Q + v.dephasing, 1e7, 1e-8)[1] == pytest.approx(density)
    v, Q = equation.model(Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=1e-3))
    h0 = direct._skeleton_args(v, Q + v.dephasing, 1e4, 1e-8, long_first=True)[1]
    assert h0 == pytest.approx(density)


@pytest.mark.parametrize("levels", [[1, 2, 4], [3, 4, 6], [5, 10, 20]])
def test_two_order_extrapolation_is_exact_on_its_model(levels):
    # F_k = F + a h_k + c h_k^6 with h_k = H/k: the three grids give F to rounding, also
    # when a h is 1e6 times the c h^6 term (the layer's first-order error dominates)
    from cooperon.direct import _two_orders

    for a, c in [(0.3, 5.0), (1e-2, 1e-8), (0.0, 1.0)]:
        values = [1.0 + a / k + c / k**6 for k in levels]
        assert _two_orders(levels, values, 6) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize(
    "rate, eps, g",
    [(1e-3, 1e-3, 1e-7), (1e-5, 1e-5, 1e-7), (1e-1, 1e-1, 1e-3), (1e-5, 1e-7, 1e-5)],
)
def test_skeleton_near_the_slow_scale_converges_in_one_refinement(monkeypatch, rate, eps, g):
    # ε or 2g near Q + rate: the skeleton is denser where that term changes F
    # (direct._step_cap), so the first refinement (grids 4, 2, 1: three solves) meets rtol;
    # without it the refinement needed two more solves. The two agree within their estimates.
    from cooperon import direct

    third = rate / 3.0
    p = Parameters(tau_over_tau1=third, tau_over_tau3=third, E_tau=eps, gamma_tau=g, Dq2_tau=third)
    sol = solve_direct(p, rtol=1e-8)
    assert sol.converged and sol.stats.solves == 3
    monkeypatch.setattr(direct, "_RES_BOOST", {"oscillating": 1.0, "decaying": 1.0})
    plain = solve_direct(p, rtol=1e-8)
    assert plain.converged and plain.stats.solves == 5
    assert abs(sol.F0 - plain.F0) <= sol.error_estimate + plain.error_estimate


@pytest.mark.parametrize("rate, eps, g", [(1e-5, 0.1, 1e-7), (0.1, 10.0, 1e-5)])
def test_slowly_shrinking_differences_bounded_by_their_tail(rate, eps, g):
    # a few points whose differences shrink by a ratio between 1 and 2 only (here: just
    # under 2 at t = 0; 0.4-0.9 tol x 0.01 near t = -5) used to count as a stall and cost a
    # second refinement (4 solves); where their geometric tail d1/(ratio - 1) is below
    # rtol/10 it is now their estimate (solver.api._solve_to_tolerance), and the first
    # refinement stands. The result agrees with one at rtol 1e-11 within the estimates.
    third = rate / 3.0
    p = Parameters(tau_over_tau1=third, tau_over_tau3=third, E_tau=eps, gamma_tau=g, Dq2_tau=third)
    sol = solve_direct(p, rtol=1e-8)
    assert sol.converged and sol.stats.solves == 3
    ref = solve_direct(p, rtol=1e-11)
    assert abs(sol.F0 - ref.F0) <= sol.error_estimate + ref.error_estimate


def test_refinement_near_the_conditioning_floor_does_not_chase_rounding_noise():
    # the physical point of validation/bench_cooperon.py table (c), rate ~2e-6: at rtol 1e-9
    # (5x the floor eps/rate) the rounding noise of F looked like a stalled refinement and
    # the grid was refined 128x (115 585 points); the solver is told the conditioning
    # 1/rate (solver.solve_volterra(conditioning=...)) and stops at 16x. F(0) agrees with
    # the rtol 1e-8 solution within the two estimates.
    p = Parameters(tau_over_tau1=1e-6, E_tau=3e-5, tau_over_tau3=1e-6, gamma_tau=1e-6, Dq2_tau=1e-7)
    fine = solve_direct(p, rtol=1e-9)
    assert fine.converged and fine.stats.refinement_factor <= 32
    coarse = solve_direct(p, rtol=1e-8)
    assert abs(fine.F0 - coarse.F0) <= fine.error_estimate + coarse.error_estimate


def _cube_point(rate, eps, g):
    third = rate / 3.0
    return Parameters(
        tau_over_tau1=third, tau_over_tau3=third, E_tau=eps, gamma_tau=g, Dq2_tau=third
    )


def _check_depth_grading(scales, v, Q, T, **steps):
    """The skeleton with ``depth=(v, Q)`` against the one without: never denser, coarser
    by whole doublings only, at most 2^(floor(log_64 L) - 1) of them (L = the damping of
    the resolvent at the cell's near end, the tightest in the cell), none where L < 2^12,
    and never beyond the density of rtol 3e-5 (2, from 0.398 at rtol 1e-8: 2 doublings).
    Returns the largest number of doublings."""
    from cooperon import direct

    r = Q + v.dephasing
    plain = direct._skeleton(scales, r, T, 1e-8, 10**7, **steps)
    graded = direct._skeleton(scales, r, T, 1e-8, 10**7, Q=Q, **steps)
    assert graded[-1] == 0.0 and graded[0] <= -T < graded[1]
    assert graded.size < plain.size
    j = np.clip(np.searchsorted(plain, graded[:-1], side="right") - 1, 0, plain.size - 2)
    k = np.log2(np.diff(graded) / np.diff(plain)[j])
    assert np.allclose(k, np.round(k), atol=1e-6)
    k = np.round(k)
    damp = -v.theta(graded[1:], Q) / (1.0 + Q + v.lambda_bound)  # ln L at each near end
    allowed = np.maximum(np.floor(damp / math.log(64.0)) - 1.0, 0.0)
    assert np.all(k >= 0) and np.all(k <= allowed)
    assert np.all(k[damp < 2 * math.log(64.0)] == 0)
    most = math.floor(math.log2(2.0 / float(direct._density(1e-8))))
    assert most == 2 and np.all(k <= most)
    return int(k.max())


@pytest.mark.parametrize("rate, eps, g", [(1.0, 10.0, 1e-3), (1e-5, 1e-5, 1e-7), (0.1, 0.1, 1e-7)])
def test_skeleton_of_f_follows_the_tolerance_at_each_depth(rate, eps, g):
    # F itself: the skeleton's steps double once per factor 2^6 of the looser tolerance F has
    # at depth d (direct._pointwise_rtol: the resolvent damps errors there by L(d) on their way
    # to F(0)), after a first factor 2^6 of margin, and nowhere else
    from cooperon import direct, equation

    v, Q = equation.model(_cube_point(rate, eps, g))
    deepest = _check_depth_grading(v, v, Q, direct.truncation_time(v, 1e-10, 1.0, Q=Q))
    assert deepest == 2  # the deep past reaches the cap: the cap is checked where it binds


@pytest.mark.parametrize("rate, eps, g", [(1.0, 10.0, 1e-3), (1e-5, 1e-5, 1e-7), (0.1, 0.1, 1e-7)])
def test_depth_graded_skeleton_keeps_f0_within_its_estimate(monkeypatch, rate, eps, g):
    # points of the benchmark cube whose grids the depth-graded skeleton shrinks (rate 1,
    # ε = 10: 22 657 -> 15 793 points): F(0) against a fourth-order reference with a 1.5x
    # longer history, within 10x the estimate and within rtol; and against the solve on the
    # skeleton that ignores depth, within the two estimates, at more points
    from cooperon import direct

    p = _cube_point(rate, eps, g)
    sol = solve_direct(p, rtol=1e-8)
    assert sol.harmonics == 0
    ref = solve_direct(p, rtol=1e-10, T=1.5 * sol.T, method="gregory4")
    assert sol.converged and ref.converged, (sol.message, ref.message)
    diff = abs(sol.F0 - ref.F0)
    assert diff <= 10 * sol.error_estimate + ref.error_estimate
    assert diff <= 1e-8 * abs(ref.F0) + ref.error_estimate
    monkeypatch.setattr(
        direct, "_depth_density", lambda v, Q, rtol, T: lambda d: float(direct._density(rtol))
    )
    plain = solve_direct(p, rtol=1e-8)
    assert plain.converged and sol.stats.points < plain.stats.points
    assert abs(sol.F0 - plain.F0) <= sol.error_estimate + plain.error_estimate
