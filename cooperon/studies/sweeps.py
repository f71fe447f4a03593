"""Parameter sweeps: the direct solution of Eq. (24) against the closed forms on a grid.

:func:`sweep` evaluates :func:`~cooperon.studies.comparison.compare_point`
-- F(0) from Eq. (24) solved directly, from the closed form (32) as printed
and from (27) with the WKB resolvent (31), their relative deviations, λ_max
of Eq. (25) -- at every point of the Cartesian product of one-dimensional
axes in the five parameters of :class:`cooperon.Parameters`, and returns a
labelled :class:`xarray.Dataset`.

What happens, in order
----------------------
1. *Checks, before any work*: the configuration (:mod:`.config`), the size
   of the result against the memory available (a grid that would not fit is
   refused with the numbers), the output paths (their directories must exist
   and be writable; nothing is created), an existing store (same
   configuration: resumed; another one: refused with a diff, unless
   ``restart``), the scheduler (a distributed address is tried for a few
   seconds).  Every refusal is a ``ValueError`` in one line (plus the diff),
   and nothing has been written.
2. *Warm-up and estimate*: a few grid points are computed here (this
   compiles the Numba code, which forked workers then inherit), and their
   cost gives the time estimate printed with the grid size and memory.
3. *The run*: the grid is cut into chunks (hyper-rectangles of grid points),
   one task each, submitted through :func:`.execution.run_tasks` to the
   workers (:func:`.execution.open_workers`: local processes, threads, this
   process, or a dask.distributed cluster -- the numbers are identical with
   every choice).  Each finished chunk is written (to the store, then
   recorded as done; or into memory) and reported to the progress bar and to
   ``on_chunk``.
4. *Interrupted* (Ctrl-C): pending chunks are cancelled, the workers
   stopped, and :class:`SweepInterrupted` says how many chunks the store
   keeps; running the same sweep again computes only the others.

The per-point outputs, their attributes and statuses are those of
:mod:`.comparison` and :mod:`.schema`; the store layout is :mod:`.store`.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .comparison import VARIABLES, compare_point
from .config import PARAMETER_NAMES, SweepConfig
from .execution import Workers, open_workers, run_tasks
from .io import check_output_dir, check_output_file, write_netcdf
from .schema import (
    PARAMETER_ATTRS,
    empty_arrays,
    provenance,
    record_variables,
    variable_attrs,
)
from .store import FINGERPRINT_ATTR, StoreMismatchError, SweepStore, check_store

__all__ = [
    "MAX_CHUNK_POINTS",
    "SweepInterrupted",
    "SweepPlan",
    "check_sweep_store",
    "compute_chunk",
    "plan_sweep",
    "resolve_chunks",
    "run_sweep",
    "sweep",
]

#: Largest number of grid points per chunk chosen automatically.
MAX_CHUNK_POINTS = 64
#: Smallest number of grid points per chunk chosen automatically.
MIN_CHUNK_POINTS = 4
#: Points per chunk are chosen so that a grid has at least this many chunks.
MIN_CHUNKS = 32
#: Grid points computed in this process before the run (warm-up, time estimate).
N_SAMPLES = 3

ChunkIndex = tuple[int, ...]
OnChunk = Callable[[ChunkIndex, int], None]

_OUTPUTS = record_variables(VARIABLES)


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C (a :class:`KeyboardInterrupt`), with what it kept.

    Attributes
    ----------
    kept, total : int
        Chunks recorded as done in the store (read back from it) and chunks
        of the grid.
    store : pathlib.Path or None
    created : bool
        Whether the store existed when the sweep was interrupted.
    """

    def __init__(self, kept: int, total: int, store: Path | None, created: bool = True) -> None:
        self.kept, self.total, self.store, self.created = kept, total, store, created
        if store is None:
            text = f"interrupted: {total} chunks, none kept (no store given)"
        elif not created:
            text = f"interrupted before {str(store)!r} was created: {total} chunks, none kept"
        else:
            text = (
                f"interrupted: {kept} of {total} chunks kept in {str(store)!r}; run the "
                "same sweep again to compute only the others"
            )
        super().__init__(text)

    def what_is_kept(self) -> str:
        """A short phrase for command-line messages: what the store keeps."""
        if self.created:
            return f"{self.kept} of {self.total} chunks of {str(self.store)!r} kept"
        return f"{str(self.store)!r} not created yet"


