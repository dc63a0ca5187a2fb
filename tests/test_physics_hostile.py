"""Hostile physics values, values files and parameter spaces: each is refused with a ParameterError
naming the parameter (and file), what was expected and what was found, before MuJoCo sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench import load_scene
from workbench.calibrate import ParameterSpace
from workbench.errors import ParameterError
from workbench.physics import check_values, load_values, resolve, set_values, values_applied

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pendulum():
    return load_scene("double_pendulum")


@pytest.fixture(scope="module")
def cube():
    return load_scene("cube_toss")


# (name, value, words the message must contain besides the name)
PENDULUM_BAD = [
    # enum and flag options: the valid names are listed
    ("opt.integrator", 99, ["mjINT_EULER=0", "mjINT_RK4=1", "got 99"]),
    ("opt.integrator", -1, ["mjINT_IMPLICITFAST=3", "got -1"]),
    ("opt.cone", 2, ["mjCONE_PYRAMIDAL=0", "mjCONE_ELLIPTIC=1", "got 2"]),
    ("opt.jacobian", 3, ["mjJAC_DENSE=0", "mjJAC_AUTO=2", "got 3"]),
    ("opt.solver", 7, ["mjSOL_PGS=0", "mjSOL_NEWTON=2", "got 7"]),
    ("opt.integrator", 1.5, ["expected an integer", "got 1.5"]),
    ("opt.disableflags", 2**20, ["mjtDisableBit", "mjDSBL_CONTACT=16", "got 1048576"]),
    ("opt.enableflags", -1, ["mjtEnableBit", "mjENBL_ENERGY=2", "got -1"]),
    # counts and positive options
    ("opt.iterations", 0, ["expected an integer in [1,", "got 0"]),
    ("opt.ls_iterations", -5, ["expected an integer in [0,", "got -5"]),
    ("opt.timestep", 0, ["expected > 0", "got 0"]),
    ("opt.timestep", -0.001, ["expected > 0", "got -0.001"]),
    ("opt.impratio", 0.0, ["expected > 0", "got 0"]),
    ("opt.tolerance", -1e-8, ["expected >= 0", "got -1e-08"]),
    # structural (integer/boolean) and derived fields
    ("jnt_type[elbow]", 0, ["jnt_type is a structural field", "change jnt_type in the MJCF"]),
    ("jnt_qposadr[elbow]", 0, ["jnt_qposadr is a structural field", "expected a real-valued"]),
    ("dof_jntid[elbow]", 0, ["dof_jntid is a structural field", "int32"]),
    ("body_parentid[link2]", 0, ["body_parentid is a structural field"]),
    ("body_dofnum[link2]", 3, ["body_dofnum is a structural field"]),
    ("jnt_limited[elbow]", 1, ["jnt_limited is a structural field", "bool"]),
    ("actuator_history[elbow]", 2, ["actuator_history is a structural field"]),
    ("body_simple[link1]", 0, ["body_simple is a structural field"]),
    ("body_subtreemass[link1]", 1.0, ["derived by MuJoCo", "mj_setConst"]),
    ("dof_invweight0[elbow]", 1.0, ["derived by MuJoCo"]),
    ("nq", 3, ["unknown model field 'nq'"]),
    # value types and shapes
    ("dof_damping[elbow]", True, ["expected a number, got a boolean True"]),
    ("opt.timestep", False, ["expected a number, got a boolean False"]),
    ("dof_damping[elbow]", "0.1", ["expected a number", "str", "'0.1'"]),
    ("dof_damping[elbow]", {"a": 1}, ["expected a number", "dict"]),
    ("dof_damping[elbow]", [[0.1]], ["nested list"]),
    ("dof_damping[elbow]", [], ["empty list"]),
    ("dof_damping[elbow]", [0.1, 0.2], ["expected one value, got 2"]),
    ("body_inertia[link1]", [1e-3, 1e-3], ["expected one value or 3", "got 2"]),
    ("dof_damping[elbow]", float("nan"), ["expected finite values", "nan"]),
    ("opt.gravity[2]", float("inf"), ["expected finite values", "inf"]),
    # physical ranges
    ("body_mass[link1]", -1.0, ["expected >= 0", "got -1"]),
    ("dof_damping[elbow]", -0.1, ["expected >= 0", "got -0.1"]),
    ("dof_armature[shoulder]", -0.01, ["expected >= 0", "got -0.01"]),
    ("dof_frictionloss[shoulder]", -0.2, ["expected >= 0", "got -0.2"]),
    ("body_inertia[link1]", [-1e-3, 1e-3, 1e-3], ["expected >= 0", "got -0.001"]),
    ("jnt_stiffness[elbow]", -3.0, ["expected >= 0", "got -3"]),
    ("scale:body_mass[link1]", -2.0, ["scale factor expected >= 0", "got -2"]),
    # solref: time constant needs a damping ratio > 0; direct stiffness needs direct damping <= 0
    ("dof_solref[elbow]", [0.02, -1.0], ["solref [0.02, -1]", "damping ratio solref[1] > 0"]),
    ("dof_solref[elbow]", [-100.0, 5.0], ["solref [-100, 5]", "direct damping solref[1] <= 0"]),
    ("dof_solref[elbow][1]", 0.0, ["solref [0.02, 0]", "damping ratio solref[1] > 0"]),
    ("opt.o_solref", [0.02, 0.0], ["solref [0.02, 0]"]),
    # solimp domains
    ("dof_solimp[elbow][0]", 0.0, ["solimp[0] (dmin) expected in (0, 1)", "got 0"]),
    ("dof_solimp[elbow][1]", 1.0, ["solimp[1] (dmax) expected in (0, 1)", "got 1"]),
    ("dof_solimp[elbow][2]", -0.001, ["solimp[2] (width) expected >= 0", "got -0.001"]),
    ("dof_solimp[elbow][3]", 1.5, ["solimp[3] (midpoint) expected in (0, 1)", "got 1.5"]),
    ("dof_solimp[elbow][4]", 0.5, ["solimp[4] (power) expected >= 1", "got 0.5"]),
    ("opt.o_solimp[4]", 0.0, ["solimp[4] (power) expected >= 1"]),
    # unit vectors
    ("body_quat[link1]", [1.0, 0.0, 0.0, 0.1], ["expected a unit vector", "1.00498756"]),
    ("body_quat[link1]", 1.0, ["expected a unit vector", "of norm 2"]),
    ("body_quat[link1][0]", 1.0, ["unit vector of 4 components", "component 0 alone"]),
    ("jnt_axis[elbow]", [1.0, 1.0, 0.0], ["jnt_axis expected a unit vector"]),
    ("scale:body_quat[link1]", 1.0, ["unit vectors; a factor would change their norm"]),
    # model-dependent
    ("actuator_delay[elbow]", 0.5, ["keeps 40 past commands", "got 0.5 s"]),
]


@pytest.mark.parametrize(("name", "value", "words"), PENDULUM_BAD, ids=lambda x: str(x)[:40])
def test_bad_values_are_refused_before_any_write(pendulum, name, value, words):
    model = pendulum.model
    before = (
        model.opt.integrator,
        model.opt.timestep,
        model.dof_damping.copy(),
        model.dof_solref.copy(),
        model.body_quat.copy(),
        model.jnt_type.copy(),
    )
    for call in (check_values, set_values):
        with pytest.raises(ParameterError) as info:
            call(model, {"dof_damping[shoulder]": 0.07, name: value})
        message = str(info.value)
        assert repr(name) in message, message
        for word in words:
            assert word in message, message
    assert model.opt.integrator == before[0] and model.opt.timestep == before[1]
    np.testing.assert_array_equal(model.dof_damping, before[2])  # the good value was not written
    np.testing.assert_array_equal(model.dof_solref, before[3])
    np.testing.assert_array_equal(model.body_quat, before[4])
    np.testing.assert_array_equal(model.jnt_type, before[5])


CUBE_BAD = [
    ("pair_dim[cube_table]", 2, ["expected one of [1, 3, 4, 6]", "got 2"]),
    ("geom_condim[cube]", 5, ["expected one of [1, 3, 4, 6]", "got 5"]),
    ("geom_contype[cube]", -1, ["expected in [0, 2147483647]", "got -1"]),
    ("geom_type[cube]", 2, ["geom_type is a structural field"]),
    ("geom_friction[cube]", [-0.1, 0.005, 0.0001], ["expected >= 0", "got -0.1"]),
    ("pair_friction[cube_table][0]", -0.2, ["expected >= 0", "got -0.2"]),
    ("geom_pos[cube]", [0.0, 0.0, 0.1], ["compiled in its body's frame", "ignores its pos"]),
    ("geom_quat[cube]", [1.0, 0.0, 0.0, 0.0], ["ignores its quat"]),
    ("body_ipos[cube][0]", 0.002, ['add simple="false" to <body name="cube">']),
]


@pytest.mark.parametrize(("name", "value", "words"), CUBE_BAD, ids=lambda x: str(x)[:40])
def test_bad_contact_values_are_refused(cube, name, value, words):
    with pytest.raises(ParameterError) as info:
        set_values(cube.model, {name: value})
    message = str(info.value)
    assert repr(name) in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("dof_solref[elbow]", [-1000.0, -10.0]),  # direct stiffness and damping (MuJoCo legit)
        ("dof_solref[elbow]", [0.0, 0.0]),  # no spring, no damper: direct
        ("dof_solref[elbow][0]", 0.05),
        ("dof_solimp[elbow]", [0.5, 0.99, 0.01, 0.5, 2.0]),
        ("body_quat[link1]", [0.0, 1.0, 0.0, 0.0]),
        ("opt.integrator", 3),
        ("opt.disableflags", 16 + 128),
        ("opt.iterations", 5),
        ("opt.gravity[2]", -1.62),
    ],
)
def test_legitimate_values_apply_and_restore(pendulum, name, value):
    model = pendulum.model
    before = {f: getattr(model, f).copy() for f in ("dof_solref", "dof_solimp", "body_quat")}
    opt_before = (model.opt.integrator, model.opt.disableflags, model.opt.iterations)
    with values_applied(model, {name: value}):
        written = resolve(model, name).read(model)
        np.testing.assert_array_equal(written, np.broadcast_to(value, written.shape))
    for f, v in before.items():
        np.testing.assert_array_equal(getattr(model, f), v)
    assert (model.opt.integrator, model.opt.disableflags, model.opt.iterations) == opt_before


# --------------------------------------------------------------------------- values files

FILE_BAD = [
    ("p.json", "[1, 2]", ["expected a table of values by parameter name", "got list [1, 2]"]),
    ("p.json", '"body_mass[link1]"', ["expected a table", "got str"]),
    ("p.json", '{"body_mass[link1]": {"deep": 1}}', ["'body_mass[link1]'", "got dict"]),
    ("p.json", '{"body_mass[link1]": [[1, 2]]}', ["'body_mass[link1]'", "nested list"]),
    ("p.json", '{"body_mass[link1]": NaN}', ["'body_mass[link1]'", "expected finite values"]),
    ("p.json", '{"body_mass[link1]": null}', ["'body_mass[link1]'", "NoneType"]),
    ("p.json", '{"values": {"body_mass[link1]": 1}, "x": 2}', ["expected no other keys", "['x']"]),
    ("p.json", "{not json", ["cannot parse"]),
    ("p.toml", '"body_mass[link1]" = "heavy"\n', ["'body_mass[link1]'", "got str 'heavy'"]),
    ("p.toml", '"dof_damping[elbow]" = true\n', ["'dof_damping[elbow]'", "got a boolean True"]),
    ("p.toml", '"opt.integrator" = 99\n', ["'opt.integrator'", "mjINT_RK4=1", "got 99"]),
    ("p.toml", '"opt.timestep" = 0\n', ["'opt.timestep'", "expected > 0", "got 0"]),
    ("p.toml", '"jnt_type[elbow]" = 0\n', ["'jnt_type[elbow]'", "structural field"]),
    ("p.toml", '"body_subtreemass[link1]" = 2.0\n', ["'body_subtreemass[link1]'", "derived"]),
    ("p.toml", '"dof_damping[elbow]" = -1\n', ["'dof_damping[elbow]'", "expected >= 0", "got -1"]),
    ("p.toml", '"dof_solref[elbow]" = [0.02, -1]\n', ["'dof_solref[elbow]'", "solref [0.02, -1]"]),
    (
        "p.toml",
        '"dof_solimp[elbow][4]" = 0.2\n',
        ["'dof_solimp[elbow][4]'", "(power) expected >= 1"],
    ),
    ("p.toml", '"body_quat[link1]" = [1, 1, 0, 0]\n', ["'body_quat[link1]'", "unit vector"]),
    ("p.toml", '"body_quat[link1][2]" = 0.5\n', ["'body_quat[link1][2]'", "component 2 alone"]),
    ("p.toml", '"scale:body_mass[link1]" = -1\n', ["'scale:body_mass[link1]'", "got -1"]),
    ("p.toml", '"delay:qpos" = [0.1, 0.2]\n', ["'delay:qpos'", "expected one number, got 2"]),
    ("p.toml", "[body]\nmass = 1\n", ["'body'", "got dict"]),
    ("p.toml", "", ["expected at least one parameter value"]),
    ("p.toml", '"a" = [1\n', ["cannot parse"]),
    ("p.yaml", "a: 1\n", ["expected a .toml or .json file", "'.yaml'"]),
    ("p", '"a" = 1\n', ["expected a .toml or .json file", "(none)"]),
]


@pytest.mark.parametrize(("filename", "text", "words"), FILE_BAD, ids=lambda x: str(x)[:40])
def test_bad_values_files(tmp_path, filename, text, words):
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(ParameterError) as info:
        load_values(path)
    message = str(info.value)
    assert str(path) in message, message
    for word in words:
        assert word in message, message


def test_missing_values_file_names_it(tmp_path):
    with pytest.raises(ParameterError, match="expected an existing TOML/JSON file.*nope.toml"):
        load_values(tmp_path / "nope.toml")


def test_good_values_file_keeps_lists_and_numbers(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('"geom_friction[cube]" = [0.2, 0.005, 0.0001]\n"opt.integrator" = 1\n')
    assert load_values(path) == {"geom_friction[cube]": [0.2, 0.005, 0.0001], "opt.integrator": 1.0}


# --------------------------------------------------------------------------- parameter spaces

SPACE_BAD = [
    ('[parameters."dof_damping[elbow]"]\nlower = "zero"\nupper = 1\n', ".lower", "got str 'zero'"),
    ('[parameters."dof_damping[elbow]"]\nlower = 0\nupper = true\n', ".upper", "got bool True"),
    (
        '[parameters."dof_damping[elbow]"]\nlower = 0\nupper = 1\nnominal = "a"\n',
        ".nominal",
        "got str 'a'",
    ),
    (
        '[parameters."dof_damping[elbow]"]\nlower = 0\nupper = 1\nscale = "cubic"\n',
        ".scale",
        "expected one of ['linear', 'log'], got 'cubic'",
    ),
    (
        '[parameters."dof_damping[elbow]"]\nlower = 0\nupper = 1\nlowr = 0\n',
        'parameters."dof_damping[elbow]"]',
        "unknown keys ['lowr']",
    ),
    (
        '[parameters."dof_damping[elbow]"]\nupper = 1\n',
        'parameters."dof_damping[elbow]"]',
        "missing keys ['lower']",
    ),
    (
        'seed = 3\n[parameters."dof_damping[elbow]"]\nlower = 0\nupper = 1\n',
        "space.toml",
        "unknown keys ['seed']",
    ),
    ("parameters = 3\n", "space.toml", "expected a [parameters."),
    ('[parameters]\n"dof_damping[elbow]" = 0.1\n', 'parameters."dof_damping[elbow]"]', "got float"),
    (
        '[parameters."dof_damping[elbow]"]\nlower = 0\nupper = 1\nnominal = 2\n',
        "'dof_damping[elbow]'",
        "nominal 2.0 outside bounds [0.0, 1.0]",
    ),
    (
        '[parameters."dof_damping[elbow]"]\nlower = 1\nupper = 0\n',
        "'dof_damping[elbow]'",
        "lower < upper",
    ),
    ('[parameters."dof_damping[elbow]"]\nlower = nan\nupper = 1\n', ".lower", "finite"),
    ("[parameters\n", "space.toml", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "key", "actual"), SPACE_BAD, ids=lambda x: str(x)[:40])
def test_bad_space_files(tmp_path, text, key, actual):
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(ParameterError) as info:
        ParameterSpace.load(path)
    message = str(info.value)
    assert str(path) in message and key in message and actual in message, message


@pytest.mark.parametrize(
    ("name", "lower", "upper", "words"),
    [
        ("opt.iterations", 1, 10, ["holds integers", "real-valued"]),
        ("jnt_type[elbow]", 0, 1, ["structural field"]),
        ("dof_solimp[elbow][0]", 0.5, 1.5, ["(dmin) expected in (0, 1)", "got 1.5"]),
        ("dof_damping[elbow]", -1, 1, ["expected >= 0", "got -1"]),
    ],
)
def test_space_bounds_are_values_the_field_can_take(tmp_path, pendulum, name, lower, upper, words):
    path = tmp_path / "space.toml"
    path.write_text(f'[parameters."{name}"]\nlower = {lower}\nupper = {upper}\n')
    space = ParameterSpace.load(path)
    with pytest.raises(ParameterError) as info:
        space.resolve(pendulum.model)
    assert repr(name) in str(info.value)
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- CLI end to end

CLI_BAD = [
    ('"opt.integrator" = 99\n', "'opt.integrator'", "got 99"),
    ('"jnt_type[elbow]" = 0\n', "'jnt_type[elbow]'", "structural field"),
    ('"opt.timestep" = 0\n', "'opt.timestep'", "expected > 0"),
    ('"dof_damping[elbow]" = true\n', "'dof_damping[elbow]'", "boolean True"),
    ('"dof_solref[elbow]" = [0.02, -1]\n', "'dof_solref[elbow]'", "solref [0.02, -1]"),
]


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    """Run the CLI in a child process: a regression to a segfault fails the test, not the run."""
    code = f"import sys; from workbench.cli import main; sys.exit(main({args!r}))"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(("text", "key", "actual"), CLI_BAD, ids=lambda x: str(x)[:30])
def test_gap_with_bad_params_file_exits_2(tmp_path, text, key, actual):
    params = tmp_path / "bad.toml"
    params.write_text(text)
    out = tmp_path / "out"
    args = ["gap", "assets/data/double_pendulum", "--scene", "double_pendulum"]
    args += ["--mode", "windows", "--params", str(params), "--out", str(out)]
    done = _cli(args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert str(params) in done.stderr and key in done.stderr and actual in done.stderr
    assert not out.exists()  # refused before anything was written


def test_gap_with_json_list_params_exits_2(tmp_path):
    params = tmp_path / "bad.json"
    params.write_text("[0.1, 0.2]")
    done = _cli(
        [
            "gap",
            "assets/data/double_pendulum",
            "--scene",
            "double_pendulum",
            "--params",
            str(params),
        ]
        + ["--out", str(tmp_path / "out")]
    )
    assert done.returncode == 2 and str(params) in done.stderr and "got list" in done.stderr


def test_calibrate_with_bad_space_exits_2(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[parameters."dof_damping[elbow]"]\nlower = "zero"\nupper = 1\n')
    done = _cli(
        ["calibrate", "assets/data/double_pendulum", "--scene", "double_pendulum"]
        + ["--space", str(space), "--out", str(tmp_path / "out")]
    )
    assert done.returncode == 2, done.stderr
    assert str(space) in done.stderr and ".lower" in done.stderr and "'zero'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("value", "actual"), [("0.1", "got str '0.1'"), (True, "got bool True"), (np.nan, "nan")]
)
def test_signal_parameter_values_are_numbers(value, actual):
    from workbench.episode import Episode, Signal
    from workbench.physics.signal_params import apply_signal_params

    episode = Episode("ep", np.arange(5) * 0.01, {"qpos": Signal(np.zeros((5, 1)), ("j",))})
    with pytest.raises(ParameterError) as info:
        apply_signal_params(episode, {"delay:qpos": value})
    assert "'delay:qpos'" in str(info.value) and actual in str(info.value)


def test_single_signal_value_in_a_list_loads_as_a_number(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('"delay:qpos" = [0.01]\n')
    assert load_values(path) == {"delay:qpos": 0.01}
