"""Tests of cooperon.config: TOML sweep/map configurations, validated before any work.

Every bad configuration must be refused with a ``ValueError`` whose message
names the offending key (dotted path), and ``cooperon map`` must refuse it
before creating its output directory.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from cooperon.cli import main
from cooperon.studies.config import (
    PARAMETER_NAMES,
    SweepConfig,
    load_maps_config,
    load_sweep_config,
    load_toml,
    parse_maps_config,
    parse_sweep_config,
)

GOOD = textwrap.dedent(
    """
    rtol = 1e-6
    chunks = 4

    [axes.tau_over_tau3]
    start = 1e-3
    stop = 0.5
    num = 5
    scale = "log"

    [axes.gamma_tau]
    values = [0.01, 0.1, 1.0]

    [fixed]
    Dq2_tau = 1e-2
    """
)


def _parse(text: str) -> SweepConfig:
    return parse_sweep_config(load_toml(textwrap.dedent(text)))


def test_good_config_parses_to_exact_grid():
    cfg = _parse(GOOD)
    assert cfg.names == ("tau_over_tau3", "gamma_tau")
    np.testing.assert_array_equal(cfg.axis("tau_over_tau3").values, np.geomspace(1e-3, 0.5, 5))
    assert cfg.axis("tau_over_tau3").values[-1] == 0.5  # end points exact
    np.testing.assert_array_equal(cfg.axis("gamma_tau").values, [0.01, 0.1, 1.0])
    assert cfg.fixed == {"Dq2_tau": 0.01}
    assert cfg.rtol == 1e-6
    assert cfg.chunks == {"tau_over_tau3": 4, "gamma_tau": 4}
    assert cfg.shape == (5, 3)


def test_to_toml_round_trips_exactly():
    cfg = _parse(GOOD)
    back = _parse(cfg.to_toml())
    assert back.fingerprint() == cfg.fingerprint()
    for a, b in zip(cfg.axes, back.axes, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
    # linear axis with awkward floats
    cfg2 = SweepConfig.from_arrays({"E_tau": [0.1, 1 / 3, math.pi]}, {"Dq2_tau": 0.1})
    back2 = _parse(cfg2.to_toml())
    np.testing.assert_array_equal(back2.axis("E_tau").values, [0.1, 1 / 3, math.pi])


def test_fingerprint_fills_default_fixed_values():
    a = SweepConfig.from_arrays({"gamma_tau": [0.1, 1.0]}, {})
    b = SweepConfig.from_arrays({"gamma_tau": [0.1, 1.0]}, {"E_tau": 0.0})
    c = SweepConfig.from_arrays({"gamma_tau": [0.1, 1.0]}, {"E_tau": 0.5})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


AXIS = '[axes.gamma_tau]\nstart = 0.01\nstop = 10.0\nnum = 4\nscale = "log"\n'

BAD = {
    "unknown parameter": ("[axes.gamma]\nvalues = [1.0]\n", "axes.gamma:"),
    "unknown fixed parameter": (AXIS + "[fixed]\nDq2 = 0.1\n", "fixed.Dq2:"),
    "unknown top-level key": ("rtoll = 1e-6\n" + AXIS, "rtoll:"),
    "unknown axis key": (
        "[axes.gamma_tau]\nstart = 0.1\nstop = 1.0\nnum = 2\nstep = 1\n",
        "axes.gamma_tau.step:",
    ),
    "no axes": ("rtol = 1e-6\n", "axes:"),
    "empty num": (AXIS.replace("num = 4", "num = 0"), "axes.gamma_tau.num:"),
    "empty values": ("[axes.gamma_tau]\nvalues = []\n", "axes.gamma_tau.values:"),
    "num not integer": (AXIS.replace("num = 4", "num = 4.5"), "axes.gamma_tau.num:"),
    "missing stop": ("[axes.gamma_tau]\nstart = 0.1\nnum = 3\n", "axes.gamma_tau.stop:"),
    "values and start": (
        "[axes.gamma_tau]\nvalues = [1.0]\nstart = 0.1\n",
        "axes.gamma_tau.start:",
    ),
    "nan value": ("[axes.gamma_tau]\nvalues = [0.1, nan]\n", r"axes.gamma_tau.values[1]:"),
    "inf start": (AXIS.replace("start = 0.01", "start = inf"), "axes.gamma_tau.start:"),
    "inf fixed": (AXIS + "[fixed]\nDq2_tau = inf\n", "fixed.Dq2_tau:"),
    "string value": ('[axes.gamma_tau]\nvalues = [0.1, "x"]\n', "axes.gamma_tau.values[1]:"),
    "bool value": ("[axes.gamma_tau]\nvalues = [true]\n", "axes.gamma_tau.values[0]:"),
    "not increasing": ("[axes.gamma_tau]\nvalues = [0.1, 0.1]\n", "axes.gamma_tau.values[1]:"),
    "stop below start": (
        "[axes.gamma_tau]\nstart = 1.0\nstop = 0.1\nnum = 3\n",
        "axes.gamma_tau.stop:",
    ),
    "log start zero": (AXIS.replace("start = 0.01", "start = 0.0"), "axes.gamma_tau.start:"),
    "log start negative": (
        AXIS.replace("start = 0.01", "start = -1.0"),
        "axes.gamma_tau.start:",
    ),
    "bad scale": (AXIS.replace('"log"', '"ln"'), "axes.gamma_tau.scale:"),
    "negative linear axis": (
        "[axes.E_tau]\nstart = -0.1\nstop = 1.0\nnum = 3\n",
        "axes.E_tau.start:",
    ),
    "negative value": ("[axes.E_tau]\nvalues = [-1.0, 1.0]\n", "axes.E_tau.values[0]:"),
    "negative fixed": (AXIS + "[fixed]\nDq2_tau = -0.1\n", "fixed.Dq2_tau:"),
    "r1 + r3 > 1 (axis)": (
        "[axes.tau_over_tau3]\nstart = 0.1\nstop = 0.6\nnum = 3\n"
        "[fixed]\ntau_over_tau1 = 0.5\nE_tau = 1.0\n",
        "axes.tau_over_tau3.stop:",
    ),
    "r1 + r3 > 1 (two axes)": (
        "[axes.tau_over_tau1]\nvalues = [0.1, 0.7]\n[axes.tau_over_tau3]\nvalues = [0.1, 0.4]\n",
        "axes.tau_over_tau3.values[1]:",
    ),
    "r1 + r3 > 1 (fixed)": (
        AXIS + "[fixed]\ntau_over_tau1 = 0.6\ntau_over_tau3 = 0.6\n",
        "fixed.tau_over_tau",
    ),
    "axis and fixed": (AXIS + "[fixed]\ngamma_tau = 1.0\n", "fixed.gamma_tau:"),
    "rtol zero": ("rtol = 0.0\n" + AXIS, "rtol:"),
    "rtol too large": ("rtol = 0.5\n" + AXIS, "rtol:"),
    "rtol string": ('rtol = "1e-6"\n' + AXIS, "rtol:"),
    "rtol nan": ("rtol = nan\n" + AXIS, "rtol:"),
    "chunks zero": ("chunks = 0\n" + AXIS, "chunks:"),
    "chunks not an axis": ("chunks = { E_tau = 2 }\n" + AXIS, "chunks.E_tau:"),
    "axes not a table": ("axes = 3\n", "axes:"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_config_names_the_key(case):
    text, key = BAD[case]
    with pytest.raises(ValueError) as info:
        _parse(text)
    assert str(info.value).startswith(key), str(info.value)


def test_invalid_toml_syntax_names_the_file(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[axes.gamma_tau\nvalues = [1]\n")
    with pytest.raises(ValueError, match="broken.toml: invalid TOML"):
        load_sweep_config(f)


# --------------------------------------------------------------------------
# maps files
# --------------------------------------------------------------------------


def test_default_maps_config_loads():
    cfg = load_maps_config()
    assert [m.name for m in cfg.maps] == ["r3_g", "r1_eps", "lambda_Q"]
    for m in cfg.maps:
        assert len(m.sweep.axes) == 2
        assert {m.x, m.y} == set(m.sweep.names)
        for a in m.sweep.axes:
            assert a.scale == "log"
    byname = {m.name: m for m in cfg.maps}
    assert byname["r3_g"].sweep.fixed == {"Dq2_tau": 0.01}
    assert byname["lambda_Q"].sweep.fixed == {"gamma_tau": 1.0}
    q = cfg.quick()
    assert all(m.sweep.shape == (cfg.quick_num,) * 2 for m in q.maps)
    assert all(m.name.endswith("_quick") for m in q.maps)
    back = parse_maps_config(load_toml(cfg.to_toml()))
    assert [m.sweep.fingerprint() for m in back.maps] == [m.sweep.fingerprint() for m in cfg.maps]


MAP = (
    '[maps.m]\nx = "gamma_tau"\n[maps.m.axes.tau_over_tau3]\nvalues = [0.1, 0.2]\n'
    + AXIS.replace("[axes.", "[maps.m.axes.")
)

BAD_MAPS = {
    "one axis": (
        "[maps.m.axes.gamma_tau]\nvalues = [0.1, 0.2]\n",
        "maps.m.axes:",
    ),
    "x not an axis": (MAP.replace('x = "gamma_tau"', 'x = "E_tau"'), "maps.m.x:"),
    "bad axis in map": (MAP.replace("num = 4", "num = 0"), "maps.m.axes.gamma_tau.num:"),
    "unknown map key": (MAP + "[maps.m.foo]\n", "maps.m.foo:"),
    "bad fit": (MAP + "[maps.m.fit]\nmax_dev = -1.0\n", "maps.m.fit.max_dev:"),
    "bad global rtol": ("rtol = 2.0\n" + MAP, "rtol:"),
    "r1 + r3 > 1 in map": (
        MAP + "[maps.m.fixed]\ntau_over_tau1 = 0.95\nE_tau = 1.0\n",
        "maps.m.axes.tau_over_tau3.values[1]:",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MAPS))
def test_bad_maps_config_names_the_key(case):
    text, key = BAD_MAPS[case]
    with pytest.raises(ValueError) as info:
        parse_maps_config(load_toml(text))
    assert str(info.value).startswith(key), str(info.value)


def test_single_sweep_file_is_one_map(tmp_path):
    f = tmp_path / "mysweep.toml"
    f.write_text(GOOD)
    cfg = load_maps_config(f)
    assert [m.name for m in cfg.maps] == ["mysweep"]
    m = cfg.maps[0]
    assert (m.y, m.x) == ("tau_over_tau3", "gamma_tau")


@pytest.mark.parametrize(
    "case", ["empty num", "r1 + r3 > 1 (axis)", "axis and fixed", "rtol zero", "log start zero"]
)
def test_cooperon_map_refuses_bad_config_before_any_work(case, tmp_path, capsys):
    text, key = BAD[case]
    f = tmp_path / "bad.toml"
    f.write_text(text)
    out = tmp_path / "maps-out"
    assert main(["map", "--config", str(f), "--output-dir", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert key.rstrip(":") in err, err
    assert not out.exists()  # nothing was created: validation came first


def test_cooperon_map_refuses_bad_rtol_option(tmp_path, capsys):
    out = tmp_path / "maps-out"
    assert main(["map", "--quick", "--rtol", "0", "--output-dir", str(out)]) == 2
    assert "--rtol" in capsys.readouterr().err
    assert not out.exists()


def test_parameter_names_match_parameters():
    from cooperon import Parameters

    assert set(PARAMETER_NAMES) == set(Parameters().as_dict())