class ChunkRun:
    """The state of one run over the chunks of a store: its progress bar and store.

    Used as a context manager around the computing part of :func:`run_sweep`
    and of the temperature scans (:mod:`.temperature`): on Ctrl-C it closes
    the bar, cancels the workers it owns and raises :class:`SweepInterrupted`
    with the chunks the store keeps; on any other error it cancels them; in
    every case it closes the bar and the owned workers.
    """

    def __init__(self, workers: Workers, own: bool, n_chunks: int, path: Path | None) -> None:
        self.workers, self.own, self.n_chunks, self.path = workers, own, n_chunks, path
        self.bar: Any = None
        self.sink: SweepStore | None = None
        self.n_new = 0

    def start_bar(self, total: int, done: int, desc: str, unit: str, progress: bool) -> None:
        """The tqdm progress bar on stderr (``done`` of ``total`` already finished)."""
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            initial=done,
            desc=desc,
            unit=unit,
            disable=not progress,
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def __enter__(self) -> ChunkRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.bar is not None:
            self.bar.close()
        if exc_type is not None and self.own:
            self.workers.close(cancel=True)
        elif self.own:
            self.workers.close()
        self.own = False
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            kept = self.sink.count_done() if self.sink is not None else 0
            raise SweepInterrupted(
                kept, self.n_chunks, self.path, created=self.sink is not None
            ) from None

    def load(self, attrs: Mapping[str, Any]) -> xr.Dataset:
        """The store's dataset, its history extended when this run resumed it."""
        assert self.sink is not None
        ds = self.sink.load()
        if self.sink.run > 1:  # a resumed sweep: say so in the history of the result
            ds.attrs["history"] = (
                f"{ds.attrs['history']}\n{attrs['history']} (run {self.sink.run} on this "
                f"store: {self.n_new} of {self.n_chunks} chunks computed)"
            )
        return ds


# ---------------------------------------------------------------------------
# chunks and the per-chunk task (label-free, runs on the workers)
# ---------------------------------------------------------------------------


