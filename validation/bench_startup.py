"""Start-up cost: import and first solve in a fresh process, cold and warm Numba cache;
and the cost of a freshly created user function against a repeat call.

Run: ``python validation/bench_startup.py`` (both parts), or with ``startup`` or
``fresh`` for one of them.

Start-up: each measurement runs in a new Python process. "cold" points
NUMBA_CACHE_DIR at an empty directory (everything compiles); "warm" runs again
with the same directory (the package's cores load from the cache).

Fresh functions: in one warm process, on every path at N = 2001, a repeat call
with the same function objects against a call with freshly created lambdas
(as users write them, a new function object per call). Lambdas that accept
NumPy arrays are evaluated on arrays and compile nothing (target: fresh /
repeat <= 1.5); with ``vectorized=False`` every new function object is
compiled with Numba, which was the behaviour for every kernel function before.
A function that cannot take arrays (``math.exp``) is still compiled once per
function object.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

# Run from a checkout: make ``import solver`` / ``import cooperon`` find this repository's
# packages (also in the subprocesses) when the script is started as validation/….py.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

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
    path = os.pathsep.join(x for x in (_ROOT, os.environ.get("PYTHONPATH")) if x)
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=path)
    out = subprocess.run(
        [sys.executable, "-c", TEMPLATE.format(body=body, module=module)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def startup() -> None:
    print(f"{'problem':32s} {'cache':5s} {'import [s]':>10s} {'first solve [s]':>16s}")
    print("(import: `import solver`, or `import cooperon` for the cooperon row)")
    for name, body in SNIPPETS.items():
        with tempfile.TemporaryDirectory() as cache:
            for label in ("cold", "warm", "warm"):
                module = "cooperon" if "cooperon" in body else "solver"
                r = run(body, cache, module)
                print(f"{name:32s} {label:5s} {r['import']:10.2f} {r['first_solve']:16.2f}")


def fresh_problem(path: str) -> dict:
    """Arguments of ``solve_volterra`` for ``path``, built from functions created now."""
    from solver import History, kernels

    if path == "general K(t, s)":
        return dict(kernel=lambda t, s: -(t - s), f=lambda t: np.ones_like(t))
    if path == "Convolution":
        return dict(kernel=kernels.Convolution(lambda u: -u), f=lambda t: np.ones_like(t))
    if path == "Piecewise (pieces, breakpoint)":
        K = kernels.Piecewise(
            [lambda t, s: 0.5 * np.cos(t - s), lambda t, s: -0.3 + 0.0 * s], [lambda t: 0.5 * t]
        )
        return dict(kernel=K, f=lambda t: np.ones_like(t))
    if path == "Damped":
        K = kernels.Damped(lambda t, s: 0.5 * np.cos(s), 2.0)
        return dict(kernel=K, f=lambda t: np.ones_like(t))
    if path == "History(y=phi)":
        return dict(
            kernel=kernels.Convolution(lambda u: 0.5 * np.exp(-u)),
            f=lambda t: 0.75 * np.cos(t) - 0.25 * np.sin(t),
            history=History(y=lambda s: np.cos(s)),
        )
    if path == "nonlinear G(s, y)":
        return dict(
            kernel=lambda t, s: 0.5 + 0.0 * (t - s),
            f=lambda t: 0.1 * np.ones_like(t),
            nonlinearity=lambda s, y: y * y,
        )
    if path == "general, math.exp (scalar only)":
        return dict(kernel=lambda t, s: math.exp(-(t - s)), f=lambda t: np.ones_like(t))
    raise ValueError(path)


FRESH_PATHS = (
    "general K(t, s)",
    "Convolution",
    "Piecewise (pieces, breakpoint)",
    "Damped",
    "History(y=phi)",
    "nonlinear G(s, y)",
    "general, math.exp (scalar only)",
)


def fresh(n: int = 2001, repeats: int = 3) -> None:
    from solver import solve_volterra

    t = np.linspace(0.0, 5.0, n)

    def seconds(make, **kw):
        best = np.inf
        for _ in range(repeats):
            args = make()
            t0 = time.perf_counter()
            solve_volterra(t=t, **args, **kw)
            best = min(best, time.perf_counter() - t0)
        return best

    print(f"\nfresh function per call against the same function, N = {n} (best of {repeats})")
    print(
        f"{'path':32s} {'repeat [ms]':>11s} {'fresh [ms]':>10s} {'ratio':>6s}"
        f" {'fresh, vectorized=False [ms]':>29s} {'ratio':>6s}"
    )
    for path in FRESH_PATHS:
        same = fresh_problem(path)
        solve_volterra(t=t, **same)  # compiles what this function needs once
        rep = seconds(lambda same=same: same)
        new = seconds(lambda path=path: fresh_problem(path))
        old = seconds(lambda path=path: fresh_problem(path), vectorized=False)
        print(
            f"{path:32s} {1e3 * rep:11.1f} {1e3 * new:10.1f} {new / rep:6.2f}"
            f" {1e3 * old:29.1f} {old / rep:6.2f}"
        )


if __name__ == "__main__":
    which = sys.argv[1:] or ["startup", "fresh"]
    if "startup" in which:
        startup()
    if "fresh" in which:
        fresh()
