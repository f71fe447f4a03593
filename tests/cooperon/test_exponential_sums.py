"""cooperon.exponential_sums: evaluation, conjugate structure, accurate balanced truncation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cooperon.exponential_sums import (
    BalancedTruncation,
    CompressionError,
    _cauchy_cholesky,
    compress,
    conjugate_structure,
    evaluate,
    oscillation_grid,
)


def _laplace_sum(n: int = 200):
    """x^{-1/2}-like sum: rates geometric over 8 decades (real, positive weights)."""
    a = np.geomspace(1e-6, 1e2, n)
    c = np.sqrt(a) * np.gradient(np.log(a))
    return c.astype(complex), a.astype(complex)


def _damped_cosines(n: int = 60):
    """Σ c_k e^{−a_k x} cos(ω_k x) as conjugate pairs, plus two real terms."""
    rng = np.random.default_rng(3)
    a = 10 ** rng.uniform(-4, -1, n)
    w = rng.uniform(0.0, 0.05, n)
    c = rng.uniform(0.1, 1.0, n) * np.exp(1j * rng.uniform(0, 2 * np.pi, n))
    alpha = np.concatenate([a + 1j * w, a - 1j * w, [0.3, 1e-3]])
    coef = np.concatenate([c / 2, np.conj(c) / 2, [0.2, -0.1]])
    return coef, alpha


def test_evaluate_matches_the_definition():
    c, alpha = _damped_cosines()
    x = np.array([0.0, 0.7, 13.0, 4e3, -13.0])
    want = np.array([np.sum(c * np.exp(-alpha * abs(t))).real for t in x])
    np.testing.assert_allclose(evaluate(c, alpha, x), want, rtol=1e-13, atol=1e-15)


def test_conjugate_structure_finds_pairs_and_rejects_unpaired():
    c, alpha = _damped_cosines(10)
    real, up, down = conjugate_structure(c, alpha)
    assert real.size == 2 and up.size == down.size == 10
    np.testing.assert_allclose(alpha[down], np.conj(alpha[up]))
    with pytest.raises(ValueError, match="conjugation"):
        conjugate_structure(c[:-3], alpha[:-3])
    with pytest.raises(ValueError, match="Re alpha"):
        evaluate([1.0], [-1.0], [0.0])


def test_cauchy_cholesky_reproduces_the_gramian():
    """L L^* = P_jk = b_j b̄_k/(α_j + ᾱ_k) to rounding (entrywise, relative to √(P_jj P_kk))."""
    c, alpha = _damped_cosines(20)
    b = np.sqrt(np.abs(c)).astype(complex)
    L = _cauchy_cholesky(b, alpha, rtol=1e-40)
    P = np.outer(b, np.conj(b)) / (alpha[:, None] + np.conj(alpha)[None, :])
    scale = np.sqrt(np.outer(P.diagonal().real, P.diagonal().real))
    assert np.max(np.abs(L @ L.conj().T - P) / scale) < 1e-12


def test_balanced_truncation_meets_the_hinf_bound():
    """|H(iω) − H_r(iω)| ≤ 2 Σ_{i>r} σ_i for the transfer function H(p) = Σ c/(p + α)."""
    c, alpha = _damped_cosines()
    bt = BalancedTruncation(c, alpha)
    omega = np.concatenate([[0.0], np.geomspace(1e-6, 10, 400)])
    p = 1j * omega
    H = (c[None, :] / (p[:, None] + alpha[None, :])).sum(axis=1)
    for r in (10, 30, 60):
        cr, ar = bt.reduce(r)
        Hr = (cr[None, :] / (p[:, None] + ar[None, :])).sum(axis=1)
        bound = 2 * bt.hsv[r:].sum()
        # the bound is attained only up to rounding of the largest HSV
        assert np.abs(H - Hr).max() <= bound * (1 + 1e-6) + 1e-13 * bt.hsv[0]
        assert (ar.real > 0).all()
        conjugate_structure(cr, ar)


def test_compress_laplace_sum():
    """200 real exponentials (rates over 8 decades, h(0) ≈ 20) → 46 terms for 1e-8 on [0, 1e6].

    The bound 50 is the measured 46 plus margin; on a grid it was not fitted
    on the error stays within 2 atol (the fitting grid has 375 points per
    decade, the sum varies on the scale of a decade).
    """
    c, alpha = _laplace_sum()
    x = np.concatenate([[0.0], np.geomspace(1e-3, 1e6, 3000)])
    target = evaluate(c, alpha, x)
    cr, ar, err, shift = compress(c, alpha, x, target, 1e-8, shifts=(10 / 1e6, 0.0))
    assert err <= 1e-8 and cr.size <= 50
    assert (ar.real >= 0).all()
    xx = np.geomspace(1e-3, 1e6, 7777)
    assert np.abs(evaluate(cr, ar, xx) - evaluate(c, alpha, xx)).max() <= 2e-8


def test_compress_in_chunks_agrees():
    """Chunked compression (each chunk to atol/(4 chunks), then together) meets atol too."""
    c, alpha = _damped_cosines()
    x = oscillation_grid(2e4, [(c, alpha)], 1e-10)
    target = evaluate(c, alpha, x)
    cr, ar, err, _ = compress(c, alpha, x, target, 1e-10, shifts=(5e-4,), chunk=40)
    assert err <= 1e-10
    conjugate_structure(cr, ar)


def test_compress_reports_failure():
    c, alpha = _damped_cosines()
    x = np.linspace(0, 100, 500)
    with pytest.raises(CompressionError, match="atol"):
        compress(c, alpha, x, evaluate(c, alpha, x) + 1e-3 * np.sin(x), 1e-8, max_order=20)


def test_oscillation_grid_resolves_live_terms():
    """Spacing ≤ 2π/(16 ω) while a term of frequency ω is above atol/100."""
    alpha = np.array([1e-3 + 0.5j, 1e-3 - 0.5j])
    c = np.array([0.5, 0.5], dtype=complex)
    x = oscillation_grid(1e5, [(c, alpha)], 1e-10)
    dead = math.log(100 * 0.5 / 1e-10) / 1e-3  # amplitude < atol/100 beyond
    live = x[x < dead / 10]
    assert np.diff(live).max() <= 2 * math.pi / (16 * 0.5) * (1 + 1e-12)
    assert x[0] == 0.0 and x[-1] == 1e5
