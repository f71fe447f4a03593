"""Exponential product-integration weights on a cell of any mesh (NumPy, vectorised over cells).

For a kernel term ``exp(-mu (t - s))`` the integral over one cell
``[s_c, s_c + h]`` is taken exactly against the Lagrange interpolant of the
integrand's smooth factor through ``p`` mesh points ``s_c + x_i h`` (``x_i``
in cell-local coordinates, the cell is ``[0, 1]``):

    ∫_{s_c}^{s_c+h} e^{-mu (t - s)} y(s) ds ≈ e^{-mu (t - s_a)} h Σ_i Ω_i(z, x) y(s_c + x_i h),

with ``z = mu h`` and the anchor ``s_a`` the cell's right end when
``Re mu >= 0`` (``Ω_i = ∫_0^1 e^{z (x - 1)} L_i(x) dx``) and its left end
otherwise (``Ω_i = ∫_0^1 e^{z x} L_i(x) dx``), so that ``|e^{...}| <= 1``
inside the cell. The step is then limited by the smoothness of ``y`` alone,
however fast the exponential: the weights integrate ``e^{-mu (t - s)}`` times
every polynomial of degree ``p - 1`` exactly, for any ``z``.

The weights are ``Ω_i = Σ_k C_ik M_k`` with ``C_ik`` the coefficients of
``L_i`` in powers of ``u = x - x_a`` and ``M_k`` the exponential moments
``∫ e^{z u} u^k du`` over the cell, ``(-1)^k N_k(z)`` (right) or
``N_k(-z)`` (left), ``N_k(w) = ∫_0^1 e^{-w v} v^k dv``: by the forward
recurrence ``N_k = (k N_{k-1} - e^{-w})/w`` where it is stable (``|w| > p``)
and by the backward recurrence ``N_k = (w N_{k+1} + e^{-w})/(k+1)`` otherwise.
Finally the weights are shifted so that they sum exactly to the cell's
integral of the exponential alone: a constant is then integrated to rounding
of one operation, which matters for equations whose solution is amplified by
a small ``1 - (kernel mass)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["mesh_weights", "weight_table", "cell_weights"]

#: start of the backward recurrence above the highest moment (damping (|w|/k)^30)
_BACKWARD_EXTRA = 30


def mesh_weights(z, nodes, right_anchor) -> np.ndarray:
    """Product weights ``Ω[g, i]`` of many cells at once.

    Parameters
    ----------
    z : array_like, shape (G,)
        ``mu h`` of each cell.
    nodes : array_like, shape (G, p)
        Interpolation nodes of each cell in cell-local coordinates (the cell
        is ``[0, 1]``; nodes may lie outside it).
    right_anchor : bool or array_like of bool, shape (G,)
        Anchor the exponential at the cell's right end (for ``Re mu >= 0``)
        or at its left end.

    Returns
    -------
    ndarray, shape (G, p), complex
        ``∫_0^1 e^{z (x - x_a)} L_i(x) dx`` with ``x_a = 1`` (right) or ``0``
        (left); multiply by the cell length ``h``.
    """
    z = np.atleast_1d(np.asarray(z, dtype=complex))
    nodes = np.atleast_2d(np.asarray(nodes, dtype=float))
    right = np.broadcast_to(np.asarray(right_anchor, dtype=bool), z.shape)
    p = nodes.shape[1]
    out = np.empty((z.size, p), dtype=complex)
    for anchor in (True, False):
        sel = right == anchor
        if np.any(sel):
            C = _lagrange_coefficients(nodes[sel], 1.0 if anchor else 0.0)
            M = _moments(z[sel], p, anchor)
            out[sel] = _shifted(np.einsum("gik,gk->gi", C, M), M[:, 0])
    return out


def weight_table(mu, right, h, nodes) -> np.ndarray:
    """``W[τ, g, i] = h_g Ω_i(μ_τ h_g)``: weights of every term ``τ`` on every cell shape ``g``.

    ``mu`` (T,) complex rates, ``right`` (T,) anchors, ``h`` (G,) steps and
    ``nodes`` (G, p) cell-local nodes; see :func:`mesh_weights`. The moments
    depend on the step only and the Lagrange coefficients on the node offsets
    only: each is computed once per distinct step and per distinct stencil,
    and their products once per (step, stencil) pair that occurs (at most G:
    on a smoothly graded mesh every cell is its own pair, as cell by cell).
    """
    mu = np.atleast_1d(np.asarray(mu, dtype=complex))
    right = np.broadcast_to(np.asarray(right, dtype=bool), mu.shape)
    h = np.asarray(h, dtype=float)
    nodes = np.asarray(nodes, dtype=float)
    p = nodes.shape[1]
    W = np.empty((mu.size, h.size, p), dtype=complex)
    if h.size > _JIT_ROWS:
        # many cell shapes (a smoothly graded mesh): sorting them out costs more than it
        # saves, the weights are those of each cell, in chunks (bounded memory)
        for g0 in range(0, h.size, _JIT_ROWS):
            g = slice(g0, g0 + _JIT_ROWS)
            for k in range(mu.size):
                W[k, g] = mesh_weights(mu[k] * h[g], nodes[g], right[k]) * h[g, None]
        return W
    steps, hid = np.unique(h, return_inverse=True)
    hid = hid.ravel()
    shapes, sid = _distinct_rows(nodes)
    S, P = steps.size, shapes.shape[0]
    pairs, pid = np.unique(hid * P + sid, return_inverse=True)
    # every (step, stencil) combination at once when the pairs that occur are most of them
    # (graded meshes: steps and stencils repeat from run to run), else the pairs alone
    every = S * P <= 2 * pairs.size
    for anchor in (True, False):
        sel = np.flatnonzero(right == anchor)
        if sel.size == 0:
            continue
        C = _cached_coefficients(shapes, 1.0 if anchor else 0.0)  # (P, p, p)
        # moments times the step: the weights h Ω come out of the products directly
        M = _moments(mu[sel, None] * steps[None, :], p, anchor) * steps[None, :, None]
        if every:
            # B[t, s, g, i] = sum_k M[t, s, k] C[g, i, k]: two real products. BLAS only
            # for products small enough to stay on one thread (a threaded gemm can take
            # milliseconds when the cores are busy), einsum above: a 17-term kernel on 320
            # shapes took 1.03 ms with BLAS, 1.33 ms with einsum, 1.44 ms with the complex
            # einsum over the pairs
            Ck = C.transpose(2, 0, 1).reshape(p, P * p)
            Mk = M.reshape(-1, p)
            B = np.empty((Mk.shape[0], P * p), dtype=complex)
            if Mk.shape[0] * Ck.size <= _SMALL_GEMM:
                B.real = Mk.real @ Ck
                B.imag = Mk.imag @ Ck
            else:
                B.real = np.einsum("tk,kg->tg", Mk.real, Ck)
                B.imag = np.einsum("tk,kg->tg", Mk.imag, Ck)
            B = B.reshape(sel.size, S, P, p)
            raw = B[:, hid, sid, :]  # (terms, G, p)
        else:
            # A[t, q, i] = sum_k M[t, step(q), k] C[stencil(q), i, k] for the pairs q
            A = np.einsum("tqk,qik->tqi", M[:, pairs // P], C[pairs % P])
            raw = np.take(A, pid.ravel(), axis=1)  # (terms, G, p)
        raw = _shifted(raw, M[:, hid, 0])
        if sel.size == mu.size:
            return raw  # (one anchor for every term)
        W[sel] = raw
    return W


def _distinct_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``a`` and the index of each row among them.

    Rows are grouped by a 1-D key (a fixed linear combination) and every row is
    checked against its group's representative, row by row: rows of stencil
    offsets whose keys coincide and that differ by rounding of the mesh
    positions (1e-13 of the row's size) share one representative, which changes
    their weights by rounding only. If a group mixed rows that differ by more,
    the exact ``np.unique(axis=0)`` is used instead.
    """
    key = np.einsum("gi,i->g", a, 1.0 + np.arange(a.shape[1]) * np.sqrt(2.0))
    order = np.argsort(key)
    ks = key[order]
    new = np.empty(ks.size, dtype=bool)
    new[:1] = True
    np.not_equal(ks[1:], ks[:-1], out=new[1:])
    inv = np.empty(key.size, dtype=np.intp)
    inv[order] = np.cumsum(new) - 1
    rows = a[order[new]]
    dev = np.max(np.abs(rows[inv] - a), axis=1, initial=0.0)
    if np.any(dev > 1e-13 * (1.0 + np.max(np.abs(a), axis=1, initial=0.0))):
        rows, inv = np.unique(a, axis=0, return_inverse=True)
        inv = inv.ravel()
    return rows, inv


