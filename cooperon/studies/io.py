"""Output paths and files: checked before any work, written atomically.

Every output path is checked *before* computing (:func:`check_output_file`,
:func:`check_output_dir`): its directory must exist (parent directories are
never created silently) and a file must be creatable there; the check raises
a ``ValueError`` naming the path and what is wrong, in one line.  Files are
written through a temporary file and a rename (:func:`write_netcdf`), so an
interrupted write never leaves a broken file. A run that writes and resumes its
own files in a directory holds it (:func:`exclusive_run`): a second run started
on the same directory stops at once with a message, instead of both writing the
same checkpoint.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

__all__ = [
    "RunningElsewhere",
    "check_output_dir",
    "check_output_file",
    "exclusive_run",
    "write_netcdf",
]


def _probe(directory: Path, what: str, path: Path) -> None:
    """Create and remove a file in ``directory``; a failure names ``what``."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cooperon-write-test.", dir=directory)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(
            f"{what} {str(path)!r}: cannot write in {str(directory)!r} ({reason})"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """Check now that the file ``path`` can be written; return it as a Path.

    Raises
    ------
    ValueError
        If ``path`` is a directory, its directory does not exist or is not a
        directory, or no file can be created there (e.g. permissions, a
        read-only file system).  The message starts with ``what`` and the path.
    """
    path = Path(path)
    parent = path.parent
    if path.is_dir():
        raise ValueError(f"{what} {str(path)!r}: is a directory, not a file")
    if not parent.exists():
        raise ValueError(
            f"{what} {str(path)!r}: directory {str(parent)!r} does not exist (create it first)"
        )
    if not parent.is_dir():
        raise ValueError(f"{what} {str(path)!r}: {str(parent)!r} is not a directory")
    _probe(parent, what, path)
    return path


def check_output_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Check now that ``path`` is, or can be created as, a writable directory.

    The directory itself may be missing (the caller creates it, one level);
    its parent must exist.

    Raises
    ------
    ValueError
        If ``path`` exists but is not a directory, its parent does not exist,
        or no file can be created in it (or in its parent, when it is missing).
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{what} {str(path)!r}: exists and is not a directory")
        _probe(path, what, path)
        return path
    parent = path.parent
    if not parent.exists():
        raise ValueError(
            f"{what} {str(path)!r}: parent directory {str(parent)!r} does not exist "
            "(create it first)"
        )
    if not parent.is_dir():
        raise ValueError(f"{what} {str(path)!r}: {str(parent)!r} is not a directory")
    _probe(parent, what, path)
    return path


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to NetCDF (h5netcdf engine) through a temporary file and a rename.

    The directory of ``path`` must exist (it is not created).  The file gets
    the permissions of a newly created file (the umask is honoured).
    """
    path = check_output_file(path, "netcdf")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; honour the umask instead
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


class FigureError(RuntimeError):
    """A figure of a study could not be drawn (its data were written first): a bug, exit 1."""


def save_figure(fig, path: str | os.PathLike, dpi: float = 110) -> Path:
    """Write a matplotlib figure to ``path`` atomically (a temporary file, then a rename).

    The directory must exist; the format follows the suffix (png by default).
    A failure leaves no partial file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png")
        os.replace(tmp, path)  # never leave a half-written figure
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


class RunningElsewhere(RuntimeError):
    """Another process holds the directory (:func:`exclusive_run`)."""


#: the lock file :func:`exclusive_run` holds in its directory
LOCK_NAME = ".run.lock"


@contextmanager
def exclusive_run(directory: str | os.PathLike, what: str = "output directory") -> Iterator[Path]:
    """Hold ``directory`` (which must exist) for this process while the block runs.

    The hold is an advisory ``flock`` on ``directory/.run.lock``, which records the
    holder's pid: the kernel releases it when the process ends however it ends (a
    SIGKILL leaves no stale hold: the next run resumes at once), and the file itself
    is left in place, harmless.

    Raises
    ------
    RunningElsewhere
        If another process holds the directory; the message names it and the pid.
    """
    import fcntl  # (POSIX only: imported where a hold is taken, not with the module)

    path = Path(directory) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RunningElsewhere(
                f"{what} {str(directory)!r}: another run (pid {holder}) is writing there; "
                "wait for it to finish, or choose another directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield Path(directory)
    finally:
        os.close(fd)  # (closing the descriptor releases the hold)
