"""Physics values by MuJoCo name: resolution, validation, in-place application and exact restore."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import load_scene
from workbench.errors import ParameterError
from workbench.physics import load_values, resolve, set_values, values_applied


@pytest.fixture
def cube():
    return load_scene("cube_toss")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("pair_friction[cube_table][0]", [0.18]),
        ("body_mass[cube]", [0.37]),
        ("geom_friction[cube]", [0.18, 0.005, 0.0001]),
        ("opt.gravity[2]", [-9.81]),
        ("pair_solref[cube_table][1]", [1.0]),
    ],
)
def test_resolve_reads_named_values(cube, name, expected):
    np.testing.assert_allclose(resolve(cube.model, name).read(cube.model), expected)


@pytest.mark.parametrize(
    "name, message",
    [
        ("geom_friction[cub][0]", "valid: 'table', 'cube'"),
        ("geom_fricton[cube]", "unknown model field"),
        ("dof_damping[cube][9]", "dof index expected in [0, 6)"),
        ("geom_friction[cube][7]", "[0, 3)"),
        ("opt.timestepp", "unknown option field"),
        ("body_mass", "expected an object name"),
    ],
)
def test_wrong_names_explain_themselves(cube, name, message):
    with pytest.raises(ParameterError) as info:
        resolve(cube.model, name)
    assert message in str(info.value)


def test_apply_and_restore_many_samples_leaves_the_model_bit_identical(cube):
    model = cube.model
    fields = (
        "body_mass",
        "body_inertia",
        "body_subtreemass",
        "geom_friction",
        "pair_solref",
        "dof_invweight0",
        "body_invweight0",
    )
    before = {f: getattr(model, f).copy() for f in fields}
    rng = np.random.default_rng(0)
    for _ in range(200):
        sample = {
            "body_mass[cube]": rng.uniform(0.2, 0.6),
            "pair_solref[cube_table][0]": rng.uniform(0.005, 0.03),
            "body_inertia[cube]": rng.uniform(5e-4, 1e-3),
            "geom_friction[cube][0]": rng.uniform(0.1, 0.5),
        }
        with values_applied(model, sample):
            assert model.body_mass[1] == sample["body_mass[cube]"]
            assert model.body_subtreemass[1] == sample["body_mass[cube]"]  # mj_setConst ran
    for f in fields:
        np.testing.assert_array_equal(getattr(model, f), before[f], err_msg=f)


def test_invalid_ranges_are_rejected_and_leave_the_model_unchanged(cube):
    model = cube.model
    with pytest.raises(ParameterError, match=">= 0"):
        set_values(model, {"body_mass[cube]": -1.0})
    with pytest.raises(ParameterError, match="finite"):
        set_values(model, {"pair_friction[cube_table][0]": float("nan")})
    with pytest.raises(ParameterError, match="triangle inequality"):
        set_values(model, {"body_inertia[cube]": [1e-3, 1e-4, 1e-4]})
    with pytest.raises(ParameterError, match='add simple="false" to <body name="cube">'):
        set_values(model, {"body_ipos[cube][0]": 0.002})
    assert model.body_mass[1] == 0.37
    np.testing.assert_allclose(model.body_inertia[1], [8.1e-4] * 3)
    np.testing.assert_array_equal(model.body_ipos[1], 0.0)


def test_values_file_formats(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text('"body_mass[cube]" = 0.4\n')
    assert load_values(toml) == {"body_mass[cube]": 0.4}
    js = tmp_path / "p.json"
    js.write_text('{"values": {"body_mass[cube]": 0.5}}')
    assert load_values(js) == {"body_mass[cube]": 0.5}
    bad = tmp_path / "bad.toml"
    bad.write_text('"body_mass[cube]" = "heavy"\n')
    with pytest.raises(ParameterError, match="expected a number"):
        load_values(bad)


def test_integer_fields_take_integers_only(cube):
    with values_applied(cube.model, {"opt.noslip_iterations": 5, "pair_dim[cube_table]": 4}):
        assert cube.model.opt.noslip_iterations == 5 and cube.model.pair_dim[0] == 4
    assert cube.model.opt.noslip_iterations == 0 and cube.model.pair_dim[0] == 3
    with pytest.raises(ParameterError, match="expected an integer"):
        set_values(cube.model, {"pair_dim[cube_table]": 4.5})