def _cached_coefficients(nodes: np.ndarray, xa: float) -> np.ndarray:
    """:func:`_lagrange_coefficients`, remembered for recent ``(nodes, xa)`` (the meshes of
    one problem, and of neighbouring problems, share their stencil shapes)."""
    return _coefficients_of(nodes.tobytes(), nodes.shape, xa)


@lru_cache(maxsize=32)
def _coefficients_of(buf: bytes, shape: tuple[int, int], xa: float) -> np.ndarray:
    C = _lagrange_coefficients(np.frombuffer(buf, dtype=float).reshape(shape), xa)
    C.setflags(write=False)
    return C


#: largest m·k·n of a real matrix product handed to BLAS (OpenBLAS keeps products below
#: ~2.6e5 on one thread)
_SMALL_GEMM = 200_000

#: above this many stencils the Lagrange coefficients come from a compiled loop
_JIT_ROWS = 4096


def _lagrange_coefficients(nodes: np.ndarray, xa: float) -> np.ndarray:
    """``C[g, i, k]``: coefficients of the Lagrange polynomial ``L_i`` of ``nodes[g]`` in
    powers of ``(x - xa)``; ``nodes`` has shape (G, p).

    ``L_i`` is built as the product of ``(u - (x_m - xa))`` over ``m != i``
    (``u = x - xa``), divided by ``Π (x_i - x_m)``; NumPy over the stencils for a
    few thousand of them, :mod:`solver._lagrange_core` (the same arithmetic,
    compiled) for more.
    """
    G, p = nodes.shape
    if G >= _JIT_ROWS:
        from ._lagrange_core import lagrange_coefficients

        return lagrange_coefficients(np.ascontiguousarray(nodes, dtype=float), float(xa))
    u = nodes - xa
    C = np.empty((G, p, p))
    for i in range(p):
        c = [np.ones(G)] + [np.zeros(G) for _ in range(p - 1)]
        den = np.ones(G)
        deg = 0
        for m in range(p):
            if m == i:
                continue
            r = u[:, m]
            for k in range(deg + 1, 0, -1):
                c[k] = c[k - 1] - r * c[k]
            c[0] = -r * c[0]
            deg += 1
            den = den * (nodes[:, i] - nodes[:, m])
        for k in range(p):
            C[:, i, k] = c[k] / den
    return C


