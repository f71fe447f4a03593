"""Parameter sweeps: the direct solution of Eq. (24) against the closed forms on a grid.

:func:`sweep` evaluates :func:`cooperon.compare_values` -- F(0) from Eq. (24)
solved directly, from the closed form (32) as printed and from (27) with the
WKB resolvent (31), and their relative deviations -- at every point of the
Cartesian product of one-dimensional axes in the five parameters of
:class:`cooperon.Parameters`, and returns a labelled :class:`xarray.Dataset`.

Execution
---------
The grid is cut into chunks (hyper-rectangles of grid points); each chunk is
one :func:`dask.delayed` task that runs the same per-point computation, so
the numbers do not depend on where a chunk runs.  Schedulers:

* ``None`` (default) -- dask's local ``"processes"`` scheduler with one
  process per core for grids of at least :data:`MIN_POINTS_FOR_PROCESSES`
  points, ``"threads"`` for smaller ones (one core: ``"synchronous"``).  The
  Numba cores of the solver release the GIL, but most of a point's time is
  spent in code that holds it (Python-level product-integration weights of
  the solver, SciPy QUADPACK with Python integrands for the closed forms:
  roughly 80-90 % of the time in a profile), so with two free cores threads
  gain ~10 % where processes gain ~2x.  Worker processes cost a start-up
  (imports, Numba compilation or loading from Numba's disk cache, ~3-8 s
  each), paid once per worker on its first chunk; to share warm workers
  between sweeps pass an executor (``cooperon map`` does).  On a machine
  whose cores are busy with other work the two are about equal
  (``validation/bench_sweep.py`` times both and prints the CPU actually
  obtained).
* ``"threads"``, ``"processes"``, ``"synchronous"`` -- dask's local schedulers.
* a :class:`concurrent.futures.Executor` -- used as the pool of the local
  threaded / processes scheduler (lets several sweeps share warm workers).
* a :class:`distributed.Client`, or a scheduler address string such as
  ``"tcp://10.0.0.1:8786"`` -- an existing dask.distributed cluster.  Its
  workers must be able to import ``cooperon``; they need not see the store
  (results come back to this process, which does all the writing).

Resumable stores
----------------
With ``store=PATH`` the dataset is created in a Zarr store first (all
variables, one Zarr chunk per computed chunk, via a temporary directory and
an atomic rename), then every finished chunk is written into its region and
*afterwards* recorded as done in the variable ``chunk_run`` (one entry per
chunk: 0 = not done, k = computed by the k-th run on this store).  A sweep
interrupted at any moment and re-run with the same configuration and store
computes only the chunks not yet recorded.  A store made from a different
configuration (axes, fixed parameters, rtol or chunking, compared through a
SHA-256 fingerprint of the exact values) is refused with a ``ValueError``.

Output
------
One dimension per axis (coordinate = the axis values, with the paper's
symbol in ``long_name`` and ``units = "1"``), the fixed parameters as scalar
coordinates, the variables of :data:`cooperon.compare.VARIABLES`
(``converged`` as bool) and ``status`` (int8):

===  ===============  ======================================================
 0   ok               direct F(0) converged to rtol
 1   not_converged    values present but the error estimate exceeds rtol
 2   no_cutoff        F(0) = ∞ (Q = 0 and no active dephasing channel, the 2D
                      weak-localisation divergence): ``F0_*`` are +inf,
                      ``F0_direct_error`` and ``dev_*`` are NaN
 3   invalid_point    outside the valid region (e.g. r₁ + r₃ > 1, negative
                      parameter): all variables NaN.  Config files refuse
                      such grids up front (:mod:`cooperon.config`).
 4   failed           the direct solver raised (e.g. the history needed is
                      longer than 10⁸ τ): all variables NaN except lambda_max
===  ===============  ======================================================

(-1, ``not_computed``, appears only in the Zarr store of an unfinished sweep.)
Provenance in ``ds.attrs``: ``cooperon_version``, ``config_toml`` (the
configuration as TOML, exact), ``date_created`` (ISO 8601 UTC), ``rtol``,
``command``, ``history``, ``sweep_fingerprint``.

Testing hook
------------
If the environment variable ``COOPERON_SWEEP_EXIT_AFTER`` is set to an integer
k ≥ 1, the sweeping process exits hard with ``os._exit(EXIT_HOOK_CODE)``
(code 86, no clean-up) right after the k-th chunk of this run has been
written and recorded.  The test-suite uses it to simulate a crash; never set
it otherwise.
"""

