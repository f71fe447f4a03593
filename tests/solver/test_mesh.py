"""Meshes (runs of equal steps, nominal steps, double-double positions, refinement), the
stencil tables of the O(N) path, and exponential product-integration weights.

References: exact rational arithmetic (:mod:`fractions`) for positions and distances,
the actual node offsets of the grid for the stencil geometries, composite
Gauss-Legendre quadrature for the weights and mpmath for the cell mass.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from fast_memory import dyadic, graded

from solver.mesh import (
    STEP_RTOL,
    analyse,
    coarsen,
    is_uniform,
    refine,
    stencil_tables,
    stencil_tables_many,
)
from solver.product_weights import cell_weights, mesh_weights, weight_table

EPS = np.finfo(float).eps


def runs_mesh() -> np.ndarray:
    """Runs of 10 cells of 0.1, 1 cell of 0.7, 8 cells of 0.25, 12 cells of 0.05."""
    a = np.linspace(0.0, 1.0, 11)
    b = np.array([1.7])
    c = np.linspace(1.7, 3.7, 9)[1:]
    d = np.linspace(3.7, 4.3, 13)[1:]
    return np.concatenate([a, b, c, d])


RUNS_STARTS = [0, 10, 11, 19, 31]


# ---------------------------------------------------------------------------
# runs and nominal steps
# ---------------------------------------------------------------------------


def test_uniform_grid_is_one_run_with_one_nominal_step():
    t = np.linspace(-3.0, 7.0, 1001)
    mesh = analyse(t)
    assert mesh.run_start.tolist() == [0, 1000]
    assert mesh.uniform and is_uniform(t)
    # nominal step: the run's length over its cells, bit for bit the same in every cell
    assert np.all(mesh.h == (t[-1] - t[0]) / 1000)


def test_runs_of_different_steps():
    t = runs_mesh()
    mesh = analyse(t)
    assert mesh.run_start.tolist() == RUNS_STARTS
    assert not mesh.uniform and not is_uniform(t)
    for a, b in zip(RUNS_STARTS[:-1], RUNS_STARTS[1:], strict=True):
        assert np.all(mesh.h[a:b] == (t[b] - t[a]) / (b - a))


def test_steps_equal_to_rounding_form_one_run():
    # points perturbed by 1e-10 of a step: the steps differ by 2e-10 h < STEP_RTOL h = 1e-8 h
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 5.0, 501)
    t[1:-1] += 1e-10 * 0.01 * rng.uniform(-1, 1, 499)
    mesh = analyse(t)
    assert mesh.run_start.tolist() == [0, 500]
    assert np.all(mesh.h == (t[-1] - t[0]) / 500)


def test_drifting_steps_are_split_into_single_cells():
    # h_k = h (1 + 3e-9 k): neighbouring steps differ by 3e-9 h, less than STEP_RTOL h, but
    # over 200 cells the steps drift by 6e-7 h from the mean: not a run of equal steps.
    # Every cell then is its own run, with its own step as the nominal one.
    h = 0.01 * (1.0 + 3e-9 * np.arange(200))
    assert np.max(np.abs(np.diff(h))) < STEP_RTOL * h[0] < np.ptp(h)
    t = np.concatenate([[0.0], np.cumsum(h)])
    mesh = analyse(t)
    assert mesh.run_start.tolist() == list(range(201))
    assert np.array_equal(mesh.h, np.diff(t))
    assert not is_uniform(t)


def test_smoothly_graded_mesh_is_single_cells():
    t = graded(25)  # steps growing smoothly, no two equal
    mesh = analyse(t)
    assert mesh.run_start.tolist() == list(range(t.size))
    assert np.array_equal(mesh.h, np.diff(t))


# ---------------------------------------------------------------------------
# double-double positions and distances
# ---------------------------------------------------------------------------


def test_distances_accurate_to_rounding_of_the_distance_on_minus_1e8_to_0():
    # a run of 1000 cells of 1e-3 at -1e8 followed by a run of 1000 coarse cells to 0. The points
    # near -1e8 carry rounding errors of ulp(1e8)/2 = 7.5e-9, i.e. 7.5e-6 of a step, so
    # differences of points are wrong at that level; the mesh's distances are sums of nominal
    # steps in double-double and must match the exact (rational) sums to 2 eps of the distance.
    t = np.concatenate(
        [np.linspace(-1e8, -1e8 + 1.0, 1001), np.linspace(-1e8 + 1.0, 0.0, 1001)[1:]]
    )
    mesh = analyse(t)
    assert mesh.run_start.tolist() == [0, 1000, 2000]
    exact = [Fraction(0)]
    for hk in mesh.h:
        exact.append(exact[-1] + Fraction(float(hk)))
    rng = np.random.default_rng(1)
    pairs = [(1, 0), (1000, 999), (1001, 1000), (2000, 0), (2000, 1999), (1500, 3)]
    pairs += [tuple(sorted(rng.integers(0, 2001, 2), reverse=True)) for _ in range(200)]
    worst = 0.0
    for i, j in pairs:
        if i == j:
            continue
        ref = exact[i] - exact[j]
        got = mesh.distance(i, j)
        worst = max(worst, abs(Fraction(float(got)) - ref) / abs(ref))
    assert worst <= 2 * EPS, worst
    # the naive differences of the points are far worse in the fine run (why the mesh exists)
    naive = np.abs(np.diff(t[:1001]) - mesh.h[:1000]) / mesh.h[:1000]
    assert np.max(naive) > 1e-6
    # and the positions agree with the points themselves to the rounding of the points
    x = mesh.xh + mesh.xl
    assert np.max(np.abs(x - (t - t[0]))) <= 2 * np.spacing(1e8)


def test_positions_are_sums_of_nominal_steps():
    t = runs_mesh()
    mesh = analyse(t)
    acc = Fraction(0)
    for i in range(t.size):
        if i:
            acc += Fraction(float(mesh.h[i - 1]))
        assert abs(Fraction(float(mesh.xh[i])) + Fraction(float(mesh.xl[i])) - acc) <= Fraction(
            EPS**2
        ) * (1 + abs(acc))


# ---------------------------------------------------------------------------
# refinement
# ---------------------------------------------------------------------------

MESHES = {
    "uniform": np.linspace(-2.0, 3.0, 21),
    "runs": runs_mesh(),
    "graded": graded(25),
    "dyadic": dyadic(8),
}


@pytest.mark.parametrize("name", MESHES)
@pytest.mark.parametrize("m", [1, 2, 4, 12])
def test_refine_splits_every_cell_into_m_equal_cells(name, m):
    t = MESHES[name]
    r = refine(t, m)
    assert r.size == (t.size - 1) * m + 1
    assert np.array_equal(r[::m], t)  # the user's points, bit for bit
    assert r is not t
    d = np.diff(r).reshape(t.size - 1, m)
    # equal sub-steps within each cell, to the rounding of the points
    assert np.all(np.abs(d - np.diff(t)[:, None] / m) <= 4 * EPS * np.max(np.abs(t)))
    # the refined mesh has the same runs, each m times as long (a single-cell run becomes a run
    # of m equal cells)
    assert analyse(r).run_start.tolist() == (m * analyse(t).run_start).tolist()


# ---------------------------------------------------------------------------
# stencil tables
# ---------------------------------------------------------------------------


def _cell_offsets(t, start, j, p):
    """Actual offsets of the points start .. start+p-1 from t_j in units of the cell j."""
    return (t[start + np.arange(p)] - t[j]) / (t[j + 1] - t[j])


@pytest.mark.parametrize("name", MESHES)
@pytest.mark.parametrize("p", [2, 4, 6, 8])
def test_stencil_geometries_are_the_actual_node_offsets(name, p):
    t = MESHES[name]
    N = t.size
    tab = stencil_tables(analyse(t), p)
    G = tab.h.size
    assert tab.fstart.shape == tab.gfin.shape == (N - 1,)
    assert tab.rstart.shape == (N,) and tab.grow.shape == (N, p - 1)
    assert tab.nodes.shape == (G, p)
    j = np.arange(N - 1)
    n = np.arange(N)
    # final stencils: centred on the cell (clipped at the ends) and containing it
    assert np.array_equal(tab.fstart, np.clip(j - p // 2 + 1, 0, N - p))
    assert np.all((tab.fstart <= j) & (tab.fstart + p - 1 >= j + 1))
    # row stencils end at the row (the starting rows use 0 .. p-1)
    assert np.array_equal(tab.rstart, np.clip(n - p + 1, 0, N - p))
    jrow = n[:, None] - 1 - np.arange(p - 1)[None, :]
    assert np.array_equal(tab.grow < 0, jrow < 0)
    assert np.all((tab.gfin >= 0) & (tab.gfin < G)) and np.all(tab.grow < G)
    # every geometry is the actual shape of each cell that uses it: the points of these
    # meshes come from linspace, so nominal and actual offsets agree to ~1e-14
    tol = 1e-12
    for jj in j:
        g = tab.gfin[jj]
        assert abs(tab.h[g] - (t[jj + 1] - t[jj])) <= tol * tab.h[g]
        assert np.allclose(tab.nodes[g], _cell_offsets(t, tab.fstart[jj], jj, p), rtol=0, atol=tol)
    for nn, kk in zip(*np.nonzero(tab.grow >= 0), strict=True):
        g = tab.grow[nn, kk]
        jj = nn - 1 - kk
        assert abs(tab.h[g] - (t[jj + 1] - t[jj])) <= tol * tab.h[g]
        assert np.allclose(tab.nodes[g], _cell_offsets(t, tab.rstart[nn], jj, p), rtol=0, atol=tol)


@pytest.mark.parametrize("p", [4, 6])
def test_geometries_are_shared_within_runs(p):
    # weights are computed once per geometry: their number must not grow with the length of the
    # runs (uniform: p canonical shapes + the clipped cells at the ends; dyadic: the same per run)
    for make in (lambda k: np.linspace(0.0, 1.0, 20 * k + 1), lambda k: dyadic(8 * k)):
        counts = {stencil_tables(analyse(make(k)), p).h.size for k in (1, 4, 16)}
        assert len(counts) == 1, counts


@pytest.mark.parametrize("name", MESHES)
@pytest.mark.parametrize("p", [2, 4, 6, 8])
def test_tables_of_several_meshes_at_once_are_those_of_each_alone(name, p):
    # a Richardson family (t, t[::2], t[::4] of a refined grid) and an unrelated mesh: one pass
    # over all of them gives each the tables it gets alone, bit for bit (its weights, computed
    # from its own geometries, are then its own too)
    fine = refine(MESHES[name], 4)
    meshes = [analyse(fine), analyse(fine[::2]), analyse(fine[::4]), analyse(MESHES["runs"])]
    for mesh, tab in zip(meshes, stencil_tables_many(meshes, p), strict=True):
        alone = stencil_tables(mesh, p)
        for f in ("fstart", "gfin", "rstart", "grow", "h", "nodes"):
            assert np.array_equal(getattr(tab, f), getattr(alone, f)), f
            assert getattr(tab, f).dtype == getattr(alone, f).dtype, f


@pytest.mark.parametrize("name", MESHES)
@pytest.mark.parametrize("m", [4, 8, 12])
@pytest.mark.parametrize("k", [2, 4])
def test_coarsened_mesh_is_the_analysis_of_the_coarse_grid_bit_for_bit(name, m, k):
    # refine(t, m) has runs of m cells per cell of t: t[::k] is a sub-mesh for k | m, with
    # k times the steps and the same double-double positions; shifted far from 0 the
    # positions carry the double-double low parts
    for shift in (0.0, -1e6):
        fine = refine(MESHES[name] + shift, m)
        mesh = analyse(fine)
        c = coarsen(mesh, k)
        ref = analyse(fine[::k])
        for f in ("t", "h", "run_start", "xh", "xl"):
            assert np.array_equal(getattr(c, f), getattr(ref, f)), f
    assert coarsen(mesh, 1) is mesh


def test_coarsen_declines_where_the_coarse_grid_is_no_sub_mesh():
    mesh = analyse(MESHES["runs"])  # a run of one cell of 0.7 from point 10 to 11
    assert coarsen(mesh, 2) is None
    fine = analyse(refine(MESHES["uniform"], 4))
    assert coarsen(fine, 3) is None  # (not a power of 2)
    assert coarsen(analyse(np.linspace(0.0, 1.0, 12)), 2) is None  # 11 cells


def test_stencil_tables_need_p_points():
    with pytest.raises(ValueError, match="at least 6 grid points"):
        stencil_tables(analyse(np.linspace(0, 1, 5)), 6)


# ---------------------------------------------------------------------------
# product weights
# ---------------------------------------------------------------------------

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


def _lagrange(nodes, x):
    """Values ``L_i(x)``, shape (p, len(x))."""
    out = np.empty((nodes.size, x.size))
    for i in range(nodes.size):
        others = np.delete(nodes, i)
        out[i] = np.prod((x[:, None] - others) / (nodes[i] - others), axis=1)
    return out


def reference_weights(z: complex, nodes: np.ndarray, right: bool):
    """``∫_0^1 e^{z (x - x_a)} L_i(x) dx`` by composite 16-point Gauss-Legendre, and the scale.

    Integrated in the distance ``u = |x - x_a|`` from the anchor (``e^{-z u}`` or
    ``e^{z u}``, accurate also where ``|z| u`` is large; ``x - 1`` would lose
    digits near ``x = 1``), on pieces graded geometrically towards both ends
    (``2^-k``, down to 1e-12: resolves ``e^{-|z| u}`` for ``|z|`` up to 1e11)
    and uniform pieces of at most ``1/(2 |Im z|)`` (oscillations). Also returns
    ``∫ |e^{z (x - x_a)}| dx`` and ``max_i max_[0,1] |L_i|``, the scale of the
    weights' rounding errors.
    """
    g = 2.0 ** -np.arange(41)
    n_uni = int(min(4000, max(8, 2 * abs(z.imag))))
    b = np.unique(np.concatenate([g, 1 - g, np.linspace(0, 1, n_uni + 1)]))
    lo, hi = b[:-1], b[1:]
    u = (0.5 * (hi - lo)[:, None] * (_GL_X + 1) + lo[:, None]).ravel()
    w = (0.5 * (hi - lo)[:, None] * _GL_W).ravel()
    e = np.exp(-z * u) if right else np.exp(z * u)
    x = 1.0 - u if right else u
    L = _lagrange(nodes, x)
    lam = np.max(np.abs(_lagrange(nodes, np.linspace(0, 1, 201))))
    return (L * e * w).sum(axis=1), float(np.sum(np.abs(e) * w)), max(1.0, lam)


def exact_cell_mass(z: complex, right: bool) -> complex:
    """``∫_0^1 e^{z (x - x_a)} dx`` in 50-digit arithmetic."""
    with mpmath.workdps(50):
        zz = mpmath.mpc(z.real, z.imag)
        if zz == 0:
            return 1.0 + 0j
        xa = 1 if right else 0
        return complex((mpmath.exp(zz * (1 - xa)) - mpmath.exp(-zz * xa)) / zz)


# nodes: the canonical interior offsets for p = 2..8, the one-sided offsets of a uniform row,
# and shapes of cells at the ends of runs and on graded meshes (from stencil_tables)
NODE_SETS = [
    np.arange(2.0),
    np.arange(4.0) - 1,
    np.arange(6.0) - 2,
    np.arange(8.0) - 3,
    np.arange(6.0) - 5,
    np.array([-1.5, -5.0 / 6.0, 0.0, 1.0]),
    np.array([-10.0, -5.0, 0.0, 1.0]),
    np.array([0.0, 1.0, 7.0 / 3.0, 4.0]),
]
# right anchor for Re z >= 0 (the weights of e^{-mu (t - s)} with Re mu >= 0), left for Re z < 0:
# small (backward recurrence), around the switch |z| = p, large, oscillating
Z_RIGHT = [0.0, 1e-9, 1e-3, 0.5, 3 + 4j, 6.5, 40.0, 1e3, 1e3 + 1e3j, 5e4, 50j, 0.2 - 30j]
Z_LEFT = [-1e-3, -0.5, -6.5 + 2j, -40.0, -1e3, -3e4 + 10j]
CASES = [(z, True) for z in Z_RIGHT] + [(z, False) for z in Z_LEFT]


@pytest.mark.parametrize("z,right", CASES)
def test_mesh_weights_against_gauss_legendre(z, right):
    # measured: |W - ref| <= 2.2 eps ∫|e^{z(x-x_a)}| max|L_i| over all cases; 10 eps leaves room
    # for the reference's own rounding. (Relative to each weight the error can be larger: the
    # weights of nodes where e^{z(x-x_a)} is negligible are O(1/z^2) and carry an absolute
    # error of O(eps/z), harmless since the weights multiply values of size max|y|.)
    z = complex(z)
    for nodes in NODE_SETS:
        W = mesh_weights([z], nodes[None, :], right)[0]
        ref, emass, lam = reference_weights(z, nodes, right)
        assert np.max(np.abs(W - ref)) <= 10 * EPS * emass * lam, (nodes, W, ref)


@pytest.mark.parametrize("z,right", CASES)
def test_weights_sum_to_the_exact_cell_mass(z, right):
    # the weights are shifted so that they sum to ∫_0^1 e^{z(x-x_a)} dx: a constant is then
    # integrated to rounding. Summing p weights rounds by a few ulp of the largest one (measured
    # <= 2.7 eps max|W|; where weights of both signs nearly cancel, e.g. z = 50i with the
    # one-sided stencil, max|W| is 75 |mass|, so the bound is in units of max|W|)
    z = complex(z)
    mass = exact_cell_mass(z, right)
    for nodes in NODE_SETS:
        W = mesh_weights([z], nodes[None, :], right)[0]
        assert abs(W.sum() - mass) <= 4 * EPS * max(abs(mass), np.max(np.abs(W))), nodes


@pytest.mark.parametrize("p", [2, 4, 6, 8])
@pytest.mark.parametrize("z,right", [(0.3 + 2j, True), (25.0, True), (-0.7, False), (-80j, False)])
def test_cell_weights_are_the_uniform_offsets(p, z, right):
    # row o + p - 1 holds the weights of the points o .. o + p - 1, o = -(p-1) .. 0
    W = cell_weights(z, p, right)
    assert W.shape == (p, p)
    for oi in range(p):
        nodes = np.arange(p, dtype=float) + (oi - (p - 1))
        ref, emass, lam = reference_weights(complex(z), nodes, right)
        assert np.max(np.abs(W[oi] - ref)) <= 10 * EPS * emass * lam


def test_weight_table_equals_cell_by_cell_weights():
    # the table computes moments once per step and Lagrange coefficients once per stencil
    # shape; it must give the weights of mesh_weights cell by cell: with repeated steps and
    # shapes, shapes that differ by 1e-15 and by 1e-9 (the latter must not share weights),
    # right and left anchors. Both evaluate the same formulas in another order: 1e-14 of the
    # largest weight of the cell.
    rng = np.random.default_rng(7)
    base = np.array([n for n in NODE_SETS if n.size == 4])
    nodes = np.vstack([base[rng.integers(0, len(base), 40)], base[:2] + 1e-15, base[:2] + 1e-9])
    h = rng.choice([0.25, 0.5, 1.0, 64.0], nodes.shape[0])
    mu = np.array([1.0, 1.0 + 10j, 1e-9, 0.3 - 2j, -0.5 + 1j, -40.0])
    right = mu.real >= 0
    W = weight_table(mu, right, h, nodes)
    for k in range(mu.size):
        ref = mesh_weights(mu[k] * h, nodes, right[k]) * h[:, None]
        scale = np.max(np.abs(ref), axis=1, keepdims=True)
        assert np.max(np.abs(W[k] - ref) / scale) <= 1e-14, k


def test_weight_table_on_many_cell_shapes_is_cell_by_cell():
    # above solver.product_weights._JIT_ROWS shapes (a smoothly graded mesh) the table is
    # formed shape by shape in chunks, with compiled Lagrange coefficients: the same weights
    from solver import product_weights

    rng = np.random.default_rng(3)
    G = product_weights._JIT_ROWS + 1000
    nodes = np.sort(rng.uniform(-5.0, 2.0, (G, 6)), axis=1)
    h = rng.uniform(0.1, 10.0, G)
    mu = np.array([1.0 + 2j, -0.3])
    W = weight_table(mu, mu.real >= 0, h, nodes)
    for k in range(mu.size):
        ref = mesh_weights(mu[k] * h, nodes, mu[k].real >= 0) * h[:, None]
        scale = np.max(np.abs(ref), axis=1, keepdims=True)
        assert np.max(np.abs(W[k] - ref) / scale) <= 1e-12, k


def test_weight_table_products_agree_with_and_without_blas(monkeypatch):
    # the (step, stencil) contraction uses BLAS for small products and einsum above
    # product_weights._SMALL_GEMM: the same sums in another order, 1e-14 of each cell's weights
    from solver import product_weights

    t = np.concatenate([np.linspace(-64.0, -16.0, 13), np.linspace(-15.0, 0.0, 16)])
    tab = stencil_tables(analyse(t), 6)
    mu = np.array([1.0 + 2j, 0.3, 1.0 - 0.5j, -0.2 + 1j])
    small = weight_table(mu, mu.real >= 0, tab.h, tab.nodes)
    monkeypatch.setattr(product_weights, "_SMALL_GEMM", 0)
    large = weight_table(mu, mu.real >= 0, tab.h, tab.nodes)
    scale = np.max(np.abs(small), axis=2, keepdims=True)
    assert np.max(np.abs(small - large) / scale) <= 1e-14
    for k in range(mu.size):
        ref = mesh_weights(mu[k] * tab.h, tab.nodes, mu[k].real >= 0) * tab.h[:, None]
        assert np.max(np.abs(small[k] - ref) / scale[k]) <= 1e-14, k
