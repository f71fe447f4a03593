"""validation/honesty_study.py run as a user runs it: a subprocess, killed and started again."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr

SCRIPT = Path(__file__).resolve().parents[2] / "validation" / "honesty_study.py"


def _study():
    spec = importlib.util.spec_from_file_location("honesty_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(out: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), "--quick", "--no-progress", "--output-dir", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _row(study, rate, eps, g, F0, code):
    rec = {"F0": F0, "error": 1e-6, "status": 0, "harmonics": 0, "order": 6, "points": 9,
           "T": 1.0, "h": 1.0, "message": "", "seconds": 0.0}  # fmt: skip
    ref = {**rec, "error": 1e-9}
    settings = {"rtols": study.RTOLS, "references": study.REFERENCES,
                "T_factor": study.T_FACTOR, "code": code}  # fmt: skip
    return {"rate": rate, "eps": eps, "g": g,
            "tested": {repr(r): rec for r in study.RTOLS},
            "reference": {m: ref for m in study.REFERENCES}, "settings": settings}  # fmt: skip


def test_checkpointed_points_are_reused_only_from_the_same_code(tmp_path):
    # two points of the quick cube are in the checkpoint already: one written by this code
    # (F0 = 123, reused as it stands), one by other code (F0 = 456, computed again); the
    # other six are computed, the criterion holds everywhere, and the checkpoint is removed
    study = _study()
    code = study.code_fingerprint()
    r, e = study.QUICK_RATES, study.QUICK_SCALES
    out = tmp_path / "study"
    out.mkdir()
    rows = [_row(study, r[0], e[0], e[1], 123.0, code), _row(study, r[1], e[1], e[0], 456.0, "x")]
    (out / ".honesty_points.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))
    proc = _run(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "resuming: 1 of 8 points" in proc.stdout
    assert "criterion broken at 0" in proc.stdout
    ds = xr.load_dataset(out / "honesty.nc")
    assert dict(ds.sizes) == {"rate": 2, "eps": 2, "g": 2, "rtol": 2, "reference": 2}
    assert np.all(ds["F0"].sel(rate=r[0], eps=e[0], g=e[1]).values == 123.0)
    assert np.all(np.abs(ds["F0"].sel(rate=r[1], eps=e[1], g=e[0]).values - 456.0) > 1.0)
    assert bool(ds["honest"].all()) and int((ds["status"] == 0).sum()) == 16
    assert (out / "honesty.png").stat().st_size > 0
    assert not (out / ".honesty_points.jsonl").exists()


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    # SIGKILL once the first points are checkpointed; the run started again says how many it
    # reuses, computes only the others and writes the whole dataset
    out = tmp_path / "study"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--no-progress", "--output-dir", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = out / ".honesty_points.jsonl"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if checkpoint.exists() and checkpoint.read_text().count("\n") >= 2:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    done = checkpoint.read_text().count("\n")
    assert 2 <= done < 8
    assert not (out / "honesty.nc").exists()
    again = _run(out)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"resuming: {done} of 8 points" in again.stdout
    ds = xr.load_dataset(out / "honesty.nc")
    assert int(np.isfinite(ds["F0"]).sum()) == 16 and bool(ds["honest"].all())


def test_a_second_run_on_a_held_directory_stops_at_once_and_a_killed_one_holds_nothing(tmp_path):
    # a run holds its --output-dir while it works: a second run there exits 2 at once with a
    # message naming the directory and the holder's pid, and writes nothing; SIGKILL of the
    # first releases the hold (the kernel drops the flock), so a third run starts
    out = tmp_path / "study"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--no-progress", "--output-dir", str(out)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        lock = out / ".run.lock"
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never held its directory"
            time.sleep(0.05)
        before = sorted(p.name for p in out.iterdir())
        start = time.monotonic()
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"another run (pid {first.pid}) is writing there" in second.stderr
        assert str(out) in second.stderr
        assert time.monotonic() - start < 30  # (an import, no point computed)
        assert "resuming" not in second.stdout
        assert sorted(p.name for p in out.iterdir()) == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    third = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while lock.read_text().strip() != str(third.pid):
            assert third.poll() is None, third.communicate()
            assert time.monotonic() < deadline, "the third run never held the directory"
            time.sleep(0.05)
    finally:
        third.send_signal(signal.SIGKILL)
        third.communicate()