def _moments(z: np.ndarray, p: int, right: bool) -> np.ndarray:
    """Moments ``∫_0^1 e^{z (x - x_a)} (x - x_a)^k dx``, ``k < p``, shape ``z.shape + (p,)``.

    With ``w = z`` (right anchor) or ``-z`` (left), the moments are
    ``(-1)^k N_k(w)`` or ``N_k(w)``, ``N_k(w) = ∫_0^1 e^{-w v} v^k dv``. The
    zeroth, ``N_0(w) = (1 - e^{-w})/w``, is the cell mass: from the forward
    recurrence it is that formula, from the backward one (``|w| <= p``) it is
    free of the cancellation of ``1 - e^{-w}``.
    """
    w = z if right else -z
    ew = np.exp(-w)
    M = np.empty(w.shape + (p,), dtype=complex)
    big = np.abs(w) > p
    if np.any(big):  # forward recurrence, stable for |w| > p
        wb, eb = w[big], ew[big]
        m = (1.0 - eb) / wb
        M[big, 0] = m
        for k in range(1, p):
            m = (k * m - eb) / wb
            M[big, k] = m
    small = ~big
    if np.any(small):  # backward recurrence, started _BACKWARD_EXTRA orders higher
        ws, es = w[small], ew[small]
        acc = np.zeros(ws.shape, dtype=complex)
        for k in range(p + _BACKWARD_EXTRA - 1, -1, -1):
            acc = (ws * acc + es) / (k + 1)
            if k < p:
                M[small, k] = acc
    if right:
        M[..., 1::2] *= -1.0
    return M


def _shifted(raw: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """The weights shifted equally so that they sum to the cell mass exactly."""
    p = raw.shape[-1]
    total = raw[..., 0].copy()
    for i in range(1, p):  # (a reduction over a short last axis is slow in NumPy)
        total += raw[..., i]
    raw += ((mass - total) / p)[..., None]  # (raw is the caller's scratch array)
    return raw


@lru_cache(maxsize=64)
def _offset_nodes(p: int) -> np.ndarray:
    """Nodes ``o .. o + p - 1`` for the offsets ``o = -(p-1) .. 0``, shape (p, p)."""
    return np.arange(p)[None, :] - np.arange(p - 1, -1, -1)[:, None].astype(float)


def cell_weights(z: complex, p: int, right_anchor: bool) -> np.ndarray:
    """Weights ``Ω[o_index, i]`` of a uniform grid for all offsets ``o = -(p-1) .. 0``.

    Row ``o_index = o + p - 1`` holds the weights of the points ``o .. o + p - 1``
    (cell-local coordinates, the cell is ``[0, 1]``); see :func:`mesh_weights`.
    """
    nodes = _offset_nodes(p)
    return mesh_weights(np.full(p, complex(z)), nodes, right_anchor)
