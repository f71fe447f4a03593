"""Tests of the command-line program ``cooperon compare``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from cooperon import Parameters, compare
from cooperon.cli import main

REPO = Path(__file__).resolve().parents[2]

QUICK_ARGS = ["compare", "--tau-over-tau3", "0.1", "--gamma-tau", "0.1", "--Dq2-tau", "0.02"]


def test_compare_prints_table_and_writes_file(tmp_path, capsys):
    out_file = tmp_path / "point.nc"
    assert main([*QUICK_ARGS, "--output", str(out_file)]) == 0
    out = capsys.readouterr().out
    for label in (
        "F(0), Eq. (24) direct",
        "estimated error",
        "F(0), Eq. (32) as printed",
        "F(0), Eq. (27) + WKB (31)",
        "deviation of (32)",
        "deviation of (27)",
        "lambda_max",
        "converged",
    ):
        assert label in out, label
    assert "tau_over_tau3=0.1" in out
    assert "-8.6" in out  # (32) is 8.6 % low (docs/equations.md quick check)
    assert "-2.1" in out  # the consistent (27) = ∫e^ϑ is 2.10 % low
    assert f"wrote {out_file}" in out
    assert out_file.exists()
    ref = compare(Parameters(tau_over_tau3=0.1, gamma_tau=0.1, Dq2_tau=0.02), rtol=1e-8)
    with xr.open_dataset(out_file, engine="h5netcdf") as ds:
        assert float(ds.F0_direct) == float(ref.F0_direct)
        assert float(ds.dev_eq27) == float(ref.dev_eq27)
        assert ds.F0_direct.attrs["long_name"] == ref.F0_direct.attrs["long_name"]
        assert ds.attrs["rtol"] == 1e-8


def test_compare_without_output_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*QUICK_ARGS, "--rtol", "1e-6"]) == 0
    assert "wrote" not in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--tau-over-tau3", "-0.1"], ["tau_over_tau3"]),
        (["--tau-over-tau1", "0.7", "--tau-over-tau3", "0.5"], ["tau_over_tau1", "tau_over_tau3"]),
        (["--gamma-tau", "nan"], ["gamma_tau"]),
        (["--E-tau", "-1"], ["E_tau"]),
        (["--Dq2-tau", "inf"], ["Dq2_tau"]),
        (["--rtol", "0.5"], ["rtol"]),
    ],
)
def test_invalid_values_exit_nonzero_naming_parameter(args, names, capsys, tmp_path):
    out_file = tmp_path / "never.nc"
    code = main(["compare", *args, "--output", str(out_file)])
    assert code != 0
    err = capsys.readouterr().err
    for name in names:
        assert name in err, err
    assert not out_file.exists()


def test_no_cutoff_exit_code(capsys):
    code = main(["compare", "--tau-over-tau3", "0.3", "--gamma-tau", "0", "--Dq2-tau", "0"])
    assert code != 0
    assert "infinity" in capsys.readouterr().err


def test_unparsable_flag_value(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--gamma-tau", "abc"])
    assert exc.value.code != 0
    assert "gamma-tau" in capsys.readouterr().err


def test_python_dash_m_help():
    """``python -m cooperon compare --help`` in a fresh interpreter.

    Run from the repository root with it on PYTHONPATH, so the test does not
    depend on how the package was installed.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    res = subprocess.run(
        [sys.executable, "-m", "cooperon", "compare", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    for flag in (
        "--tau-over-tau1",
        "--tau-over-tau3",
        "--E-tau",
        "--gamma-tau",
        "--Dq2-tau",
        "--rtol",
        "--output",
    ):
        assert flag in res.stdout, flag