from __future__ import annotations

import concurrent.futures
import datetime as _dt
import math
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from .compare import VARIABLES, compare_values, variable_attrs
from .config import PARAMETER_NAMES, SweepConfig
from .model import lambda_max as _lambda_max
from .parameters import NoCutoffError, Parameters

__all__ = [
    "sweep",
    "run_sweep",
    "check_scheduler",
    "check_store",
    "compute_chunk",
    "resolve_chunks",
    "PARAMETER_ATTRS",
    "STATUS_MEANINGS",
    "EXIT_HOOK_ENV",
    "EXIT_HOOK_CODE",
    "MIN_POINTS_FOR_PROCESSES",
]

#: Status codes of the ``status`` variable (value → CF flag meaning).
STATUS_MEANINGS: dict[int, str] = {
    -1: "not_computed",
    0: "ok",
    1: "not_converged",
    2: "no_cutoff",
    3: "invalid_point",
    4: "failed",
}
STATUS_PENDING, STATUS_OK, STATUS_NOT_CONVERGED = -1, 0, 1
STATUS_NO_CUTOFF, STATUS_INVALID, STATUS_FAILED = 2, 3, 4

#: Environment variable of the crash-simulation hook (see the module docstring).
EXIT_HOOK_ENV = "COOPERON_SWEEP_EXIT_AFTER"
#: Exit code of the crash-simulation hook.
EXIT_HOOK_CODE = 86

#: Default number of grid points per chunk when ``chunks`` is not given.
DEFAULT_CHUNK_POINTS = 64

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

_FLOAT_VARS = tuple(v for v in VARIABLES if v != "converged")
_OUT_VARS = (*VARIABLES, "status")
_RUN_VAR = "chunk_run"
_FINGERPRINT_ATTR = "sweep_fingerprint"

ChunkIndex = tuple[int, ...]
ChunkResult = dict[str, np.ndarray]


# ---------------------------------------------------------------------------
# the per-point and per-chunk computation (label-free, runs on workers)
# ---------------------------------------------------------------------------


def _point(point: dict[str, float], rtol: float) -> tuple[dict[str, float], bool, int]:
    """compare_values at one point, with failures turned into status codes."""
    nan = math.nan
    out = dict.fromkeys(_FLOAT_VARS, nan)
    try:
        params = Parameters(**point)
    except (ValueError, TypeError):
        return out, False, STATUS_INVALID
    out["lambda_max"] = _lambda_max(params)
    if not params.has_cutoff:
        return _no_cutoff(out), False, STATUS_NO_CUTOFF
    try:
        vals = compare_values(params, rtol=rtol)
    except NoCutoffError:
        return _no_cutoff(out), False, STATUS_NO_CUTOFF
    except (ArithmeticError, ValueError, RuntimeError):
        return out, False, STATUS_FAILED
    if not all(math.isfinite(vals[k]) for k in ("F0_direct", "F0_wkb_eq32", "F0_wkb_eq27")):
        return out, False, STATUS_FAILED
    for k in _FLOAT_VARS:
        out[k] = float(vals[k])
    converged = bool(vals["converged"])
    return out, converged, STATUS_OK if converged else STATUS_NOT_CONVERGED


def _no_cutoff(out: dict[str, float]) -> dict[str, float]:
    out.update(F0_direct=math.inf, F0_wkb_eq32=math.inf, F0_wkb_eq27=math.inf)
    return out


def compute_chunk(
    names: Sequence[str],
    values: Sequence[np.ndarray],
    fixed: Mapping[str, float],
    rtol: float,
) -> ChunkResult:
    """Evaluate one chunk of the grid (a task; pure numpy in and out).

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
        One array of the chunk's shape per output variable (``converged`` bool,
        ``status`` int8, the rest float64).  Deterministic: the same inputs
        give bit-identical outputs in any process.
    """
    shape = tuple(len(v) for v in values)
    res: ChunkResult = {k: np.full(shape, np.nan) for k in _FLOAT_VARS}
    res["converged"] = np.zeros(shape, dtype=bool)
    res["status"] = np.full(shape, STATUS_PENDING, dtype=np.int8)
    for idx in np.ndindex(*shape):
        point = {k: float(v) for k, v in fixed.items()}
        for n, v, i in zip(names, values, idx, strict=True):
            point[n] = float(v[i])
        out, conv, status = _point(point, rtol)
        for k in _FLOAT_VARS:
            res[k][idx] = out[k]
        res["converged"][idx] = conv
        res["status"][idx] = status
    return res


