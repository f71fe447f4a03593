"""Temperature scans: one resumable, parallel run over the temperatures of a model.

The engine behind ``cooperon dephasing`` (:mod:`.dephasing_scan`) and
``cooperon magneto`` (:mod:`.magneto_scan`).  A *study* (:class:`Study`)
says what is computed at one temperature (a task function of plain
arguments returning one value, or one array along the study's extra
dimension, per variable); this module runs it over a model's temperature
grid exactly as :mod:`.sweeps` runs a parameter grid:

1. *Checks, before any work*: the output directory, the store (same
   configuration: resumed; another one: refused with a diff of the two
   configurations, unless ``restart``), the scheduler.
2. *The run*: the temperatures are cut into chunks of ``chunks``
   temperatures, one task each, submitted through
   :func:`.execution.run_tasks` to the workers (processes, threads, this
   process or dask.distributed: identical numbers with every choice); each
   finished chunk is written into the Zarr store (:class:`.store.SweepStore`)
   and then recorded as done; a tqdm progress bar counts temperatures.
   Tasks run with one BLAS thread each (:mod:`threadpoolctl`): the workers
   already fill the cores, and the dense SVD of an ensemble's vertex fit is
   several times slower when its threads compete with them.
3. *Interrupted* (Ctrl-C): pending chunks are cancelled and
   :class:`.sweeps.SweepInterrupted` says how many the store keeps; the same
   command resumes.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .execution import Workers, open_workers, run_tasks
from .io import check_output_dir
from .schema import Status, provenance
from .store import (
    FINGERPRINT_ATTR,
    StoreMismatchError,
    SweepStore,
    check_store,
    check_store_outputs,
)
from .temperature_config import ModelScan, ModelSpec, ScanConfig

__all__ = [
    "ScanVariable",
    "Study",
    "blank",
    "check_scan_store",
    "local_exponent",
    "run_scan",
    "warm_up",
]


@dataclass(frozen=True)
class ScanVariable:
    """One output of a study at each temperature.

    Attributes
    ----------
    name : str
    attrs : dict
        CF attributes.
    dtype : type
        ``float``, ``int`` (stored as int32, fill −1), ``np.int8`` (a status,
        fill :attr:`Status.NOT_COMPUTED`) or ``str``.
    extra : bool
        Whether it runs along the study's extra dimension as well (T, extra).
    """

    name: str
    attrs: Mapping[str, Any]
    dtype: type = float
    extra: bool = False

    @property
    def fill(self) -> Any:
        """Value of a temperature not computed (yet)."""
        if self.dtype is float:
            return math.nan
        if self.dtype is str:
            return ""
        if self.dtype is np.int8:
            return int(Status.NOT_COMPUTED)
        return -1

    @property
    def numpy_dtype(self) -> np.dtype:
        return {float: np.dtype(float), int: np.dtype(np.int32), np.int8: np.dtype(np.int8)}.get(
            self.dtype, np.dtype(object)
        )


@dataclass(frozen=True)
class Study:
    """What a temperature scan computes.

    Attributes
    ----------
    name : str
        ``"dephasing"`` or ``"magneto"`` (progress bars, provenance).
    title : str
        Dataset title.
    variables : tuple of ScanVariable
        The per-temperature outputs (a ``status`` and a ``message`` among them).
    task : callable
        ``task(spec, T, options) -> dict`` of arrays for the temperatures
        ``T`` of one chunk (a module-level function: it is sent to worker
        processes); ``options`` is :meth:`options`'s dict.
    options : callable
        ``options(cfg, scan) -> dict`` of plain values for the task.
    extra_dim : str or None
        Name of the extra dimension, with ``extra_coord(cfg)`` its coordinate.
    """

    name: str
    title: str
    variables: tuple[ScanVariable, ...]
    task: Callable[..., dict[str, np.ndarray]]
    options: Callable[[ScanConfig, ModelScan], dict[str, Any]]
    extra_dim: str | None = None
    extra_coord: Callable[[ScanConfig], xr.Variable] | None = None
    attrs: dict = field(default_factory=dict)

    def extra_size(self, cfg: ScanConfig) -> int:
        return 0 if self.extra_coord is None else self.extra_coord(cfg).size


def blank(study_variables: Sequence[ScanVariable], n: int, n_extra: int) -> dict[str, np.ndarray]:
    """Arrays for ``n`` temperatures, filled as not computed."""
    out = {}
    for v in study_variables:
        shape = (n, n_extra) if v.extra else (n,)
        out[v.name] = np.full(shape, v.fill, dtype=v.numpy_dtype)
    return out


def warm_up() -> None:
    """Load (or compile) the Numba cores once here, before worker processes are forked."""
    from ..direct import solve_direct
    from ..vertex import Vertex

    solve_direct(Vertex(np.array([0.9]), np.array([0.0])), 1e-8, Q=0.1)


def fill_chunk(
    point: Callable[..., dict[str, Any]],
    variables: Sequence[ScanVariable],
    spec: ModelSpec,
    T: np.ndarray,
    n_extra: int,
    options: dict[str, Any],
) -> dict[str, np.ndarray]:
    """The body of a chunk task: ``point(spec, T_i, **options)`` at each temperature.

    Runs with BLAS/OpenMP pools limited to one thread (the parallelism is
    over chunks); returns the per-temperature arrays of ``variables``.
    """
    from threadpoolctl import threadpool_limits

    res = blank(variables, len(T), n_extra)
    with threadpool_limits(1):
        for i, t in enumerate(T):
            for k, v in point(spec, float(t), **options).items():
                res[k][i] = v
    return res


def local_exponent(T: np.ndarray, tau_phi: np.ndarray) -> np.ndarray:
    """p(T) = −d ln τ_φ/d ln T by second-order differences in ln T on each run of finite values.

    :func:`numpy.gradient` with ``edge_order=2`` (non-uniform spacing allowed)
    on every contiguous run of finite, positive τ_φ of at least 3 points
    (first order for a run of 2; NaN for isolated points).
    """
    x = np.log(np.asarray(T, dtype=float))
    y = np.asarray(tau_phi, dtype=float)
    ok = np.isfinite(y) & (y > 0)
    out = np.full(y.shape, math.nan)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    for run in runs:
        if run.size >= 2:
            ly = np.log(y[run])
            out[run] = -np.gradient(ly, x[run], edge_order=2 if run.size >= 3 else 1)
    return out


def _T_coord(scan: ModelScan) -> xr.Variable:
    attrs = {"long_name": "temperature", "units": "K", "standard_name": "temperature"}
    return xr.Variable("T", scan.T.copy(), attrs)


def _dataset(
    study: Study, cfg: ScanConfig, scan: ModelScan, data: Mapping[str, Any], attrs: Mapping
) -> xr.Dataset:
    coords = {"T": _T_coord(scan)}
    if study.extra_dim is not None:
        coords[study.extra_dim] = study.extra_coord(cfg)
    dims_extra = ("T", study.extra_dim)
    ds = xr.Dataset(
        {
            v.name: xr.Variable(dims_extra if v.extra else ("T",), data[v.name], dict(v.attrs))
            for v in study.variables
        },
        coords=coords,
    )
    ds.attrs.update(attrs)
    return ds


def _template(study, cfg, scan, attrs) -> tuple[xr.Dataset, dict[str, Any]]:
    import dask.array as da

    n, m = scan.T.size, study.extra_size(cfg)
    lazy, fill = {}, {}
    for v in study.variables:
        shape = (n, m) if v.extra else (n,)
        fill[v.name] = v.fill
        if v.dtype is str:
            lazy[v.name] = da.zeros(shape, dtype=np.dtypes.StringDType(), chunks=-1)
        else:
            lazy[v.name] = da.full(shape, v.fill, dtype=v.numpy_dtype, chunks=-1)
    return _dataset(study, cfg, scan, lazy, attrs), fill


def _attrs(study: Study, cfg: ScanConfig, scan: ModelScan, command: str | None) -> dict[str, Any]:
    attrs: dict[str, Any] = provenance(f"{study.title}: {scan.spec.title}", command)
    attrs.update(study.attrs)
    attrs.update(
        cooperon_study=study.name,
        model_name=scan.spec.name,
        model_kind=scan.spec.kind,
        model_title=scan.spec.title,
        config_toml=cfg.scan_toml(scan),
        rtol=cfg.rtol,
        rtol_meaning="absolute accuracy of ln(tau_phi/tau), i.e. relative accuracy of tau_phi",
        max_history=cfg.max_history,
        max_history_units="tau",
    )
    for k, v in scan.spec.given.items():
        attrs[f"model_{k}"] = v
    attrs["model_tau_i"] = scan.spec.params["tau_i"]
    attrs[FINGERPRINT_ATTR] = cfg.fingerprint(scan)
    return attrs


class ForeignStoreError(StoreMismatchError):
    """A store written by another study (``--restart`` does not replace it)."""


def _check_study(study: Study, store: str | os.PathLike) -> None:
    """Refuse a store that another temperature study wrote (the same model name)."""
    path = Path(store)
    if not path.exists():
        return
    try:
        with xr.open_zarr(path, consolidated=False, chunks=None) as ds:
            other = ds.attrs.get("cooperon_study")
    except Exception:  # noqa: BLE001 - unreadable stores are refused by check_store
        return
    if other is not None and other != study.name:
        raise ForeignStoreError(
            f"store {str(path)!r} was written by `cooperon {other}`, not `cooperon "
            f"{study.name}`: choose another --output-dir (--restart would not replace it)"
        )


def check_scan_store(
    study: Study, cfg: ScanConfig, scan: ModelScan, store: str | os.PathLike
) -> bool:
    """Whether ``store`` holds this scan (True) or nothing yet (False); else StoreMismatchError.

    A store of this configuration whose outputs are not this version's is
    refused too (with the outputs missing and unknown).
    """
    hint = f"the same cooperon {study.name} command with --restart"
    _check_study(study, store)
    exists = check_store(store, cfg.fingerprint(scan), cfg.scan_toml(scan), hint)
    if exists:
        check_store_outputs(store, (v.name for v in study.variables), hint)
    return exists


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def fmt_T(T: float) -> str:
    """A temperature in mK below 1 K, else in K."""
    return f"{T * 1e3:.3g} mK" if T < 1 else f"{T:.3g} K"


def run_scan(
    study: Study,
    cfg: ScanConfig,
    scan: ModelScan,
    *,
    store: str | os.PathLike | None = None,
    workers: Workers | None = None,
    scheduler: Any = None,
    progress: bool = True,
    command: str | None = None,
    restart: bool = False,
    log: Callable[[str], None] | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> xr.Dataset:
    """Compute ``study`` at every temperature of ``scan`` (module notes), resumably.

    Parameters
    ----------
    study, cfg, scan
        What to compute, the validated configuration, the model and its grid.
    store
        Zarr store (a directory; its parent must exist); ``None``: in memory.
    workers, scheduler
        Opened workers (the caller closes them), or a scheduler for
        :func:`.execution.open_workers`.
    progress
        tqdm progress bar and the plan line on stderr.
    command
        Recorded in the ``history`` attribute.
    restart
        Replace a store made from another configuration instead of refusing it.
    log
        Receives the plan line (default: stderr if ``progress``).
    on_chunk
        ``on_chunk(chunk_index, n)`` after the n-th chunk of this run was
        written and recorded (tests, progress).

    Returns
    -------
    xarray.Dataset
        The per-temperature variables of the study over ``T`` (and its extra
        dimension), CF attributes and provenance; not yet analysed.

    Raises
    ------
    ValueError
        Before any work: an unwritable store path, a store of another
        configuration (:class:`~.store.StoreMismatchError`), an unusable
        scheduler.
    SweepInterrupted
        On Ctrl-C, with the chunks the store keeps.
    """

    from .sweeps import ChunkRun

    log = log or (_stderr if progress else (lambda msg: None))
    desc = f"{study.name} {scan.spec.name}"
    n = scan.T.size
    size = max(1, min(cfg.chunks, n))
    n_chunks = math.ceil(n / size)
    path = check_output_dir(store, "store") if store is not None else None
    exists = stale = False
    if path is not None:
        try:
            exists = check_scan_store(study, cfg, scan, path)
        except StoreMismatchError as exc:
            if not restart or isinstance(exc, ForeignStoreError):
                raise
            stale = True
    own = workers is None
    if workers is None:
        workers = open_workers(scheduler, n_tasks=n_chunks)
    if stale:
        log(f"{desc}: removing {str(path)!r} (made from another configuration; restart)")
        shutil.rmtree(path)
    attrs = _attrs(study, cfg, scan, command)
    options = study.options(cfg, scan)
    n_extra = study.extra_size(cfg)
    data: dict[str, np.ndarray] | None = None
    with ChunkRun(workers, own, n_chunks, path) as run:
        if exists:
            run.sink = SweepStore.open(path)
        done = run.sink.done if run.sink is not None else set()
        todo = [c for c in range(n_chunks) if (c,) not in done]
        todo_T = sum(min(n, (c + 1) * size) - c * size for c in todo)
        log(
            f"{desc}: {n} temperatures ({fmt_T(scan.T[0])} to {fmt_T(scan.T[-1])}) in "
            f"{n_chunks} chunks, {len(todo)} to compute on {workers.description}"
        )
        if todo:
            warm_up()
        workers.start()
        if path is None:
            data = blank(study.variables, n, n_extra)
        elif run.sink is None:
            template, fill = _template(study, cfg, scan, attrs)
            chunk_shape = (size,)
            run.sink = SweepStore.create(path, template, chunk_shape, (n_chunks,), fill)
        run.start_bar(n, n - todo_T, desc, "T", progress)

        def tasks() -> Iterator[tuple[int, Callable, tuple]]:
            for c in todo:
                T = scan.T[c * size : (c + 1) * size]
                yield c, study.task, (scan.spec, T, options)

        def on_result(c: int, res: dict[str, np.ndarray]) -> None:
            region = (slice(c * size, min(n, (c + 1) * size)),)
            if run.sink is not None:
                run.sink.write((c,), region, res)
            else:
                for k, arr in res.items():
                    data[k][region] = arr
            run.n_new += 1
            run.bar.update(region[0].stop - region[0].start)
            if on_chunk is not None:
                on_chunk(c, run.n_new)

        run_tasks(workers, tasks(), on_result)

    ds = run.load(attrs) if run.sink is not None else _dataset(study, cfg, scan, data, attrs)
    ds.attrs["chunks_computed_this_run"] = int(run.n_new)
    ds.attrs["chunks_total"] = int(n_chunks)
    ds.attrs["executor"] = workers.description
    return ds


def scan_paths(out: Path, scan: ModelScan) -> dict[str, Path]:
    """The files of one model's scan in the output directory."""
    name = scan.spec.name
    return {
        "store": out / f"{name}.zarr",
        "netcdf": out / f"{name}.nc",
        "figure": out / f"{name}.png",
    }


