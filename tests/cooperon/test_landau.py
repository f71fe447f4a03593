"""cooperon._landau: Landau-level sums of a function known at Chebyshev nodes.

Exact references (mpmath at 30 digits):
  S_b[1/(Q+λ)]  = b Σ 1/((n+½)b + λ) − ∫_0^∞ ... = ln(λ/b) − ψ(½ + λ/b)
  S_b[1/(Q+λ)²] = ψ′(½ + λ/b)/b − 1/λ
(the first is the HLN identity of docs/magneto.md, the second its λ-derivative).
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from cooperon._landau import TAIL_START, ChebyshevLandau, em_coefficients, tail_start

mp.mp.dps = 30
LAM = 1e-3
BS = np.geomspace(1e-7, 1e-1, 13)


def _exact_1(b):
    x = mp.mpf(LAM) / mp.mpf(b)
    return float(mp.log(x) - mp.digamma(0.5 + x))


def _exact_2(b):
    x = mp.mpf(LAM) / mp.mpf(b)
    return float(mp.polygamma(1, 0.5 + x) / mp.mpf(b) - 1 / mp.mpf(LAM))


def test_em_coefficients():
    """B_{2k}(½)/(2k)!: −1/24, 7/5760, −31/967680, 127/154828800 (exact rationals)."""
    want = [-1 / 24, 7 / 5760, -31 / 967680, 127 / 154828800]
    np.testing.assert_allclose(em_coefficients(4), want, rtol=1e-14)


def test_tail_start():
    """N b + r ≥ TAIL_START b with N minimal, N = 0 once r ≥ TAIL_START b."""
    for b, r in [(1.0, 1e-3), (1e-2, 0.05), (1e-4, 1.0), (0.3, 0.3)]:
        N, a = tail_start(b, r)
        assert a == N * b and a + r >= TAIL_START * b * (1 - 1e-15)
        assert N == 0 or (N - 1) * b + r < TAIL_START * b


@pytest.mark.parametrize("which", [1, 2])
def test_against_exact_sums(which):
    """1/(Q+λ) and 1/(Q+λ)² summed over 13 fields b/λ = 1e-4 ... 100.

    Tolerance 1e-8: with 33 nodes the interpolant is resolved (its Chebyshev
    coefficients fall below 1e-13), and the Euler–Maclaurin truncation after
    three terms at a + r ≥ 16 b is ≤ 24·β₄·7!·16⁻⁶ ≈ 6e-9 relative (measured
    2.3e-9); its first omitted term is the reported estimate, which must bound
    the true error within a factor 2 where it dominates.
    """
    L = ChebyshevLandau(16 * BS.max() * 1.0001, LAM, 33)
    ell, eps = L.functionals(BS)
    f = 1 / (L.nodes + LAM) ** which
    c = L.coefficients(f)
    got = ell @ c
    exact = np.array([(_exact_1 if which == 1 else _exact_2)(b) for b in BS])
    err = np.abs(got - exact)
    np.testing.assert_allclose(got, exact, rtol=1e-8)
    est = np.abs(eps @ c) + L.tail_estimate(ell, c) + 1e-13 * np.abs(exact)
    assert np.all(err <= 2 * est)


def test_small_b_is_the_derivative_at_zero():
    """b ≪ r: S_b = (b²/24) f′(0) − (7/5760) b⁴ f‴(0) + ... (N = 0, no level summed).

    f = 1/(Q+λ): f′(0) = −1/λ², so S_b/b² → −1/(24λ²); at b = 1e-3 λ the b⁴ term
    is 7/5760·6·1e-6/(1/24) ≈ 2e-7 of it; 17 nodes resolve f on [0, 2λ] to ~1e-12.
    """
    b = 1e-3 * LAM
    L = ChebyshevLandau(2 * LAM, LAM, 17)
    assert L.tail_start(b) == (0, 0.0)
    W, _ = L.weights(np.array([b]))
    val = float((W @ (1 / (L.nodes + LAM)))[0])
    assert val / b**2 == pytest.approx(-1 / (24 * LAM**2), rel=1e-6)
    assert val == pytest.approx(_exact_1(b), rel=1e-9)


def test_interpolation_converges_and_its_estimate_bounds_it():
    """A function unresolved on 9 nodes (e^{−Q/λ}/λ): the error falls with n and the
    last-quarter coefficient estimate stays above the true error (against n = 129)."""
    f = lambda Q: np.exp(-Q / LAM) / LAM  # noqa: E731
    Q_hi = 16 * BS.max() * 1.0001
    res, est = {}, {}
    for n in (9, 17, 33, 65, 129):
        L = ChebyshevLandau(Q_hi, LAM, n)
        ell, _ = L.functionals(BS)
        c = L.coefficients(f(L.nodes))
        res[n], est[n] = ell @ c, L.tail_estimate(ell, c)
    ref = res[129]
    errs = [np.max(np.abs(res[n] - ref) / np.abs(ref)) for n in (9, 17, 33, 65)]
    assert all(e2 < e1 for e1, e2 in zip(errs, errs[1:], strict=False))
    for n in (9, 17, 33, 65):
        assert np.all(np.abs(res[n] - ref) <= est[n] + 1e-12 * np.abs(ref))


def test_tail_beyond_interval_is_refused():
    L = ChebyshevLandau(1e-3, 1e-4, 9)
    with pytest.raises(ValueError, match="beyond Q_hi"):
        L.functionals(np.array([1.0]))
    with pytest.raises(ValueError):
        ChebyshevLandau(0.0, 1.0, 9)
