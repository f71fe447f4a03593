"""Resumable sweep stores: the Zarr layout and the record of finished chunks.

A store is a Zarr directory holding the whole dataset of a sweep: every
per-point variable (one Zarr chunk per computed chunk of the grid), the
coordinates and attributes, and the completion record ``chunk_run`` (one
entry per chunk: 0 = not done, k = computed by the k-th run on this store).

* It is created in one step (:meth:`SweepStore.create`): metadata and
  coordinates only -- the data variables are not written, so unwritten
  chunks read as their fill values (NaN, ``status = -1``) and creating the
  store of a huge grid costs no memory -- in a temporary directory next to
  the target, renamed into place.  An interruption leaves either no store or
  a complete empty one, never a temporary directory.
* Every finished chunk is written into its region, and only *then* recorded
  in ``chunk_run`` (:meth:`SweepStore.write`): a run killed at any moment
  leaves only chunks whose data are complete recorded as done.
* A store is identified by the SHA-256 fingerprint of the configuration
  (attribute ``sweep_fingerprint``); :func:`check_store` refuses a store made
  from another configuration with a diff of the two configurations.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

__all__ = [
    "FINGERPRINT_ATTR",
    "RUN_VAR",
    "StoreMismatchError",
    "SweepStore",
    "check_store",
    "check_store_outputs",
]

#: The completion record of a store.
RUN_VAR = "chunk_run"
#: Attribute identifying the configuration a store was made from.
FINGERPRINT_ATTR = "sweep_fingerprint"
#: Attribute holding the configuration as TOML.
CONFIG_ATTR = "config_toml"
#: Attribute counting the runs that wrote into a store.
RUNS_ATTR = "sweep_runs"


class StoreMismatchError(ValueError):
    """A store exists but was made from another configuration (or is no sweep store)."""


def _run_dims(dims: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"chunk_{d}" for d in dims)


#: How the refusal of a mismatched store tells the user to restart (a sweep or a map).
SWEEP_RESTART_HINT = "cooperon map --restart, or sweep(..., restart=True)"


def check_store(
    path: str | os.PathLike,
    fingerprint: str,
    config_toml: str,
    restart_hint: str = SWEEP_RESTART_HINT,
) -> bool:
    """Whether ``path`` holds a store of this configuration (True) or nothing (False).

    ``restart_hint`` names, in the refusal, how to restart (the command that
    was run).

    Raises
    ------
    StoreMismatchError
        If ``path`` exists but is not a readable sweep store, or was made from
        a different configuration; the message shows the differences of the
        two configurations (a unified diff of their TOML).
    """
    path = Path(path)
    if not path.exists():
        return False
    try:
        with xr.open_zarr(path, consolidated=False, chunks=None) as ds:
            have = ds.attrs.get(FINGERPRINT_ATTR)
            have_toml = str(ds.attrs.get(CONFIG_ATTR, ""))
    except Exception as exc:  # noqa: BLE001 - anything unreadable is refused the same way
        raise StoreMismatchError(
            f"store {str(path)!r} exists but is not a readable sweep store "
            f"({type(exc).__name__}: {exc}); remove it or choose another store"
        ) from None
    if have is None:
        raise StoreMismatchError(
            f"store {str(path)!r} exists but was not written by a cooperon sweep "
            "(no sweep fingerprint); remove it or choose another store"
        )
    if have != fingerprint:
        diff = difflib.unified_diff(
            have_toml.splitlines(),
            config_toml.splitlines(),
            "in the store",
            "requested",
            n=0,
            lineterm="",
        )
        lines = [ln for ln in diff if not ln.startswith("@@")]
        raise StoreMismatchError(
            f"store {str(path)!r} was made from a different configuration, so it cannot be "
            f"resumed; restart it ({restart_hint}), "
            "remove it or choose another store. Differences:\n" + "\n".join(lines)
        )
    return True


def check_store_outputs(
    path: str | os.PathLike, want: Iterable[str], restart_hint: str = SWEEP_RESTART_HINT
) -> None:
    """Refuse a store of the right configuration whose per-point outputs are not ``want``.

    A configuration's fingerprint need not cover the outputs, so a store
    written by a version with other variables would otherwise resume without
    them (or fail later on a missing one).

    Raises
    ------
    StoreMismatchError
        Naming the outputs missing from the store and those it has that are
        not known.
    """
    with xr.open_zarr(path, consolidated=False, chunks=None) as stored:
        have = {n for n in stored.data_vars if n != RUN_VAR}
    want = set(want)
    if have != want:
        missing = ", ".join(sorted(want - have)) or "none"
        extra = ", ".join(sorted(have - want)) or "none"
        raise StoreMismatchError(
            f"store {str(path)!r} was written by another version of cooperon (outputs missing: "
            f"{missing}; not known: {extra}), so it cannot be resumed; restart it "
            f"({restart_hint}) or remove it"
        )


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back until the block is done (a chunk and its record are written whole).

    Only in the main thread with Python's default SIGINT handler; elsewhere a no-op.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


class SweepStore:
    """A sweep store opened for writing chunks (see the module docstring).

    Attributes
    ----------
    path : pathlib.Path
    done : set of tuple
        Indices of the chunks recorded as done.
    run : int
        The number of this run on the store (1 for the run that created it).
    """

    def __init__(self, path: Path, names: Sequence[str]) -> None:
        import zarr

        self.path = path
        self._group = zarr.open_group(str(path), mode="r+")
        self._arrays = {n: self._group[n] for n in names}
        self._runs = self._group[RUN_VAR]
        self.done = self._recorded()
        self.run = int(self._group.attrs.get(RUNS_ATTR, 0)) + 1
        self._group.attrs[RUNS_ATTR] = self.run

    def _recorded(self) -> set[tuple[int, ...]]:
        """The chunks recorded as done: the stored chunks of the record, found by listing.

        A record chunk (one entry) is stored only once written (unwritten
        chunks read as the fill value 0), under the Zarr v3 default key
        ``c/i/j/...``; listing them costs a directory walk instead of reading
        every entry.
        """
        root = self.path / RUN_VAR / "c"
        done = set()
        for dirpath, _, files in os.walk(root):
            rel = Path(dirpath).relative_to(root).parts
            for f in files:
                if f.isdigit():
                    done.add(tuple(int(i) for i in (*rel, f)))
        return done

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        template: xr.Dataset,
        chunk_shape: Sequence[int],
        n_chunks: Sequence[int],
        fill: Mapping[str, Any],
    ) -> SweepStore:
        """Create the store of ``template`` (data variables lazy, never computed).

        ``template`` holds the per-point variables as dask arrays (they are
        not written: only their metadata), the coordinates and attributes;
        ``fill`` gives each variable's Zarr fill value.  The grid dimensions
        are those of the variable with the fewest; a variable may have further
        trailing dimensions (e.g. a curve at each grid point), which are kept
        whole in every chunk.  The completion record gets one entry per chunk
        (shape ``n_chunks``), each its own Zarr chunk.
        """
        path = Path(path)
        names = list(template.data_vars)
        dims = min((template[n].dims for n in names), key=len)
        for n in names:
            if template[n].dims[: len(dims)] != dims:
                raise ValueError(
                    f"variable {n!r} has dimensions {template[n].dims}, which do not start "
                    f"with the grid dimensions {dims}"
                )
        ds = template.copy()
        ds[RUN_VAR] = xr.Variable(
            _run_dims(dims),
            da.zeros(tuple(n_chunks), dtype=np.int16, chunks=-1),
            attrs={
                "long_name": "completion record: the run that computed each chunk",
                "units": "1",
                "comment": (
                    "0 = not computed yet; k >= 1 = written by the k-th run on this store. "
                    "Chunk (i, j, ...) covers grid indices [i*c, (i+1)*c) along each axis, "
                    "c = chunk_sizes"
                ),
            },
        )
        ds.attrs["chunk_sizes"] = np.array(chunk_shape, dtype=np.int64)
        encoding: dict[str, dict[str, Any]] = {
            n: {
                "chunks": (*chunk_shape, *template[n].shape[len(dims) :]),
                "fill_value": fill[n],
            }
            for n in names
        }
        encoding[RUN_VAR] = {"chunks": (1,) * len(dims), "fill_value": 0}
        with _interrupt_deferred():
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
            try:
                ds.to_zarr(
                    tmp / "store.zarr",
                    mode="w",
                    encoding=encoding,
                    consolidated=False,
                    compute=False,
                    zarr_format=3,
                )
                os.replace(tmp / "store.zarr", path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return cls(path, names)

    @classmethod
    def open(cls, path: str | os.PathLike) -> SweepStore:
        """Open an existing store (checked with :func:`check_store`) to resume it."""
        path = Path(path)
        with xr.open_zarr(path, consolidated=False, chunks=None) as ds:
            names = [n for n in ds.data_vars if n != RUN_VAR]
        return cls(path, names)

    @property
    def n_chunks(self) -> int:
        """Number of chunks of the grid."""
        return int(np.prod(self._runs.shape))

    def write(
        self, index: tuple[int, ...], region: tuple[slice, ...], arrays: Mapping[str, np.ndarray]
    ) -> None:
        """Write one finished chunk into its region, then record it as done.

        ``region`` indexes the grid dimensions (trailing dimensions are written
        whole).  A Ctrl-C arriving meanwhile takes effect when both are written.
        """
        with _interrupt_deferred():
            for name, arr in self._arrays.items():
                arr[region] = arrays[name]
            # only now, after the data, mark the chunk as done (a single tiny Zarr chunk)
            self._runs[tuple(slice(i, i + 1) for i in index)] = self.run
            self.done.add(index)

    def count_done(self) -> int:
        """Chunks recorded as done, read from the store itself."""
        return len(self._recorded())

    def load(self) -> xr.Dataset:
        """The dataset in memory, without the completion record and store-only attributes."""
        with xr.open_zarr(self.path, consolidated=False, chunks=None) as stored:
            ds = stored.drop_vars(RUN_VAR).load()
        for key in ("chunk_sizes", RUNS_ATTR):
            ds.attrs.pop(key, None)
        if "message" in ds:
            ds["message"] = ds["message"].astype(object)
        for var in ds.variables.values():
            var.encoding = {}  # Zarr encodings need not suit other formats (NetCDF)
        return ds
