"""Tests of cooperon.studies.temperature_config: the TOML configurations of ``cooperon
dephasing`` and ``cooperon magneto``, validated before any computation.

Every bad configuration must be refused with a ``ValueError`` whose message starts
with the dotted key; the command line must exit with status 2, one line on stderr,
and write nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import pytest
from _scan_helpers import MODEL, TAU_I, one_line, run_cooperon, scan_doc, write_config

from cooperon.cli import main
from cooperon.studies.temperature_config import load_scan_config, parse_scan_config

T3 = [0.05, 0.5, 5.0]
GLASS = {"kind": "glass", "E_star": 1.0, "p_min": 1e-3, "chi": 0.1, "tau": 1e-13, "tau_i": 1e-11}
BARRIER = {
    "kind": "gaussian_barrier",
    "Lambda0": 0.01,
    "E_star": 1.0,
    "chi": 0.1,
    "tau": 1e-13,
    "tau_Lambda": 1e-9,
    "sigma_lambda": 0.5,
}


# --------------------------------------------------------------------------
# good configurations
# --------------------------------------------------------------------------


def test_small_dephasing_config_parses_exactly():
    cfg = parse_scan_config(scan_doc("dephasing", T3), "dephasing")
    assert cfg.study == "dephasing" and cfg.rtol == 1e-3 and cfg.chunks == 1
    assert cfg.max_history == 1e8 and cfg.fields is None
    (scan,) = cfg.scans
    np.testing.assert_array_equal(scan.T, T3)
    assert scan.D == 1e-3
    spec = scan.spec
    assert (spec.name, spec.title, spec.kind) == ("small", "small", "tunneling")
    # tau_Lambda was given: tau_i = tau_Lambda Lambda0/E_star (Eq. 43), and back
    assert spec.params["tau_i"] == TAU_I and "tau_Lambda" not in spec.params
    assert spec.tau_Lambda == pytest.approx(MODEL["tau_Lambda"], rel=1e-15)
    assert spec.given["tau_Lambda"] == 1e-9 and spec.tau == 1e-13 and spec.Lambda0 == 0.01
    model = spec.build(0.5)
    assert type(model).__name__ == "TunnelingModel" and model.T == 0.5
    assert model.tau_i == TAU_I


def test_start_stop_num_temperatures_are_log_spaced_with_exact_ends():
    doc = scan_doc("dephasing", T3)
    doc["temperature"] = {"start": 1e-3, "stop": 10.0, "num": 9}
    (scan,) = parse_scan_config(doc, "dephasing").scans
    np.testing.assert_array_equal(scan.T, np.geomspace(1e-3, 10.0, 9))
    assert scan.T[0] == 1e-3 and scan.T[-1] == 10.0
    doc["temperature"]["scale"] = "linear"
    (scan,) = parse_scan_config(doc, "dephasing").scans
    np.testing.assert_array_equal(scan.T, np.linspace(1e-3, 10.0, 9))


def test_magneto_config_has_the_field_grid():
    doc = scan_doc("magneto", T3)
    doc["magneto"]["alpha_free"] = True
    cfg = parse_scan_config(doc, "magneto")
    np.testing.assert_array_equal(cfg.fields, np.geomspace(0.01, 100.0, 9))
    assert cfg.field_spec == {"min_over_B_phi": 0.01, "max_over_B_phi": 100.0, "num": 9}
    assert cfg.magneto_rtol == 1e-3 and cfg.alpha_free is True
    table = cfg.scan_table(cfg.scans[0])
    assert table["D"] == 1e-3 and table["magneto"] == {"rtol": 1e-3, "alpha_free": True}


def test_every_kind_and_per_model_overrides():
    doc = scan_doc("dephasing", T3)
    del doc["D"]
    doc["models"]["glass"] = dict(GLASS, temperature={"values": [0.1, 1.0]}, D=2e-3)
    doc["models"]["barrier"] = dict(BARRIER, title="spread barriers")
    cfg = parse_scan_config(doc, "dephasing")
    small, glass, barrier = cfg.scans
    assert small.D is None and glass.D == 2e-3 and barrier.D is None
    np.testing.assert_array_equal(glass.T, [0.1, 1.0])
    np.testing.assert_array_equal(barrier.T, T3)
    assert glass.spec.Lambda0 is None and glass.spec.tau_Lambda is None
    assert barrier.spec.title == "spread barriers"
    assert [type(s.spec.build(0.5)).__name__ for s in cfg.scans] == [
        "TunnelingModel",
        "GlassModel",
        "GaussianBarrier",
    ]


def test_fingerprint_covers_exactly_what_the_numbers_depend_on():
    def fp(study, change: Callable[[dict], None] = lambda d: None) -> str:
        doc = scan_doc(study, T3)
        change(doc)
        cfg = parse_scan_config(doc, study)
        return cfg.fingerprint(cfg.scans[0])

    base = fp("dephasing")
    assert fp("dephasing") == base
    # D enters dephasing only through the derived B_phi, L_phi: same store
    assert fp("dephasing", lambda d: d.update(D=5e-3)) == base
    # a temperature one ulp away, another rtol, another model: another store
    nudged = [T3[0], float(np.nextafter(T3[1], 1.0)), T3[2]]
    assert fp("dephasing", lambda d: d.update(temperature={"values": nudged})) != base
    assert fp("dephasing", lambda d: d.update(rtol=2e-3)) != base
    assert fp("dephasing", lambda d: d["models"]["small"].update(chi=0.2)) != base
    assert fp("dephasing", lambda d: d.update(max_history=1e7)) != base
    # tau_Lambda or the equivalent tau_i: the same inputs
    same = {k: v for k, v in MODEL.items() if k != "tau_Lambda"} | {"tau_i": TAU_I}
    assert fp("dephasing", lambda d: d["models"].update(small=same)) == base
    # magneto: D and the fields change the curves
    mbase = fp("magneto")
    assert mbase != base
    assert fp("magneto", lambda d: d.update(D=5e-3)) != mbase
    assert fp("magneto", lambda d: d["fields"].update(num=11)) != mbase
    assert fp("magneto", lambda d: d["magneto"].update(alpha_free=True)) != mbase


def test_quick_keeps_the_ends_and_renames():
    doc = scan_doc("dephasing", T3, quick_num=2)
    doc["temperature"] = {"start": 1e-3, "stop": 10.0, "num": 40}
    cfg = parse_scan_config(doc, "dephasing").quick()
    (scan,) = cfg.scans
    assert scan.spec.name == "small_quick"
    np.testing.assert_array_equal(scan.T, [1e-3, 10.0])


@pytest.mark.parametrize("study", ["dephasing", "magneto"])
def test_default_configs_load(study):
    cfg = load_scan_config(study)
    (scan,) = cfg.scans
    n = {"dephasing": 40, "magneto": 21}[study]
    np.testing.assert_array_equal(scan.T, np.geomspace(1e-3, 10.0, n))
    assert scan.spec.kind == "tunneling" and scan.D == 1e-3
    # the Sec. III numbers: tau_Lambda = 1e-9 s with E* = 1 K gives tau_i = 1e-11 s
    assert scan.spec.params["tau_i"] == pytest.approx(1e-11, rel=1e-15)
    assert cfg.source == f"cooperon/default_{study}.toml"
    if study == "magneto":
        np.testing.assert_array_equal(cfg.fields, np.geomspace(0.01, 100.0, 31))


# --------------------------------------------------------------------------
# bad configurations: ValueError naming the dotted key
# --------------------------------------------------------------------------


def _set(*path_value):
    """A change of the document: set doc[p0][p1]... = value (None: delete)."""
    *path, value = path_value

    def change(doc):
        table = doc
        for p in path[:-1]:
            table = table[p]
        if value is None:
            del table[path[-1]]
        else:
            table[path[-1]] = value

    return change


#: case -> (study, change of the small document, the key the message starts with)
BAD: dict[str, tuple[str, Callable[[dict], None], str]] = {
    "typo at the top level": ("dephasing", _set("rtoll", 1e-3), "rtoll"),
    "typo in [temperature]": (
        "dephasing",
        _set("temperature", {"start": 0.05, "stop": 5.0, "nmu": 3}),
        "temperature.nmu",
    ),
    "typo beside values": ("dephasing", _set("temperature", "scael", "log"), "temperature.scael"),
    "typo in a model table": (
        "dephasing",
        _set("models", "small", "Lamda0", 0.01),
        "models.small.Lamda0",
    ),
    "typo in [fields]": ("magneto", _set("fields", "nmu", 9), "fields.nmu"),
    "typo in [magneto]": ("magneto", _set("magneto", "alphafree", True), "magneto.alphafree"),
    "[fields] in a dephasing config": ("dephasing", _set("fields", {"num": 9}), "fields"),
    "T = 0 in values": (
        "dephasing",
        _set("temperature", "values", [0.0, 1.0]),
        "temperature.values[0]",
    ),
    "T < 0 in values": (
        "dephasing",
        _set("temperature", "values", [-1.0, 1.0]),
        "temperature.values[0]",
    ),
    "T = 0 linear start": (
        "dephasing",
        _set("temperature", {"start": 0.0, "stop": 1.0, "num": 3, "scale": "linear"}),
        "temperature.start",
    ),
    "T = 0 log start": (
        "dephasing",
        _set("temperature", {"start": 0.0, "stop": 1.0, "num": 3}),
        "temperature.start",
    ),
    "T <= 0 in a model's grid": (
        "dephasing",
        _set("models", "small", "temperature", {"values": [-0.5, 1.0]}),
        "models.small.temperature.values[0]",
    ),
    "no temperature at all": ("dephasing", _set("temperature", None), "models.small.temperature"),
    "Lambda0 > E_star": (
        "dephasing",
        _set("models", "small", "Lambda0", 2.0),
        "models.small.E_star",
    ),
    "Lambda0 = E_star": (
        "dephasing",
        _set("models", "small", "Lambda0", 1.0),
        "models.small.E_star",
    ),
    "chi < 0": ("dephasing", _set("models", "small", "chi", -0.1), "models.small.chi"),
    "tau <= 0": ("dephasing", _set("models", "small", "tau", 0.0), "models.small.tau"),
    "tau_Lambda <= 0": (
        "dephasing",
        _set("models", "small", "tau_Lambda", -1e-9),
        "models.small.tau_Lambda",
    ),
    "tau_Lambda and tau_i": (
        "dephasing",
        _set("models", "small", "tau_i", 1e-11),
        "models.small.tau_Lambda",
    ),
    "neither tau_Lambda nor tau_i": (
        "dephasing",
        _set("models", "small", "tau_Lambda", None),
        "models.small.tau_Lambda",
    ),
    "r1 + r3 > 1 (Eq. 20)": (
        "dephasing",
        _set("models", "small", "tau_Lambda", 1e-12),
        "models.small",
    ),
    "a parameter missing": ("dephasing", _set("models", "small", "chi", None), "models.small.chi"),
    "a string for a number": (
        "dephasing",
        _set("models", "small", "Lambda0", "ten"),
        "models.small.Lambda0",
    ),
    "unknown kind": (
        "dephasing",
        _set("models", "small", "kind", "tunnelling"),
        "models.small.kind",
    ),
    "glass p_min > 1": ("dephasing", _set("models", "g", dict(GLASS, p_min=1.5)), "models.g.p_min"),
    "glass p_min = 0": ("dephasing", _set("models", "g", dict(GLASS, p_min=0.0)), "models.g.p_min"),
    "glass with tau_Lambda": (
        "dephasing",
        _set("models", "g", dict(GLASS, tau_Lambda=1e-9)),
        "models.g.tau_Lambda",
    ),
    "barrier sigma_lambda < 0": (
        "dephasing",
        _set("models", "b", dict(BARRIER, sigma_lambda=-0.5)),
        "models.b.sigma_lambda",
    ),
    "model D <= 0": ("dephasing", _set("models", "small", "D", -1.0), "models.small.D"),
    "rtol out of range": ("dephasing", _set("rtol", 0.5), "rtol"),
    "chunks = 0": ("dephasing", _set("chunks", 0), "chunks"),
    "no models": ("dephasing", _set("models", {}), "models"),
    "bad model name": ("dephasing", _set("models", "a b", dict(GLASS)), "models.a b"),
    "magneto without D": ("magneto", _set("D", None), "D"),
    "magneto: < 5 fields": ("magneto", _set("fields", "num", 4), "fields.num"),
    "magneto: max <= min": (
        "magneto",
        _set("fields", "max_over_B_phi", 0.001),
        "fields.max_over_B_phi",
    ),
    "magneto: min <= 0": (
        "magneto",
        _set("fields", "min_over_B_phi", -1.0),
        "fields.min_over_B_phi",
    ),
    "magneto: rtol out of range": ("magneto", _set("magneto", "rtol", 1.0), "magneto.rtol"),
    "magneto: alpha_free not bool": (
        "magneto",
        _set("magneto", "alpha_free", "yes"),
        "magneto.alpha_free",
    ),
}


def _bad_doc(case: str) -> tuple[str, dict, str]:
    """(study, the small document with the BAD change, the key to be named)."""
    study, change, key = BAD[case]
    doc = scan_doc(study, T3)
    change(doc)
    return study, doc, key


def _refusal(case: str) -> str:
    study, doc, _ = _bad_doc(case)
    with pytest.raises(ValueError) as info:
        parse_scan_config(doc, study)
    return str(info.value)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_names_the_dotted_key(case):
    msg = _refusal(case)
    assert msg.startswith(f"{BAD[case][2]}: "), msg


def test_five_fields_are_enough():
    doc = scan_doc("magneto", T3)
    doc["fields"]["num"] = 5
    assert parse_scan_config(doc, "magneto").fields.size == 5


def test_a_model_bad_only_at_the_last_temperature_is_refused():
    """Every model is built at every temperature of its grid: Eq. (20) needs
    (tau/tau_i) cosh^-2(Lambda0/2T)/4 <= 1, which tau/tau_i = 4.4 meets below
    T = 16 mK (cosh^-2 = 1/1.1 at Lambda0/2T = 0.31) and breaks above."""
    doc = scan_doc("dephasing", [0.005, 0.01])
    doc["models"]["small"]["tau_Lambda"] = MODEL["tau"] / 4.4 * MODEL["E_star"] / MODEL["Lambda0"]
    assert parse_scan_config(doc, "dephasing").scans[0].T.size == 2
    doc["temperature"]["values"].append(0.1)
    with pytest.raises(ValueError) as info:
        parse_scan_config(doc, "dephasing")
    msg = str(info.value)
    assert msg.startswith("models.small: at T = "), msg
    assert "0.1" in msg.split(" K: ")[0], msg  # the temperature where it fails
    assert "(Eq. 20)" in msg and "> 1" in msg


@pytest.mark.parametrize("case", ["T = 0 in values", "r1 + r3 > 1 (Eq. 20)"])
def test_messages_show_plain_numbers(case):
    msg = _refusal(case)
    assert "np.float64" not in msg, msg


def test_missing_file_and_bad_toml_name_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"^--config '.*nope\.toml': "):
        load_scan_config("dephasing", tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("rtol = = 1\n")
    with pytest.raises(ValueError, match=rf"^{bad}: invalid TOML"):
        load_scan_config("magneto", bad)
    with pytest.raises(ValueError, match="study must be one of"):
        parse_scan_config(scan_doc("dephasing", T3), "maps")


def test_a_bad_second_model_stops_the_run_before_the_first_is_computed(tmp_path, capsys):
    """Validation of the whole file comes first: nothing is computed or written."""
    doc = scan_doc("dephasing", T3)
    doc["models"]["later"] = copy.deepcopy(MODEL) | {"Lambda0": 3.0}
    cfg = write_config(tmp_path / "two.toml", doc)
    out = tmp_path / "out"
    args = ["dephasing", "--config", str(cfg), "--output-dir", str(out), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("cooperon dephasing: models.later.E_star: must lie in (Lambda0, ∞)"), err
    assert not out.exists()


#: (study, BAD case) run through ``python -m cooperon`` in a subprocess
CLI_CASES = [
    ("dephasing", "typo in a model table"),
    ("dephasing", "Lambda0 > E_star"),
    ("magneto", "magneto without D"),
]


@pytest.mark.parametrize(("study", "case"), CLI_CASES)
def test_cli_refuses_a_bad_config_with_one_line_and_writes_nothing(study, case, tmp_path):
    bad_study, doc, key = _bad_doc(case)
    assert bad_study == study
    cfg = write_config(tmp_path / "bad.toml", doc)
    out = tmp_path / "out"
    res = run_cooperon(study, "--config", str(cfg), "--output-dir", str(out), timeout=120)
    assert res.returncode == 2, res.stderr
    assert one_line(res.stderr).startswith(f"cooperon {study}: {key}: ")
    assert res.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.mark.parametrize(
    "case", [c for c in sorted(BAD) if c.startswith("typo")], ids=lambda c: c.replace(" ", "_")
)
def test_a_typo_is_called_an_unknown_key(case):
    """A misspelt key is reported as unknown, also beside ``values`` (not as "not both")."""
    assert "unknown key" in _refusal(case)
