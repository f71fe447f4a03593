"""Start-up cost: import and first solve in a fresh process, cold and warm Numba cache.

Run: ``python validation/bench_startup.py``

Each measurement runs in a new Python process. "cold" points NUMBA_CACHE_DIR at
an empty directory (everything compiles); "warm" runs again with the same
directory (the package's cores load from the cache; a user's own kernel
function is always compiled, since Numba cannot cache a function defined at
run time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

SNIPPETS = {
    "general kernel k(t,s), N=201": """
import numpy as np
from solver import solve_volterra
t = np.linspace(0, 20, 201)
res = solve_volterra(lambda t, s: -(t - s), lambda t: np.ones_like(t), t)
""",
    "ExpSum kernel, N=2001": """
import numpy as np
from solver import solve_volterra, kernels
t = np.linspace(0, 20, 2001)
res = solve_volterra(kernels.ExpSum([0.5], [0.0], [1.0]), lambda t: np.ones_like(t), t)
""",
    "Convolution kernel, N=2001": """
import numpy as np
from solver import solve_volterra, kernels
t = np.linspace(0, 20, 2001)
res = solve_volterra(kernels.Convolution(lambda u: -u), lambda t: np.ones_like(t), t)
""",
    "cooperon solve_direct": """
from cooperon import Parameters, solve_direct
sol = solve_direct(Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02))
""",
}

TEMPLATE = """
import time, json
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
{body}
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "first_solve": t2 - t1}}))
"""


def run(body: str, cache: str, module: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    out = subprocess.run(
        [sys.executable, "-c", TEMPLATE.format(body=body, module=module)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"{'problem':32s} {'cache':5s} {'import [s]':>10s} {'first solve [s]':>16s}")
    print("(import: `import solver`, or `import cooperon` for the cooperon row)")
    for name, body in SNIPPETS.items():
        with tempfile.TemporaryDirectory() as cache:
            for label in ("cold", "warm", "warm"):
                module = "cooperon" if "cooperon" in body else "solver"
                r = run(body, cache, module)
                print(f"{name:32s} {label:5s} {r['import']:10.2f} {r['first_solve']:16.2f}")


if __name__ == "__main__":
    main()