# ---------------------------------------------------------------------------
# the command line of the temperature studies
# ---------------------------------------------------------------------------


def _command(prog: str, args) -> str:
    import shlex

    parts = prog.split()
    if args.config:
        parts += ["--config", str(args.config)]
    parts += ["--output-dir", str(args.output_dir)]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    for flag in ("no_progress", "quick", "restart"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join(parts)


def run_study(
    study: Study,
    cfg: ScanConfig,
    output_dir: str | os.PathLike,
    *,
    analyse: Callable[[xr.Dataset, ModelScan], xr.Dataset],
    figures: Callable[[xr.Dataset, Path], list[Path]],
    scheduler: Any = None,
    progress: bool = True,
    restart: bool = False,
    command: str | None = None,
    log: Callable[[str], None] | None = None,
) -> list[tuple[ModelScan, xr.Dataset, list[Path]]]:
    """Scan, analyse, write (NetCDF, atomically) and plot every model of ``cfg``.

    Everything is checked first: the output directory (its parent must exist;
    it is created, one level, if missing), every existing store against its
    configuration (refused unless ``restart``), the scheduler.  All models
    share one set of workers.

    Returns
    -------
    list of (ModelScan, xarray.Dataset, list of Path)
        The analysed datasets (also written as ``NAME.nc``) and the figures.
    """
    from .execution import check_scheduler
    from .io import FigureError, write_netcdf

    log = log or (lambda msg: print(msg, flush=True))
    out = check_output_dir(output_dir, "output_dir")
    check_scheduler(scheduler)
    stale = []
    for scan in cfg.scans:
        store = scan_paths(out, scan)["store"]
        try:
            check_scan_store(study, cfg, scan, store)
        except StoreMismatchError as exc:
            if not restart or isinstance(exc, ForeignStoreError):
                raise
            stale.append(store)
    n_tasks = sum(math.ceil(s.T.size / max(1, cfg.chunks)) for s in cfg.scans)
    results = []
    with open_workers(scheduler, n_tasks=n_tasks) as workers:
        out.mkdir(exist_ok=True)
        for path in stale:
            log(f"removing {path} (made from another configuration; --restart)")
            shutil.rmtree(path)
        for scan in cfg.scans:
            paths = scan_paths(out, scan)
            ds = run_scan(
                study,
                cfg,
                scan,
                store=paths["store"],
                workers=workers,
                progress=progress,
                command=command,
            )
            ds = analyse(ds, scan)
            write_netcdf(ds, paths["netcdf"])
            try:
                pngs = figures(ds, out)
            except Exception as exc:  # a bug in plotting: not the user's input (exit 1)
                raise FigureError(
                    f"{study.name} {scan.spec.name}: the figures could not be drawn "
                    f"({type(exc).__name__}: {exc}); the data are written to {paths['netcdf']}"
                ) from exc
            log(
                f"{study.name} {scan.spec.name}: {ds.attrs['chunks_computed_this_run']}/"
                f"{ds.attrs['chunks_total']} chunks computed now; wrote {paths['netcdf']}, "
                + ", ".join(str(p) for p in pngs)
            )
            results.append((scan, ds, pngs))
    return results


def run_cli(
    args,
    *,
    prog: str,
    study: Study,
    analyse: Callable[[xr.Dataset, ModelScan], xr.Dataset],
    figures: Callable[[xr.Dataset, Path], list[Path]],
    summary: Callable[[xr.Dataset], list[str]],
) -> int:
    """Entry point of a temperature study subcommand; exit status as in cooperon.cli."""
    import time

    from .sweeps import SweepInterrupted
    from .temperature_config import load_scan_config

    start = time.perf_counter()
    try:
        check_output_dir(args.output_dir, "--output-dir")
        cfg = load_scan_config(study.name, args.config)
        if args.quick:
            cfg = cfg.quick()
        results = run_study(
            study,
            cfg,
            args.output_dir,
            analyse=analyse,
            figures=figures,
            scheduler=args.scheduler,
            progress=not args.no_progress,
            restart=args.restart,
            command=_command(prog, args),
        )
    except (ValueError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except SweepInterrupted as exc:
        msg = exc.what_is_kept()
        print(f"{prog}: interrupted: {msg}; run the same command again to resume", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    print()
    for _, ds, _ in results:
        for line in summary(ds):
            print(line)
        print()
    print(f"{prog}: {len(results)} model(s) in {time.perf_counter() - start:.1f} s wall time")
    return 0