# ---------------------------------------------------------------------------
# chunking
# ---------------------------------------------------------------------------


def resolve_chunks(cfg: SweepConfig) -> dict[str, int]:
    """Chunk size per axis: ``cfg.chunks`` clipped to the axis, or an automatic choice.

    Automatic: start from whole axes and halve the largest chunk until a
    chunk holds at most :data:`DEFAULT_CHUNK_POINTS` points (a few seconds of
    work, small enough for a fine progress bar and little lost work on a
    crash).  Axes missing from ``cfg.chunks`` are not split.
    """
    sizes = dict(zip(cfg.names, cfg.shape, strict=True))
    if cfg.chunks is not None:
        return {n: min(cfg.chunks.get(n, s), s) for n, s in sizes.items()}
    out = dict(sizes)
    while math.prod(out.values()) > DEFAULT_CHUNK_POINTS:
        n = max(out, key=lambda k: out[k])
        if out[n] == 1:
            break
        out[n] = (out[n] + 1) // 2
    return out


def _chunk_slices(
    shape: Sequence[int], sizes: Sequence[int]
) -> dict[ChunkIndex, tuple[slice, ...]]:
    counts = [math.ceil(n / c) for n, c in zip(shape, sizes, strict=True)]
    out = {}
    for idx in np.ndindex(*counts):
        out[tuple(int(i) for i in idx)] = tuple(
            slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(idx, sizes, shape, strict=True)
        )
    return out


# ---------------------------------------------------------------------------
# dataset layout
# ---------------------------------------------------------------------------


def _status_attrs() -> dict[str, Any]:
    codes = sorted(STATUS_MEANINGS)
    return {
        "long_name": "status of the point",
        "units": "1",
        "flag_values": np.array(codes, dtype=np.int8),
        "flag_meanings": " ".join(STATUS_MEANINGS[c] for c in codes),
        "comment": (
            "0 ok; 1 direct F(0) not converged to rtol (values kept); 2 no cutoff: "
            "F(0) = infinity (F0_* = +inf, F0_direct_error and dev_* NaN); 3 invalid "
            "point outside the valid region (all NaN); 4 direct solver failed (NaN); "
            "-1 not yet computed (unfinished store only)"
        ),
    }


def _var_attrs() -> dict[str, dict[str, Any]]:
    attrs = {k: dict(v) for k, v in variable_attrs().items()}
    for k in ("F0_direct", "F0_wkb_eq32", "F0_wkb_eq27"):
        attrs[k]["comment"] = "+inf where status = 2 (F(0) = infinity); NaN where status = 3, 4"
    for k in ("dev_eq32", "dev_eq27"):
        attrs[k]["comment"] = "NaN where status = 2, 3, 4"
    attrs["converged"]["comment"] = "False where status != 0"
    attrs["status"] = _status_attrs()
    return attrs


def _coords(cfg: SweepConfig) -> dict[str, Any]:
    coords: dict[str, Any] = {}
    for a in cfg.axes:
        coords[a.name] = xr.Variable(
            a.name, a.values.copy(), attrs={**PARAMETER_ATTRS[a.name], "scale": a.scale}
        )
    for n in PARAMETER_NAMES:
        if n not in cfg.names:
            coords[n] = xr.Variable((), float(cfg.fixed.get(n, 0.0)), attrs=PARAMETER_ATTRS[n])
    return coords


