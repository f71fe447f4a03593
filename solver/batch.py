"""Many independent problems in one call, spread over the cores."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from .api import solve_volterra
from .result import VolterraResult

__all__ = ["solve_many"]


def solve_many(
    problems: Iterable[Mapping],
    *,
    workers: int | None = None,
    **common,
) -> list[VolterraResult]:
    """Solve independent Volterra equations concurrently.

    Parameters
    ----------
    problems
        Each a mapping of :func:`solve_volterra` arguments (``kernel``, ``f``,
        ``t`` and any keywords); entries override ``common``.
    workers
        Number of threads (default: the number of cores). The compiled cores
        release the GIL, so threads run them in parallel.
    **common
        Keyword arguments shared by all problems (e.g. ``method=``).

    Returns
    -------
    list of VolterraResult
        In the order of ``problems``. A problem that raises makes
        ``solve_many`` raise the same exception.
    """
    items = [dict(common, **p) for p in problems]
    for i, p in enumerate(items):
        missing = {"kernel", "f", "t"} - set(p)
        if missing:
            raise ValueError(f"problems[{i}] is missing {sorted(missing)}")
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")

    def one(p):
        p = dict(p)
        return solve_volterra(p.pop("kernel"), p.pop("f"), p.pop("t"), **p)

    if workers == 1 or len(items) <= 1:
        return [one(p) for p in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, items))
