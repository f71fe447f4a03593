"""Benchmark: the temperature studies ``cooperon dephasing`` and ``cooperon magneto``.

Run ``python validation/bench_temperature.py [--study dephasing|magneto|both]
[--baseline]`` (about 2–4 minutes on a shared 2-core machine for both studies,
twice that with ``--baseline``).  A benchmark, not a test: nothing about time is
asserted; a study slower than its target is flagged ``SLOW``.

Each study runs on its built-in default configuration (``cooperon/default_dephasing.toml``:
the tunnelling model with the Sec. III numbers, 40 temperatures from 1 mK to 10 K;
``cooperon/default_magneto.toml``: the same ensemble, 21 temperatures × 31 fields), as a
user would run it: ``python -m cooperon <study> --output-dir DIR`` in a subprocess, into
a fresh temporary directory, with the Numba cache warm (a one-time start-up run on one
temperature is made first and timed separately).

Printed, measured in one run:

1. the wall time of the study (targets: dephasing ≤ 60 s for 40 temperatures,
   magneto ≤ 120 s), the number of temperatures, how many had a direct solution, and the
   cost per temperature from the dataset's ``seconds`` (median, max, where the max is);
2. with ``--baseline``: the same study with ``--scheduler synchronous`` (one process, no
   pool), and the ratio of the two wall times (the speed-up of the default pool);
3. the cost growth with the grid: the same study on half the temperatures (``num``
   halved through a ``--config`` copy), and the exponent of wall time against the number of
   temperatures.

The machine may be shared: times are noisy; ratios measured in the same run less so.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {"dephasing": 60.0, "magneto": 120.0}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _config_with(study: str, directory: Path, **temperature) -> Path:
    """A copy of the study's default configuration with its [temperature] table replaced."""
    from importlib import resources

    import tomli_w

    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib

    text = resources.files("cooperon").joinpath(f"default_{study}.toml").read_text("utf-8")
    cfg = tomllib.loads(text)
    cfg["temperature"] = {**cfg["temperature"], **temperature}
    path = directory / f"{study}_{'_'.join(f'{k}{v}' for k, v in temperature.items())}.toml"
    path.write_text(tomli_w.dumps(cfg))
    return path


def _run(study: str, out: Path, *extra: str) -> float:
    """Run ``python -m cooperon STUDY`` in a subprocess; returns its wall time."""
    cmd = [sys.executable, "-m", "cooperon", study, "--no-progress", "--output-dir", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, *extra], env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd + list(extra))} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return wall


def _dataset(out: Path):
    import xarray as xr

    (nc,) = sorted(out.glob("*.nc"))
    with xr.open_dataset(nc) as ds:
        return ds.load()


def _per_temperature(ds) -> str:
    sec = np.asarray(ds["seconds"].values, dtype=float)
    T = np.asarray(ds["T"].values, dtype=float)
    ok = np.isfinite(sec)
    i = int(np.nanargmax(sec))
    st = ds["status"].values
    n_ok, n_nc = int(np.sum(st == 0)), int(np.sum(st == 1))
    return (
        f"{T.size} temperatures: {n_ok} ok, {n_nc} not converged to rtol everywhere, "
        f"{T.size - n_ok - n_nc} without a direct solution; per temperature "
        f"median {np.median(sec[ok]):.2f} s, max {sec[i]:.2f} s at T = {T[i] * 1e3:.3g} mK"
    )


def bench(study: str, baseline: bool, tmp: Path) -> None:
    print(f"\n== cooperon {study} (default configuration)")
    t_start = _run(
        study,
        tmp / f"{study}_startup",
        "--config",
        str(_config_with(study, tmp, num=1, start=1.0, stop=1.0)),
    )
    print(f"start-up run (one temperature, warm Numba cache, includes imports): {t_start:.1f} s")

    wall = _run(study, tmp / f"{study}_default")
    ds = _dataset(tmp / f"{study}_default")
    flag = "" if wall <= TARGETS[study] else "  SLOW"
    print(f"wall time {wall:.1f} s (target {TARGETS[study]:.0f} s){flag}")
    print("  " + _per_temperature(ds))

    n = ds.sizes["T"]
    half = _config_with(study, tmp, num=max(n // 2, 2))
    wall_half = _run(study, tmp / f"{study}_half", "--config", str(half))
    exponent = math.log(wall / wall_half) / math.log(n / max(n // 2, 2))
    print(
        f"half the temperatures ({max(n // 2, 2)}): {wall_half:.1f} s; "
        f"exponent of wall time in the number of temperatures: {exponent:.2f}"
    )

    if baseline:
        wall_sync = _run(study, tmp / f"{study}_sync", "--scheduler", "synchronous")
        print(
            f"baseline --scheduler synchronous: {wall_sync:.1f} s; "
            f"speed-up of the default pool: {wall_sync / wall:.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", choices=["dephasing", "magneto", "both"], default="both")
    ap.add_argument(
        "--baseline", action="store_true", help="also run each study with --scheduler synchronous"
    )
    args = ap.parse_args(argv)
    studies = ["dephasing", "magneto"] if args.study == "both" else [args.study]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        for study in studies:
            bench(study, args.baseline, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
