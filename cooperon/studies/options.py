"""Command-line options shared by ``cooperon map``, ``dephasing`` and ``magneto``."""

from __future__ import annotations

import argparse

__all__ = ["add_run_arguments"]


def add_run_arguments(
    p: argparse.ArgumentParser, *, quick_help: str, scheduler_timeout: bool = False
) -> None:
    """``--scheduler`` (and ``--scheduler-timeout``), ``--no-progress``, ``--quick``, ``--restart``.

    ``quick_help`` says what ``--quick`` coarsens for this command.
    """
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=(
            "dask.distributed scheduler address (e.g. tcp://host:8786), or 'processes' "
            "(default), 'threads', 'synchronous'"
        ),
    )
    if scheduler_timeout:
        p.add_argument(
            "--scheduler-timeout",
            type=float,
            default=5.0,
            metavar="SECONDS",
            help="how long to try to reach a --scheduler address (default 5)",
        )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument(
        "--restart",
        action="store_true",
        help="discard existing stores made from another configuration instead of refusing",
    )
