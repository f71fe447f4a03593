"""Generate ``tests/cooperon/reference_F0.json``: F(0) of Eq. (24) for the error-estimate tests.

Regenerate (about a minute on 2 cores) with::

    python tests/cooperon/make_reference.py

from the repository root. For every case of
:data:`reference_data.ERROR_CASES` F(0) is computed with
:func:`reference_data.zero_history_F0`: Eq. (24) solved by
``solver.solve_volterra`` from **zero** history on a long interval
[−T_long, 0] (no frozen solution, no closed-form history, no truncation
bound -- none of the machinery of ``cooperon.direct`` that is under test),
with a fine fixed grid, once with ``gregory8`` and once with ``gregory6``.
The stored error is the larger of (Richardson estimate + T_long check of
the gregory8 solve) and the difference of the two methods.

The file holds a dozen numbers (one F(0) and its error per case) plus the
parameters and the settings used.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

from reference_data import ERROR_CASES, REFERENCE_FILE, zero_history_F0  # noqa: E402


def main() -> int:
    out = {}
    for name, p in ERROR_CASES.items():
        start = time.perf_counter()
        F8, err8, info = zero_history_F0(p, rel=1e-12, method="gregory8")
        F6, err6, _ = zero_history_F0(p, rel=1e-12, method="gregory6")
        error = max(err8, abs(F8 - F6))
        out[name] = {
            "params": p.as_dict(),
            "F0": F8,
            "error": error,
            "F0_gregory6": F6,
            "T_long": info["T_long"],
            "h": info["h"],
            "N": info["N"],
        }
        print(
            f"{name:50s} F0 = {F8:.16g}  error = {error:.2e} (rel {error / abs(F8):.1e}, "
            f"g8-g6 {abs(F8 - F6) / abs(F8):.1e})  N = {info['N']}  "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )
    REFERENCE_FILE.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {REFERENCE_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
