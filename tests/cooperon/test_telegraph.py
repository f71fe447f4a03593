"""Tests of cooperon.telegraph: the random-telegraph-noise Monte Carlo of Appendix B.

Tolerances.  A Monte Carlo estimate with standard error σ is compared with
the exact value at 4σ: for a correct, calibrated estimator a single check
fails with probability 6e-5, and the seeds are fixed, so a failure means a
wrong sampler, a wrong formula or a wrong error bar.  Formula identities are
compared to rounding (a few ulp).  The checks of the paper's printed forms
ask for the opposite: a deviation of more than 20σ.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from cooperon import telegraph as tg
from cooperon.model import Phi
from cooperon.parameters import Parameters

SIGMAS = 4.0  # agreement: |MC − exact| ≤ 4σ
REJECT = 20.0  # rejection of a printed form: |MC − printed| > 20σ


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_agrees(est: tg.Estimate, exact) -> None:
    z = np.atleast_1d(est.deviation(exact))
    assert np.all(np.abs(z) <= SIGMAS), f"deviations in σ: {z}"


# --------------------------------------------------------------------------
# exact formulas (identities to rounding; independent quadrature)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("J", [0.0, 0.3, 1.0, 2.5, -1.7])
@pytest.mark.parametrize("gamma", [0.0, 0.05, 1.0, 30.0])
def test_k_exact_is_printed_generating_function_at_x_minus_y(J, gamma):
    t0 = 3.0
    t = np.linspace(0.0, t0, 7)
    k = tg.k_exact(J, gamma, t, t0)
    direct = math.cos(J) ** 2 + math.sin(J) ** 2 * np.exp(-2 * gamma * np.abs(t0 - 2 * t))
    np.testing.assert_allclose(k, direct, rtol=0, atol=4e-16)
    # the paper's K(x, y) = e^{−γΔ}[cos(x+y) cosh γΔ + cos(x−y) sinh γΔ], as printed, at x = −y = J
    d = np.abs(t0 - 2 * t)
    printed_K = np.exp(-gamma * d) * (np.cosh(gamma * d) + math.cos(2 * J) * np.sinh(gamma * d))
    np.testing.assert_allclose(tg.generating_function_exact(J, -J, gamma, d), printed_K, atol=1e-15)
    np.testing.assert_allclose(k, printed_K, rtol=0, atol=4e-16)
    np.testing.assert_allclose(tg.k_printed(J, gamma, t, t0), 2 * k, rtol=1e-15)


def test_k_exact_is_one_where_it_must_be():
    t = np.linspace(0.0, 5.0, 11)
    assert np.all(tg.k_exact(0.0, 0.7, t, 5.0) == 1.0)  # J = 0
    assert np.all(tg.k_exact(1.3, 0.0, t, 5.0) == 1.0)  # γ = 0: ξ is frozen
    assert tg.k_exact(1.3, 0.7, 2.5, 5.0) == 1.0  # t = t₀/2: the two times coincide
    assert np.all(tg.k_printed(0.0, 0.7, t, 5.0) == 2.0)  # the printed form at J = 0


@pytest.mark.parametrize(("J", "gamma", "t0"), [(0.4, 0.2, 3.0), (1.2, 5.0, 0.7), (2.0, 1e-3, 8.0)])
def test_loop_average_exact_against_quadrature(J, gamma, t0):
    val, _ = integrate.quad(lambda t: 1.0 - tg.k_exact(J, gamma, t, t0), 0.0, t0, points=[t0 / 2])
    assert tg.loop_average_exact(J, gamma, t0) == pytest.approx(val / t0, rel=1e-12)


def test_loop_average_exact_limits():
    J = 0.9
    s2 = math.sin(J) ** 2
    assert tg.loop_average_exact(J, 0.0, 4.0) == 0.0
    assert tg.loop_average_exact(J, 3.0, 0.0) == 0.0
    x = 2e-9  # 2γt₀ → 0: ⟨1 − k⟩ → sin²J γt₀ (= sin²J x/2), no cancellation
    assert tg.loop_average_exact(J, 1e-9, 1.0) == pytest.approx(s2 * x / 2, rel=1e-8)
    big = 2 * 1e4 * 1.0  # γt₀ → ∞: → sin²J (1 − 1/(2γt₀))
    assert tg.loop_average_exact(J, 1e4, 1.0) == pytest.approx(s2 * (1 - 1 / big), rel=1e-14)


def test_kappa_printed_is_the_printed_formula_and_agrees_only_at_t0_one():
    J, gamma = 0.2, 0.3
    for t0 in (0.5, 1.0, 4.0):
        literal = J**2 * (2 * gamma - 1 + math.exp(-2 * gamma * t0)) / (2 * gamma)
        assert tg.kappa_printed(J, gamma, t0) == pytest.approx(literal, rel=1e-13)
    assert tg.kappa_printed(J, 0.0, 4.0) == pytest.approx(J**2 * (1 - 4.0))  # γ → 0 limit
    # at t₀ = 1 it is the small-J form of the exact average (J² for sin²J)
    ratio = tg.kappa_printed(J, gamma, 1.0) / tg.loop_average_exact(J, gamma, 1.0)
    assert ratio == pytest.approx(J**2 / math.sin(J) ** 2, rel=1e-13)
    assert tg.kappa_printed(J, gamma, 4.0) < 0 < tg.loop_average_exact(J, gamma, 4.0)


def test_correlation_exact_is_the_relaxation_factor_of_Phi():
    g = 0.37
    s = np.linspace(-6, 6, 13)
    np.testing.assert_allclose(
        tg.correlation_exact(g, s), Phi(s, Parameters(tau_over_tau3=1.0, gamma_tau=g)), rtol=1e-15
    )


# --------------------------------------------------------------------------
# the sampler
# --------------------------------------------------------------------------


def test_paths_structure_and_poisson_switch_counts():
    gamma, D, n = 0.8, 5.0, 40_000
    paths = tg.sample_telegraph(gamma, D, n, rng(1))
    assert set(np.unique(paths.initial)) == {-1, 1}
    st = paths.switch_times
    fin = np.isfinite(st)
    assert np.all(st[fin] >= 0) and np.all(st[fin] <= D)
    later = fin[:, 1:]  # where an entry and its left neighbour are both switch times
    assert np.all(st[:, 1:][later] > st[:, :-1][later])  # increasing along a row
    assert np.all(fin[:, :-1] | ~fin[:, 1:])  # finite entries first, then inf padding
    counts = paths.n_switches.astype(float)
    assert paths.n_segments == counts.sum() + n
    # Poisson(γD): mean γD; variance γD, whose sample variance has sd √((μ + 2μ²)/n)
    mu = gamma * D
    assert abs(counts.mean() - mu) <= SIGMAS * math.sqrt(mu / n)
    assert abs(counts.var(ddof=1) - mu) <= SIGMAS * math.sqrt((mu + 2 * mu**2) / n)
    # ξ(D) = ξ(0)(−1)^{N(D)}, and ξ is ±1 everywhere
    end = paths.values([D])[:, 0]
    np.testing.assert_array_equal(end, paths.initial * (-1) ** paths.n_switches)
    assert set(np.unique(paths.values(np.linspace(0, D, 9)))) == {-1, 1}


def test_frozen_and_empty_paths():
    paths = tg.sample_telegraph(0.0, 10.0, 100, rng(2))
    assert paths.switch_times.shape == (100, 0) and paths.n_segments == 100
    v = paths.values(np.linspace(0, 10, 5))
    np.testing.assert_array_equal(v, np.repeat(paths.initial[:, None], 5, axis=1))
    assert tg.sample_telegraph(3.0, 0.0, 10, rng(2)).switch_times.shape == (10, 0)


def test_paths_drawn_in_many_blocks_are_still_poisson():
    # blocks of 3 waiting times for a mean of 20 switches: every path is extended several times
    gamma, D, n = 4.0, 5.0, 20_000
    st = tg._switch_times(gamma, D, n, rng(3), width=3)
    counts = np.isfinite(st).sum(axis=1).astype(float)
    mu = gamma * D
    assert abs(counts.mean() - mu) <= SIGMAS * math.sqrt(mu / n)
    assert abs(counts.var(ddof=1) - mu) <= SIGMAS * math.sqrt((mu + 2 * mu**2) / n)
    # waiting time to the first switch: exponential of mean 1/γ (censored at D, P = e^{−20})
    first = st[:, 0]
    assert abs(first.mean() - 1 / gamma) <= SIGMAS * (1 / gamma) / math.sqrt(n)
    later = np.isfinite(st[:, 1:])
    assert np.all(st[:, 1:][later] > st[:, :-1][later])


@pytest.mark.parametrize("gamma", [0.0, 0.1, 2.0, 40.0])
def test_stationary_distribution(gamma):
    est = tg.estimate_occupation(gamma, [0.0, 0.3, 2.0, 7.0], 20_000, rng(4))
    assert est.n_samples == 20_000
    assert_agrees(est, 0.5)


@pytest.mark.parametrize("gamma", [0.05, 0.4, 3.0])
def test_correlation_function(gamma):
    lags = np.array([-3.0, -1.0, -0.2, 0.0, 0.2, 0.5, 1.0, 3.0]) / (2 * gamma) * 0.5
    est = tg.estimate_correlation(gamma, lags, 20_000, rng(5))
    exact = tg.correlation_exact(gamma, lags)
    assert est.value[3] == 1.0 and est.stderr[3] == 0.0  # ξ² = 1 exactly
    assert_agrees(est, exact)
    # the same data recover Φ(s) of Eq. (25) for r₃ = 1, g = γ (the σ₃ channel alone)
    assert_agrees(est, Phi(lags, Parameters(tau_over_tau3=1.0, gamma_tau=gamma)))


def test_no_global_state_and_reproducible():
    # the legacy global generator is reseeded on purpose: it must not matter
    np.random.seed(0)  # noqa: NPY002
    a = tg.estimate_k(0.7, 0.5, [0.3, 1.0], 2.0, 1000, rng(6))
    np.random.seed(1)  # noqa: NPY002
    b = tg.estimate_k(0.7, 0.5, [0.3, 1.0], 2.0, 1000, rng(6))
    np.testing.assert_array_equal(a.real.value, b.real.value)
    np.testing.assert_array_equal(a.imag.stderr, b.imag.stderr)


# --------------------------------------------------------------------------
# Monte Carlo against the exact averages of Appendix B
# --------------------------------------------------------------------------

K_CASES = [  # (J, γ, t₀): moderate, small J, large J, γ → 0, large γ
    (0.7, 0.5, 2.0),
    (0.1, 0.3, 5.0),
    (2.2, 1.0, 1.5),
    (1.0, 1e-3, 4.0),
    (0.8, 40.0, 1.0),
]


@pytest.mark.parametrize(("J", "gamma", "t0"), K_CASES)
def test_k_monte_carlo(J, gamma, t0):
    t = t0 * np.array([0.0, 0.1, 0.3, 0.45, 0.5, 0.7, 1.0])
    est = tg.estimate_k(J, gamma, t, t0, 20_000, rng(7))
    assert est.real.n_samples == 20_000
    assert_agrees(est.real, tg.k_exact(J, gamma, t, t0))
    assert_agrees(est.imag, 0.0)
    # the paper's printed 2cos²J + 2sin²J e^{…} is rejected by the same data
    z = np.asarray(est.real.deviation(tg.k_printed(J, gamma, t, t0)))
    assert np.all(np.abs(z) > REJECT)


def test_k_monte_carlo_is_exact_at_J_zero_and_gamma_zero():
    t = np.linspace(0.0, 3.0, 5)
    for J, gamma in ((0.0, 0.9), (1.1, 0.0)):
        est = tg.estimate_k(J, gamma, t, 3.0, 500, rng(8))
        assert np.all(est.real.value == 1.0) and np.all(est.real.stderr == 0.0)
        assert np.all(est.imag.value == 0.0) and np.all(est.imag.stderr == 0.0)
        np.testing.assert_array_equal(est.real.deviation(tg.k_exact(J, gamma, t, 3.0)), 0.0)
        assert np.all(np.asarray(est.real.deviation(tg.k_printed(J, gamma, t, 3.0))) == -np.inf)


def test_k_scalar_t():
    est = tg.estimate_k(0.6, 0.4, 0.8, 2.0, 5000, rng(9))
    assert isinstance(est.real.value, float) and isinstance(est.imag.stderr, float)
    assert_agrees(est.real, tg.k_exact(0.6, 0.4, 0.8, 2.0))


LOOP_CASES = [  # (J, γ, t₀), none with t₀ = 1 (where the printed κ coincides at small J)
    (0.5, 0.3, 4.0),  # printed κ negative
    (0.3, 2.0, 3.0),
    (1.4, 0.2, 0.4),
    (0.6, 1e-3, 5.0),  # γt₀ → 0
    (0.9, 30.0, 2.0),  # γt₀ → ∞
]


@pytest.mark.parametrize(("J", "gamma", "t0"), LOOP_CASES)
def test_loop_average_monte_carlo(J, gamma, t0):
    est = tg.estimate_loop_average(J, gamma, t0, 20_000, rng(10))
    assert isinstance(est.value, float) and est.n_samples == 20_000
    assert_agrees(est, tg.loop_average_exact(J, gamma, t0))
    assert abs(est.deviation(tg.kappa_printed(J, gamma, t0))) > REJECT


def test_loop_average_exact_zero_cases():
    for J, gamma, t0 in ((0.0, 0.5, 3.0), (0.8, 0.0, 3.0), (0.8, 0.5, 0.0)):
        est = tg.estimate_loop_average(J, gamma, t0, 100, rng(11))
        assert est.value == 0.0 and est.stderr == 0.0
        assert est.deviation(tg.loop_average_exact(J, gamma, t0)) == 0.0


def test_generating_function_monte_carlo():
    for x, y, gamma, dt in ((0.4, 1.1, 0.3, 2.0), (-0.9, 0.2, 2.0, 0.1), (1.3, 1.3, 0.5, 1.0)):
        est = tg.estimate_generating_function(x, y, gamma, dt, 20_000, rng(12))
        assert_agrees(est.real, tg.generating_function_exact(x, y, gamma, dt))
        assert_agrees(est.imag, 0.0)


# --------------------------------------------------------------------------
# the error bars themselves
# --------------------------------------------------------------------------


def test_standard_error_shrinks_like_inverse_sqrt_n():
    J, gamma, t, t0 = 0.8, 0.4, np.array([0.5, 1.2]), 3.0
    small = tg.estimate_k(J, gamma, t, t0, 2_000, rng(13)).real.stderr
    large = tg.estimate_k(J, gamma, t, t0, 32_000, rng(14)).real.stderr
    # √16 = 4; the sample sd has relative scatter ≈ √(κ₄ − 1)/(2√n) ≲ 1.1% at n = 2000
    # (κ₄ ≤ 2 here: the samples take two values), so 6% is over 5 of its σ
    np.testing.assert_allclose(small / large, 4.0, rtol=0.06)
    loop_small = tg.estimate_loop_average(J, gamma, t0, 2_000, rng(15)).stderr
    loop_large = tg.estimate_loop_average(J, gamma, t0, 32_000, rng(16)).stderr
    assert loop_small / loop_large == pytest.approx(4.0, rel=0.06)


def test_standard_errors_are_calibrated():
    # 300 independent estimates: their scatter must match the reported error bar.  The sd of
    # 300 unit normals has relative scatter 1/√600 ≈ 4%, so ±17% is over 4 of its σ.
    J, gamma, t, t0 = 0.8, 0.4, 1.0, 3.0
    gen = rng(17)
    z = np.array(
        [
            tg.estimate_k(J, gamma, t, t0, 400, gen).real.deviation(tg.k_exact(J, gamma, t, t0))
            for _ in range(300)
        ]
    )
    assert abs(z.mean()) <= SIGMAS / math.sqrt(300)
    assert z.std() == pytest.approx(1.0, rel=0.17)


def test_chunks_combine_like_one_sample(monkeypatch):
    moments = tg._Moments()
    x = rng(18).normal(3.0, 0.01, size=(1001, 3))
    for part in np.array_split(x, 7):
        moments.add(part)
    est = moments.estimate()
    np.testing.assert_allclose(est.value, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(est.stderr, x.std(axis=0, ddof=1) / math.sqrt(1001), rtol=1e-10)
    # many chunks in a real estimate: still right and counts every path once
    monkeypatch.setattr(tg, "_CHUNK_ELEMENTS", 64)
    est = tg.estimate_loop_average(0.7, 0.6, 2.0, 3001, rng(19))
    assert est.n_samples == 3001
    assert_agrees(est, tg.loop_average_exact(0.7, 0.6, 2.0))


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

G = rng(0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: tg.sample_telegraph(-1.0, 1.0, 10, G), "gamma"),
        (lambda: tg.sample_telegraph(np.nan, 1.0, 10, G), "gamma"),
        (lambda: tg.sample_telegraph(1.0, -1.0, 10, G), "duration"),
        (lambda: tg.sample_telegraph(1.0, np.inf, 10, G), "duration"),
        (lambda: tg.sample_telegraph(1.0, 1.0, 1, G), "n_paths"),
        (lambda: tg.sample_telegraph(1e300, 1e10, 10, G), "gamma \\* duration"),
        (lambda: tg.estimate_k(1.0, 1e9, 0.5, 1.0, 10, G), "gamma \\* duration"),
        (lambda: tg.sample_telegraph(1.0, 1.0, 10.0, G), "n_paths"),
        (lambda: tg.sample_telegraph(1.0, 1.0, 10, G).values([2.0]), "t"),
        (lambda: tg.sample_telegraph(1.0, 1.0, 10, G).values(np.zeros((3, 2))), "t"),
        (lambda: tg.estimate_k(np.inf, 1.0, 0.5, 1.0, 10, G), "J"),
        (lambda: tg.estimate_k(np.nan, 1.0, 0.5, 1.0, 10, G), "J"),
        (lambda: tg.estimate_k(1.0, -0.1, 0.5, 1.0, 10, G), "gamma"),
        (lambda: tg.estimate_k(1.0, 1.0, 1.5, 1.0, 10, G), "t"),
        (lambda: tg.estimate_k(1.0, 1.0, -0.5, 1.0, 10, G), "t"),
        (lambda: tg.estimate_k(1.0, 1.0, 0.5, -1.0, 10, G), "t0"),
        (lambda: tg.estimate_k(1.0, 1.0, 0.5, 1.0, 0, G), "n_paths"),
        (lambda: tg.estimate_loop_average(1.0, 1.0, -2.0, 10, G), "t0"),
        (lambda: tg.estimate_loop_average(1.0, 1.0, np.nan, 10, G), "t0"),
        (lambda: tg.estimate_loop_average(1.0, 1.0, 1.0, 10, G, positions_per_path=0), "positions"),
        (lambda: tg.estimate_correlation(1.0, [np.nan], 10, G), "lags"),
        (lambda: tg.estimate_correlation(1.0, [1.0], 10, G, n_origins=0), "n_origins"),
        (lambda: tg.estimate_occupation(1.0, [-1.0], 10, G), "t"),
        (lambda: tg.estimate_generating_function(1.0, np.inf, 1.0, 1.0, 10, G), "y"),
        (lambda: tg.estimate_generating_function(1.0, 1.0, 1.0, -1.0, 10, G), "dt"),
        (lambda: tg.k_exact(1.0, 1.0, 2.0, 1.0), "t"),
        (lambda: tg.k_exact("a", 1.0, 0.5, 1.0), "J"),
        (lambda: tg.loop_average_exact(1.0, -1.0, 1.0), "gamma"),
        (lambda: tg.kappa_printed(1.0, 1.0, -1.0), "t0"),
        (lambda: tg.correlation_exact(1.0, np.inf), "s"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_rng_must_be_a_generator():
    with pytest.raises(TypeError, match="rng"):
        tg.estimate_k(1.0, 1.0, 0.5, 1.0, 10, np.random.RandomState(0))
    with pytest.raises(TypeError, match="rng"):
        tg.sample_telegraph(1.0, 1.0, 10, 42)