def resolve_chunks(cfg: SweepConfig) -> dict[str, int]:
    """Chunk size per axis: ``cfg.chunks`` clipped to the axis, or an automatic choice.

    Automatic: whole axes, halving the largest chunk until a chunk holds at
    most ``clip(n_points // MIN_CHUNKS, MIN_CHUNK_POINTS, MAX_CHUNK_POINTS)``
    points -- at least :data:`MIN_CHUNKS` chunks on large grids (load balance,
    a fine progress bar, little work lost on a crash), at most 64 points (a
    fraction of a second to a few seconds of work) per task.  The choice
    depends on the grid only (not on the machine), so a store made anywhere
    resumes anywhere.
    """
    sizes = dict(zip(cfg.names, cfg.shape, strict=True))
    if cfg.chunks is not None:
        return {n: min(cfg.chunks.get(n, s), s) for n, s in sizes.items()}
    target = min(max(math.prod(sizes.values()) // MIN_CHUNKS, MIN_CHUNK_POINTS), MAX_CHUNK_POINTS)
    out = dict(sizes)
    while math.prod(out.values()) > target:
        n = max(out, key=lambda k: out[k])
        if out[n] == 1:
            break
        out[n] = (out[n] + 1) // 2
    return out


def _region(index: ChunkIndex, sizes: Sequence[int], shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(
        slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, sizes, shape, strict=True)
    )


def compute_chunk(
    names: Sequence[str],
    values: Sequence[np.ndarray],
    fixed: Mapping[str, float],
    rtol: float,
) -> dict[str, np.ndarray]:
    """Evaluate one chunk of the grid (a task; plain arrays in and out).

    Parameters
    ----------
    names
        Axis names, in dimension order.
    values
        The axis values of this chunk, one 1-D array per axis.
    fixed
        The other parameters.
    rtol
        Requested relative accuracy of the direct F(0) of Eq. (24).

    Returns
    -------
    dict
        One array of the chunk's shape per output (the variables of
        :data:`~cooperon.studies.comparison.VARIABLES`, ``status`` int8,
        ``message`` str).  Deterministic: the same inputs give bit-identical
        outputs in any process.
    """
    shape = tuple(len(v) for v in values)
    out = empty_arrays(shape, VARIABLES)
    for idx in np.ndindex(*shape):
        point = dict(fixed)
        for n, v, i in zip(names, values, idx, strict=True):
            point[n] = float(v[i])
        vals, status, message = compare_point(point, rtol)
        for k, v in vals.items():
            out[k][idx] = v
        out["status"][idx] = status
        out["message"][idx] = message
    return out


# ---------------------------------------------------------------------------
# the plan: sizes, memory, time
# ---------------------------------------------------------------------------


def _bytes_per_point() -> int:
    """Bytes of the in-memory result per grid point (string messages as references)."""
    return sum(np.dtype(v.dtype).itemsize for v in VARIABLES) + 1 + 8


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def _fmt_seconds(s: float) -> str:
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do: grid and chunk sizes, memory, chunks left to compute."""

    names: tuple[str, ...]
    shape: tuple[int, ...]
    chunk_shape: tuple[int, ...]
    n_chunks: int
    memory: int
    available: int | None

    @property
    def n_points(self) -> int:
        """Points of the grid."""
        return math.prod(self.shape)

    @property
    def counts(self) -> tuple[int, ...]:
        """Chunks along each axis."""
        return tuple(math.ceil(n / c) for n, c in zip(self.shape, self.chunk_shape, strict=True))

    def describe(
        self, todo: int, todo_points: int, seconds_per_point: float | None, workers: Workers
    ) -> str:
        """One line: grid, chunks, memory and the time estimate."""
        grid = " × ".join(map(str, self.shape))
        line = (
            f"{grid} = {self.n_points} points ({' × '.join(self.names)}) in {self.n_chunks} "
            f"chunks of {' × '.join(map(str, self.chunk_shape))}, {todo} to compute; "
            f"result {_fmt_bytes(self.memory)}"
        )
        if self.available is not None:
            line += f" ({_fmt_bytes(self.available)} available)"
        if seconds_per_point is not None and todo:
            eta = todo_points * seconds_per_point / workers.n_workers
            line += (
                f"; about {_fmt_seconds(eta)} on {workers.description} "
                f"({1e3 * seconds_per_point:.1f} ms per point from {N_SAMPLES} samples)"
            )
        return line


def plan_sweep(cfg: SweepConfig) -> SweepPlan:
    """Sizes of the sweep ``cfg``; refuses a grid whose result would not fit in memory.

    The memory needed is twice the result arrays (the arrays and one copy,
    e.g. while writing NetCDF).

    Raises
    ------
    ValueError
        ``"grid: ..."`` with the numbers, if that exceeds the memory available.
    """
    sizes = resolve_chunks(cfg)
    shape = cfg.shape
    chunk_shape = tuple(sizes[n] for n in cfg.names)
    counts = [math.ceil(n / c) for n, c in zip(shape, chunk_shape, strict=True)]
    n_points = math.prod(shape)
    memory = 2 * n_points * _bytes_per_point()
    available = available_memory()
    if available is not None and memory > available:
        raise ValueError(
            f"grid: {' × '.join(map(str, shape))} = {n_points:.4g} points need about "
            f"{_fmt_bytes(memory)} of memory for the result, more than the "
            f"{_fmt_bytes(available)} available; use fewer points"
        )
    return SweepPlan(cfg.names, shape, chunk_shape, math.prod(counts), memory, available)


def check_sweep_store(cfg: SweepConfig, store: str | os.PathLike) -> bool:
    """Whether ``store`` holds a store of ``cfg`` (True) or nothing yet (False).

    Raises
    ------
    StoreMismatchError
        If it exists but was made from another configuration (with a diff).
    """
    sizes = resolve_chunks(cfg)
    cfg = cfg.replace(chunks=sizes)
    return check_store(store, cfg.fingerprint(sizes), cfg.to_toml())


def _sample_cost(
    cfg: SweepConfig, fixed: Mapping[str, float], todo: list[ChunkIndex], plan: SweepPlan
) -> float:
    """Seconds per point, from up to :data:`N_SAMPLES` points of the chunks to compute.

    The first point is computed once before timing (compilation or loading of
    the Numba code, which forked workers inherit).
    """
    picks = [todo[0], todo[len(todo) // 2], todo[-1]][:N_SAMPLES]
    points = []
    for c in picks:
        region = _region(c, plan.chunk_shape, plan.shape)
        point = dict(fixed)
        for a, s in zip(cfg.axes, region, strict=True):
            point[a.name] = float(a.values[s.start])
        points.append(point)
    compare_point(points[0], cfg.rtol)
    start = time.perf_counter()
    for point in points:
        compare_point(point, cfg.rtol)
    return (time.perf_counter() - start) / len(points)


# ---------------------------------------------------------------------------
# the dataset
# ---------------------------------------------------------------------------


def _coords(cfg: SweepConfig) -> dict[str, xr.Variable]:
    coords: dict[str, xr.Variable] = {}
    for a in cfg.axes:
        coords[a.name] = xr.Variable(
            a.name, a.values.copy(), attrs={**PARAMETER_ATTRS[a.name], "scale": a.scale}
        )
    for n in PARAMETER_NAMES:
        if n not in cfg.names:
            coords[n] = xr.Variable((), float(cfg.fixed.get(n, 0.0)), attrs=PARAMETER_ATTRS[n])
    return coords


def _attrs(cfg: SweepConfig, fingerprint: str, command: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = provenance(
        "Cooperon F(0): direct solution of Eq. (24) vs closed forms (27), (32) on a grid",
        command,
    )
    attrs.update(
        rtol=cfg.rtol,
        method="cooperon.studies.comparison.compare_point at every grid point",
        normalisation="c = 1/(2 tau T rho) = 1; times in units of tau",
        config_toml=cfg.to_toml(),
    )
    attrs[FINGERPRINT_ATTR] = fingerprint
    return attrs


def _dataset(cfg: SweepConfig, data: Mapping[str, Any], attrs: Mapping[str, Any]) -> xr.Dataset:
    var_attrs = variable_attrs(VARIABLES)
    dims = cfg.names
    ds = xr.Dataset(
        {k: xr.Variable(dims, data[k], attrs=var_attrs[k]) for k in _OUTPUTS},
        coords=_coords(cfg),
    )
    ds.attrs.update(attrs)
    return ds


def _template(cfg: SweepConfig, attrs: Mapping[str, Any]) -> tuple[xr.Dataset, dict[str, Any]]:
    """The dataset with lazy (never computed) data variables, and their fill values."""
    import dask.array as da

    shape = cfg.shape
    fill: dict[str, Any] = {}
    lazy: dict[str, Any] = {}
    for k, arr in empty_arrays((1,) * len(shape), VARIABLES).items():
        if k == "message":
            fill[k] = ""
            lazy[k] = da.zeros(shape, dtype=np.dtypes.StringDType(), chunks=-1)
        else:
            fill[k] = arr.flat[0].item()
            lazy[k] = da.full(shape, fill[k], dtype=arr.dtype, chunks=-1)
    return _dataset(cfg, lazy, attrs), fill


# ---------------------------------------------------------------------------
# the front door
# ---------------------------------------------------------------------------


def _fixed(cfg: SweepConfig) -> dict[str, float]:
    return {n: float(cfg.fixed.get(n, 0.0)) for n in PARAMETER_NAMES if n not in cfg.names}


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_sweep(
    cfg: SweepConfig,
    *,
    store: str | os.PathLike | None = None,
    scheduler: Any = None,
    workers: Workers | None = None,
    progress: bool = True,
    netcdf: str | os.PathLike | None = None,
    command: str | None = None,
    restart: bool = False,
    on_chunk: OnChunk | None = None,
    desc: str | None = None,
    log: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """Run a validated sweep configuration (the engine behind :func:`sweep`).

    Parameters
    ----------
    cfg
        The sweep (:class:`cooperon.studies.config.SweepConfig`).
    store, scheduler, progress, netcdf, command, restart, on_chunk
        As for :func:`sweep`.
    workers
        Already opened workers (:func:`.execution.open_workers`) to use
        instead of ``scheduler`` (several sweeps can share warm workers); the
        caller closes them.
    desc
        Label of the progress bar and the plan line.
    log
        Receives the plan line (default: stderr, if ``progress``).

    Returns
    -------
    xarray.Dataset
        See :func:`sweep`.
    """

    log = log or (_stderr if progress else (lambda msg: None))
    desc = desc or "sweep"
    plan = plan_sweep(cfg)
    sizes = dict(zip(cfg.names, plan.chunk_shape, strict=True))
    cfg = cfg.replace(chunks=sizes)
    fingerprint = cfg.fingerprint(sizes)
    path = check_output_dir(store, "store") if store is not None else None
    if netcdf is not None:
        check_output_file(netcdf, "netcdf")
    exists = stale = False
    if path is not None:
        try:
            exists = check_sweep_store(cfg, path)
        except StoreMismatchError:
            if not restart:
                raise
            stale = True

    own = workers is None
    if workers is None:
        workers = open_workers(scheduler, n_tasks=plan.n_chunks)
    if stale:  # only now that every check has passed
        log(f"{desc}: removing {str(path)!r} (made from another configuration; restart)")
        shutil.rmtree(path)
    attrs = _attrs(cfg, fingerprint, command)
    data: dict[str, np.ndarray] | None = None
    with ChunkRun(workers, own, plan.n_chunks, path) as run:
        if exists:
            run.sink = SweepStore.open(path)
        done: set[ChunkIndex] = run.sink.done if run.sink is not None else set()
        todo = [tuple(int(i) for i in c) for c in np.ndindex(*plan.counts)]
        todo = [c for c in todo if c not in done]

        def n_points(c: ChunkIndex) -> int:
            return math.prod(s.stop - s.start for s in _region(c, plan.chunk_shape, plan.shape))

        todo_points = sum(n_points(c) for c in todo)
        fixed = _fixed(cfg)
        cost = _sample_cost(cfg, fixed, todo, plan) if todo else None
        log(f"{desc}: {plan.describe(len(todo), todo_points, cost, workers)}")
        workers.start()
        if path is None:
            data = empty_arrays(plan.shape, VARIABLES)
        elif run.sink is None:
            template, fill = _template(cfg, attrs)
            run.sink = SweepStore.create(path, template, plan.chunk_shape, plan.counts, fill)
        run.start_bar(plan.n_points, plan.n_points - todo_points, desc, "pt", progress)

        def tasks() -> Iterator[tuple[ChunkIndex, Callable, tuple]]:
            for c in todo:
                region = _region(c, plan.chunk_shape, plan.shape)
                vals = tuple(a.values[s] for a, s in zip(cfg.axes, region, strict=True))
                yield c, compute_chunk, (cfg.names, vals, fixed, cfg.rtol)

        def on_result(c: ChunkIndex, res: dict[str, np.ndarray]) -> None:
            region = _region(c, plan.chunk_shape, plan.shape)
            if run.sink is not None:
                run.sink.write(c, region, res)
            else:
                for k in _OUTPUTS:
                    data[k][region] = res[k]
            run.n_new += 1
            run.bar.update(res["status"].size)
            if on_chunk is not None:
                on_chunk(c, run.n_new)

        run_tasks(workers, tasks(), on_result)

    ds = run.load(attrs) if run.sink is not None else _dataset(cfg, data, attrs)
    ds.attrs["chunks_computed_this_run"] = int(run.n_new)
    ds.attrs["chunks_total"] = plan.n_chunks
    ds.attrs["executor"] = workers.description
    if netcdf is not None:
        write_netcdf(ds, netcdf)
    return ds


def sweep(
    axes: Mapping[str, Any],
    fixed: Mapping[str, float] | None = None,
    rtol: float = 1e-8,
    *,
    store: str | os.PathLike | None = None,
    scheduler: Any = None,
    chunks: int | Sequence[int] | Mapping[str, int] | None = None,
    progress: bool = True,
    netcdf: str | os.PathLike | None = None,
    command: str | None = None,
    restart: bool = False,
    on_chunk: OnChunk | None = None,
) -> xr.Dataset:
    """Direct solution of Eq. (24) vs the closed forms and the ODE step on a parameter grid.

    Every grid point is evaluated with
    :func:`~cooperon.studies.comparison.compare_point`: F(0) of Eq. (24)
    solved directly (to relative accuracy ``rtol``), the closed form (32)
    with ϑ of (33), the consistent Eq. (27) with the WKB resolvent (31)
    (∫e^ϑ = [1 + (32)]/(1+Q)), the local closure, the ODE step (29), their
    relative deviations from the direct value (and of Eq. 27 from the ODE
    step) and λ_max = sup(1 − Φ) of Eq. (25).  Works from a plain script (no ``if __name__ ==
    "__main__":`` guard needed on Linux; see :mod:`.execution`).

    Parameters
    ----------
    axes
        Parameter name → 1-D array of strictly increasing finite values, for
        some of ``tau_over_tau1`` (r₁), ``tau_over_tau3`` (r₃), ``E_tau`` (ε),
        ``gamma_tau`` (g), ``Dq2_tau`` (Q).  The order gives the dimension
        order of the output.
    fixed
        Values of (some of) the other parameters; the rest default to 0.
    rtol
        Requested relative accuracy of the direct F(0), in [1e-13, 0.1].
    store
        Path of a Zarr store (a directory; its parent must exist) written
        chunk by chunk; an existing store of the same configuration is
        resumed (finished chunks are not recomputed), one of another
        configuration is refused (or replaced, with ``restart=True``).
        ``None``: results are kept in memory only.
    scheduler
        ``None`` (local processes, one per core; see
        :func:`.execution.open_workers`), ``"processes"``, ``"threads"``,
        ``"synchronous"``, a dask.distributed address (tried for 5 s) or
        ``Client``, or a :class:`concurrent.futures.Executor`.  The numbers
        are identical with every choice.
    chunks
        Points per chunk: one int for every axis, one per axis (sequence in
        axis order, or mapping); default: automatic (:func:`resolve_chunks`).
    progress
        Print the plan (grid size, memory, time estimate) and show a tqdm
        progress bar, on stderr.
    netcdf
        Also write the result to this NetCDF file (atomically; its directory
        must exist).
    command
        Command line recorded in the ``history`` attribute (default: ``sys.argv``).
    restart
        Replace a store made from another configuration instead of refusing it.
    on_chunk
        ``on_chunk(index, n)`` after the n-th chunk of this run was written
        (and recorded in the store): progress reporting, tests.

    Returns
    -------
    xarray.Dataset
        Dimensions = the axes (coordinates with CF attributes); scalar
        coordinates = the fixed parameters; the variables of
        :data:`~cooperon.studies.comparison.VARIABLES` (``F0_direct``,
        ``F0_direct_error``, ``F0_wkb_eq32``, ``F0_wkb_eq27``,
        ``F0_local_closure``, ``F0_ode``, ``dev_eq32``, ``dev_eq27``,
        ``dev_local_closure``, ``dev_ode_step``, ``dev_wkb_step``,
        ``lambda_max`` float64; ``converged`` bool), ``status`` (int8,
        :class:`~cooperon.studies.schema.Status`: 0 ok, 1 not converged, 2 no
        cutoff with F(0) = ∞, 3 invalid point, 4 numerical failure of the
        direct solution, 5 a closed form's own failure: its variables NaN)
        and ``message`` (str: why a point is not ok); provenance
        (``Conventions``, ``history``, ``date_created``, ``config_toml``, ...)
        in ``attrs``.

    Raises
    ------
    ValueError
        Before any work, naming the argument: an invalid axis, fixed value,
        rtol or chunks; a grid too large for the memory; an output path that
        cannot be written; a store of another configuration
        (:class:`~.store.StoreMismatchError`); an unusable scheduler
        (:class:`~.execution.SchedulerError`).
    SweepInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``), saying how many chunks the store keeps.

    Examples
    --------
    >>> import numpy as np
    >>> import cooperon
    >>> ds = cooperon.sweep({"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0]},
    ...                     fixed={"Dq2_tau": 0.02}, rtol=1e-6, progress=False,
    ...                     scheduler="synchronous")
    >>> ds.dev_eq27.dims
    ('tau_over_tau3', 'gamma_tau')
    """
    cfg = SweepConfig.from_arrays(axes, fixed, rtol, chunks, check_region=False)
    return run_sweep(
        cfg,
        store=store,
        scheduler=scheduler,
        progress=progress,
        netcdf=netcdf,
        command=command,
        restart=restart,
        on_chunk=on_chunk,
    )