def _provenance(cfg: SweepConfig, fingerprint: str, command: str | None) -> dict[str, Any]:
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    now = now.replace("+00:00", "Z")
    if command is None:
        command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else ""
    return {
        "title": "Cooperon F(0): direct solution of Eq. (24) vs closed forms (27), (32) on a grid",
        "Conventions": "CF-1.8",
        "source": f"cooperon {__version__}",
        "cooperon_version": __version__,
        "date_created": now,
        "history": f"{now} {command}",
        "command": command,
        "rtol": float(cfg.rtol),
        "config_toml": cfg.to_toml(),
        _FINGERPRINT_ATTR: fingerprint,
        "normalisation": "c = 1/(2 tau T rho) = 1; times in units of tau, energies in hbar/tau",
        "method": "cooperon.compare_values at every grid point (solve_direct, wkb.F0_eq32/eq27)",
    }


def _assemble(
    cfg: SweepConfig,
    data: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any],
) -> xr.Dataset:
    var_attrs = _var_attrs()
    dims = cfg.names
    ds = xr.Dataset(
        {k: xr.Variable(dims, data[k], attrs=var_attrs[k]) for k in _OUT_VARS},
        coords=_coords(cfg),
        attrs=dict(attrs),
    )
    return ds


def _empty_data(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    data = {k: np.full(shape, np.nan) for k in _FLOAT_VARS}
    data["converged"] = np.zeros(shape, dtype=bool)
    data["status"] = np.full(shape, STATUS_PENDING, dtype=np.int8)
    return data


def _run_dims(cfg: SweepConfig) -> tuple[str, ...]:
    return tuple(f"chunk_{n}" for n in cfg.names)


# ---------------------------------------------------------------------------
# the Zarr store
# ---------------------------------------------------------------------------


def _store_path(store: str | os.PathLike) -> Path:
    if isinstance(store, (str, os.PathLike)):
        return Path(store)
    raise TypeError(f"store must be a path to a local Zarr directory, got {type(store).__name__}")


def check_store(
    store: str | os.PathLike, cfg: SweepConfig, chunks: Mapping[str, int] | None = None
) -> bool:
    """Check that ``store`` can hold (or resume) the sweep ``cfg``.

    Returns
    -------
    bool
        False if the store does not exist yet, True if it exists and was
        made from the same configuration.

    Raises
    ------
    ValueError
        If it exists but is not a cooperon sweep store, or was made from a
        different configuration (different axes, fixed parameters, rtol or
        chunks).
    """
    path = _store_path(store)
    if not path.exists():
        return False
    chunks = dict(chunks) if chunks is not None else resolve_chunks(cfg)
    want = cfg.fingerprint(chunks)
    try:
        with xr.open_zarr(path, consolidated=False) as ds:
            have = ds.attrs.get(_FINGERPRINT_ATTR)
            have_toml = ds.attrs.get("config_toml", "")
    except Exception as exc:  # noqa: BLE001 - anything unreadable is refused the same way
        raise ValueError(
            f"store {str(path)!r} exists but is not a readable cooperon sweep store "
            f"({type(exc).__name__}: {exc}); remove it or choose another store"
        ) from None
    if have is None:
        raise ValueError(
            f"store {str(path)!r} exists but was not written by cooperon.sweep "
            "(no sweep fingerprint); remove it or choose another store"
        )
    if have != want:
        raise ValueError(
            f"store {str(path)!r} was made from a different sweep configuration "
            "(axes, fixed parameters, rtol or chunks differ), so it cannot be resumed. "
            "Remove it or choose another store. Its configuration was:\n"
            f"{have_toml}\nthis sweep's is:\n{cfg.replace(chunks=chunks).to_toml()}"
        )
    return True


def _create_store(path: Path, template: xr.Dataset, cfg: SweepConfig, sizes: dict) -> None:
    """Write the full template through a temporary directory and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        chunk_shape = tuple(sizes[n] for n in cfg.names)
        encoding: dict[str, dict[str, Any]] = {k: {"chunks": chunk_shape} for k in _OUT_VARS}
        encoding[_RUN_VAR] = {"chunks": (1,) * len(cfg.names)}
        template.to_zarr(tmp / "store.zarr", mode="w", encoding=encoding, consolidated=False)
        os.replace(tmp / "store.zarr", path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _open_store(path: Path) -> xr.Dataset:
    return xr.open_zarr(path, consolidated=False)


class _StoreWriter:
    """Writes finished chunks into their regions, then records them as done."""

    def __init__(self, path: Path, cfg: SweepConfig, run: int) -> None:
        self.path = path
        self.cfg = cfg
        self.run = run

    def write(self, cidx: ChunkIndex, region: tuple[slice, ...], res: ChunkResult) -> None:
        dims = self.cfg.names
        block = xr.Dataset({k: (dims, res[k]) for k in _OUT_VARS})
        block.to_zarr(
            self.path,
            region=dict(zip(dims, region, strict=True)),
            mode="r+",
            consolidated=False,
        )
        # only now, after the data, mark the chunk as done (a single tiny Zarr chunk)
        run_dims = _run_dims(self.cfg)
        mark = xr.Dataset(
            {_RUN_VAR: (run_dims, np.full((1,) * len(dims), self.run, dtype=np.int16))}
        )
        mark.to_zarr(
            self.path,
            region={d: slice(i, i + 1) for d, i in zip(run_dims, cidx, strict=True)},
            mode="r+",
            consolidated=False,
        )


# ---------------------------------------------------------------------------
# schedulers
# ---------------------------------------------------------------------------

_LOCAL = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "synchronous": "synchronous",
    "sync": "synchronous",
    "single-threaded": "synchronous",
}


#: Grids with fewer points run on threads by default: starting worker processes
#: (imports and Numba code in each, ~3-8 s) would cost more than it saves.
MIN_POINTS_FOR_PROCESSES = 256


def _default_scheduler(n_points: int) -> str:
    if (os.cpu_count() or 1) < 2:
        return "synchronous"
    return "processes" if n_points >= MIN_POINTS_FOR_PROCESSES else "threads"


def _run_local(
    tasks: Mapping[str, Any],
    on_result: Callable[[str, ChunkResult], None],
    scheduler: str,
    pool: concurrent.futures.Executor | None,
) -> None:
    import dask
    from dask.callbacks import Callback

    keys = set(tasks)

    def posttask(key, result, dsk, state, worker_id):  # noqa: ANN001 - dask signature
        if key in keys:
            on_result(key, result)

    kwargs: dict[str, Any] = {"scheduler": scheduler}
    if pool is not None:
        kwargs["pool"] = pool
    with Callback(posttask=posttask):
        dask.compute(list(tasks.values()), **kwargs)


def _run_distributed(
    tasks: Mapping[str, Any], on_result: Callable[[str, ChunkResult], None], scheduler: Any
) -> None:
    from distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.compute(list(tasks.values()))
        by_key = {f.key: k for f, k in zip(futures, tasks, strict=True)}
        for fut, result in as_completed(futures, with_results=True):
            on_result(by_key[fut.key], result)
    finally:
        if own:
            client.close()


def check_scheduler(scheduler: Any) -> None:
    """Raise ``ValueError``/``TypeError`` now for a scheduler :func:`sweep` cannot use.

    Does not connect to a distributed scheduler (only its form is checked).
    """
    _classify_scheduler(scheduler)


def _classify_scheduler(scheduler: Any, n_points: int = 0) -> tuple[str, Any]:
    """('local', name) / ('pool', (name, executor)) / ('distributed', client-or-address)."""
    if scheduler is None:
        return "local", _default_scheduler(n_points)
    if isinstance(scheduler, str):
        if scheduler in _LOCAL:
            return "local", _LOCAL[scheduler]
        if "://" in scheduler or ":" in scheduler:
            return "distributed", scheduler
        raise ValueError(
            f"scheduler: {scheduler!r} is neither a local scheduler ({', '.join(sorted(_LOCAL))}) "
            "nor a dask.distributed address such as 'tcp://host:8786'"
        )
    if isinstance(scheduler, concurrent.futures.ProcessPoolExecutor):
        return "pool", ("processes", scheduler)
    if isinstance(scheduler, concurrent.futures.ThreadPoolExecutor):
        return "pool", ("threads", scheduler)
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        Client = ()  # noqa: N806
    if isinstance(scheduler, Client):
        return "distributed", scheduler
    raise TypeError(
        "scheduler must be None, 'threads', 'processes', 'synchronous', a scheduler address, "
        f"a distributed.Client or a concurrent.futures executor (got {scheduler!r})"
    )


# ---------------------------------------------------------------------------
# the front door
# ---------------------------------------------------------------------------


def run_sweep(
    cfg: SweepConfig,
    *,
    store: str | os.PathLike | None = None,
    scheduler: Any = None,
    progress: bool = True,
    netcdf: str | os.PathLike | None = None,
    command: str | None = None,
    desc: str | None = None,
) -> xr.Dataset:
    """Run a validated sweep configuration (the engine behind :func:`sweep`).

    Parameters
    ----------
    cfg
        The sweep (:class:`cooperon.config.SweepConfig`).
    store, scheduler, progress, netcdf, command
        As for :func:`sweep`.
    desc
        Label of the progress bar.

    Returns
    -------
    xarray.Dataset
        See :func:`sweep`.
    """
    from tqdm import tqdm

    kind, sched = _classify_scheduler(scheduler, math.prod(cfg.shape))
    sizes = resolve_chunks(cfg)
    cfg = cfg.replace(chunks=sizes)
    fingerprint = cfg.fingerprint(sizes)
    shape = cfg.shape
    slices = _chunk_slices(shape, [sizes[n] for n in cfg.names])
    n_chunks_shape = tuple(max(i) + 1 for i in zip(*slices, strict=True))

    path = _store_path(store) if store is not None else None
    done: set[ChunkIndex] = set()
    run = 1
    if path is not None:
        if check_store(path, cfg, sizes):
            with _open_store(path) as ds0:
                runs = ds0[_RUN_VAR].values
            done = {tuple(int(i) for i in idx) for idx in zip(*np.nonzero(runs), strict=True)}
            run = int(runs.max()) + 1
        else:
            attrs = _provenance(cfg, fingerprint, command)
            template = _assemble(cfg, _empty_data(shape), attrs)
            template[_RUN_VAR] = xr.Variable(
                _run_dims(cfg),
                np.zeros(n_chunks_shape, dtype=np.int16),
                attrs={
                    "long_name": "completion record: run that computed each chunk",
                    "units": "1",
                    "comment": (
                        "0 = not computed yet; k >= 1 = written by the k-th run on this store. "
                        "Chunk (i, j, ...) covers grid indices [i*c, (i+1)*c) along each axis, "
                        "c = chunk_sizes"
                    ),
                },
            )
            template.attrs["chunk_sizes"] = np.array([sizes[n] for n in cfg.names], np.int64)
            _create_store(path, template, cfg, sizes)
        writer = _StoreWriter(path, cfg, run)
    else:
        writer = None
        data = _empty_data(shape)

    todo = {c: s for c, s in slices.items() if c not in done}
    names = cfg.names
    fixed = {n: float(cfg.fixed.get(n, 0.0)) for n in PARAMETER_NAMES if n not in names}
    prefix = f"cooperon-sweep-{fingerprint[:16]}"
    key_of = {c: f"{prefix}-{'-'.join(map(str, c))}" for c in todo}
    chunk_of = {k: c for c, k in key_of.items()}

    tasks: dict[str, Any] = {}
    if todo:
        import dask

        for c, region in todo.items():
            vals = tuple(a.values[s] for a, s in zip(cfg.axes, region, strict=True))
            tasks[key_of[c]] = dask.delayed(compute_chunk, pure=True)(
                names, vals, fixed, cfg.rtol, dask_key_name=key_of[c]
            )

    exit_after = _exit_hook()
    bar = tqdm(
        total=len(slices),
        initial=len(done),
        desc=desc or "sweep",
        unit="chunk",
        disable=not progress,
        dynamic_ncols=True,
    )
    n_new = 0

    def on_result(key: str, res: ChunkResult) -> None:
        nonlocal n_new
        c = chunk_of[key]
        region = slices[c]
        if writer is not None:
            writer.write(c, region, res)
        else:
            for k in _OUT_VARS:
                data[k][region] = res[k]
        n_new += 1
        bar.update(1)
        if exit_after is not None and n_new >= exit_after:
            bar.close()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_HOOK_CODE)

    try:
        if tasks:
            if kind == "distributed":
                _run_distributed(tasks, on_result, sched)
            elif kind == "pool":
                _run_local(tasks, on_result, sched[0], sched[1])
            else:
                _run_local(tasks, on_result, sched, None)
    finally:
        bar.close()
    if n_new != len(todo):
        raise RuntimeError(f"sweep finished with {n_new} of {len(todo)} chunks computed")

    if path is not None:
        with _open_store(path) as stored:
            ds = stored.load()
        ds = ds.drop_vars(_RUN_VAR)
        ds.attrs.pop("chunk_sizes", None)
        ds = ds[list(_OUT_VARS)]  # canonical variable order
        for var in ds.variables.values():
            var.encoding = {}  # Zarr encodings need not suit other formats (NetCDF)
        if run > 1:  # a resumed sweep: say so in the history (of the result, not the store)
            now = _provenance(cfg, fingerprint, command)
            ds.attrs["history"] = (
                f"{ds.attrs.get('history', '')}\n{now['history']} "
                f"(run {run} on this store: {n_new} of {len(slices)} chunks computed)"
            ).strip()
    else:
        ds = _assemble(cfg, data, _provenance(cfg, fingerprint, command))
    ds.attrs["chunks_computed_this_run"] = int(n_new)
    ds.attrs["chunks_total"] = len(slices)
    if netcdf is not None:
        from .io import write_netcdf

        write_netcdf(ds, netcdf)
    return ds


def _exit_hook() -> int | None:
    raw = os.environ.get(EXIT_HOOK_ENV)
    if not raw:
        return None
    try:
        k = int(raw)
    except ValueError:
        raise ValueError(f"{EXIT_HOOK_ENV} must be an integer (got {raw!r})") from None
    return k if k >= 1 else None


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
) -> xr.Dataset:
    """Direct solution of Eq. (24) vs the closed forms (27), (32) on a parameter grid.

    Every grid point is evaluated with :func:`cooperon.compare_values`: F(0)
    of Eq. (24) solved directly (to relative accuracy ``rtol``), the closed
    form (32) with ϑ of (33), Eq. (27) with the WKB resolvent (31) (= 1 + (32)),
    their relative deviations from the direct value and λ_max = sup(1 − Φ)
    of Eq. (25).

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
        Path of a Zarr store (local directory) written chunk by chunk; an
        existing store from the same configuration is resumed (finished
        chunks are not recomputed), one from another configuration is
        refused.  ``None``: results are kept in memory only.
    scheduler
        ``None`` (local processes, one per core; threads below
        :data:`MIN_POINTS_FOR_PROCESSES` points), ``"threads"``,
        ``"processes"``, ``"synchronous"``, a :class:`concurrent.futures`
        executor, a :class:`distributed.Client` or a scheduler address.
        The numbers are identical with every choice.
    chunks
        Points per chunk: one int for every axis, one per axis (sequence in
        axis order, or mapping); default: automatic (≤ 64 points per chunk).
    progress
        Show a tqdm progress bar over chunks (on stderr).
    netcdf
        Also write the result to this NetCDF file (atomically,
        :func:`cooperon.io.write_netcdf`).
    command
        Command line recorded in the provenance (default: ``sys.argv``).

    Returns
    -------
    xarray.Dataset
        Dimensions = the axes (coordinates with CF attributes); scalar
        coordinates = the fixed parameters; variables ``F0_direct``,
        ``F0_direct_error``, ``F0_wkb_eq32``, ``F0_wkb_eq27``, ``dev_eq32``,
        ``dev_eq27``, ``lambda_max`` (float64), ``converged`` (bool) and
        ``status`` (int8; 0 ok, 1 not converged, 2 no cutoff with F(0) = ∞,
        3 invalid point, 4 solver failed -- see the module docstring);
        provenance in ``attrs``.

    Raises
    ------
    ValueError
        Before any work, for an invalid argument (unknown parameter, empty or
        non-finite or non-increasing axis, a parameter both swept and fixed,
        bad rtol or chunks), naming it; for a store from another configuration.

    Examples
    --------
    >>> import numpy as np
    >>> from cooperon.sweep import sweep
    >>> ds = sweep({"tau_over_tau3": [0.01, 0.1], "gamma_tau": [0.1, 1.0]},
    ...            fixed={"Dq2_tau": 0.02}, rtol=1e-6, progress=False,
    ...            scheduler="synchronous")
    >>> ds.dev_eq27.dims
    ('tau_over_tau3', 'gamma_tau')
    """
    cfg = SweepConfig.from_arrays(axes, fixed, rtol, chunks, check_region=False)
    return run_sweep(
        cfg, store=store, scheduler=scheduler, progress=progress, netcdf=netcdf, command=command
    )
