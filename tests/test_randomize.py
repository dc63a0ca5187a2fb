"""Randomization specs, reproducible samples, in-place application restored bit for bit."""

from __future__ import annotations

import json

import mujoco
import numpy as np
import pytest
import tomllib
from conftest import ARM_XML, arm_scene
from scipy import stats

from workbench.calibrate import Parameter, ParameterSpace
from workbench.calibrate.fit import CalibrationResult
from workbench.errors import BindingError, ConfigError, ParameterError
from workbench.paths import assets_root
from workbench.randomize import Distribution, RandomizationSpec, Randomizer, Sample, load_spec
from workbench.scenes import load_scene

CUBE_SPEC = {
    "description": "test",
    "parameters": {
        "pair_friction[cube_table][0]": {
            "distribution": "truncated_normal",
            "mean": 0.2,
            "std": 0.05,
            "lower": 0.1,
            "upper": 0.4,
        },
        "pair_solref[cube_table][0]": {
            "distribution": "log_uniform",
            "lower": 0.005,
            "upper": 0.03,
        },
        "scale:body_inertia[cube]": {"distribution": "uniform", "lower": 0.9, "upper": 1.1},
        "body_mass[cube]": {"distribution": "normal", "mean": 0.0, "std": 0.01, "operation": "add"},
        "geom_friction[cube]": {
            "distribution": "uniform",
            "lower": 0.8,
            "upper": 1.2,
            "operation": "scale",
        },
        "opt.timestep": {
            "distribution": "uniform",
            "lower": 0.95,
            "upper": 1.05,
            "operation": "scale",
        },
        "opt.gravity[2]": {"distribution": "normal", "mean": 0.0, "std": 0.02, "operation": "add"},
    },
    "initial_state": {"qvel/cube[0]": {"distribution": "normal", "mean": 0.0, "std": 0.01}},
    "sensor_noise": {"qpos/cube[0]": {"distribution": "normal", "mean": 0.0, "std": 0.001}},
}


@pytest.fixture(scope="module")
def cube():
    return load_scene("cube_toss")


def _model_arrays(model: mujoco.MjModel) -> dict[str, bytes]:
    out = {}
    for name in dir(model):
        if name.startswith("_"):
            continue
        value = getattr(model, name)
        if isinstance(value, np.ndarray):
            out[name] = value.tobytes()
    for name in dir(model.opt):
        if not name.startswith("_"):
            out[f"opt.{name}"] = np.asarray(getattr(model.opt, name)).tobytes()
    return out


def test_spec_toml_round_trip_and_digest():
    spec = RandomizationSpec.from_dict(CUBE_SPEC)
    again = RandomizationSpec.from_dict(tomllib.loads(spec.to_toml()))
    assert again == spec and again.digest() == spec.digest()
    wider = spec.widened(parameters=2.0)
    assert wider.digest() != spec.digest()
    assert wider.parameters[0].distribution.std == 0.1


def test_10000_samples_twice_identical(cube):
    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), cube.model)
    a = r.samples("toss_7", range(10_000), seed=11)
    b = r.samples("toss_7", range(10_000), seed=11)
    assert [s.to_dict() for s in a] == [s.to_dict() for s in b]
    # any variant regenerates alone, in any order
    for v in (0, 1, 4999, 9999):
        assert r.sample("toss_7", v, seed=11) == a[v]
    # another seed, episode or spec gives other values
    assert r.sample("toss_7", 5, seed=12).values != a[5].values
    assert r.sample("toss_8", 5, seed=11).values != a[5].values
    other = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC).widened(parameters=0.5), cube.model)
    assert other.sample("toss_7", 5, seed=11).values != a[5].values


def test_draws_follow_their_distributions(cube):
    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), cube.model)
    s = r.samples("e", range(4000), seed=0)
    mu = np.array([x.values["pair_friction[cube_table][0]"] for x in s])
    ref = stats.truncnorm((0.1 - 0.2) / 0.05, (0.4 - 0.2) / 0.05, loc=0.2, scale=0.05)
    assert stats.kstest(mu, ref.cdf).pvalue > 1e-3
    solref = np.array([x.values["pair_solref[cube_table][0]"] for x in s])
    assert solref.min() >= 0.005 and solref.max() <= 0.03
    assert stats.kstest(np.log(solref), stats.uniform(np.log(0.005), np.log(6)).cdf).pvalue > 1e-3


def test_operations_are_relative_to_stored_nominal(cube):
    model = cube.model
    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), model)
    s = r.sample("e", 3, seed=1)
    nominal_friction = model.geom_friction[1].copy()
    nominal_mass = float(model.body_mass[1])
    for _ in range(3):  # applying the same sample again never compounds
        with r.applied(s) as m:
            factor = s.values["geom_friction[cube]"][0] / nominal_friction[0]
            np.testing.assert_allclose(m.geom_friction[1], nominal_friction * factor, rtol=1e-15)
            assert m.body_mass[1] == s.values["body_mass[cube]"]
            assert m.opt.timestep == s.values["opt.timestep"]
    assert model.body_mass[1] == nominal_mass
    draw = s.values["body_mass[cube]"] - nominal_mass
    assert abs(draw) < 0.1


def test_apply_restore_1000_samples_bit_identical(cube):
    model = cube.model
    before = _model_arrays(model)
    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), model)
    for s in r.samples("e", range(1000), seed=5):
        with r.applied(s):
            pass
    after = _model_arrays(model)
    changed = [k for k in before if before[k] != after[k]]
    assert not changed


def test_apply_restore_arm_gains_damping_armature_bit_identical():
    scene = arm_scene(ARM_XML)
    model = scene.model
    before = _model_arrays(model)
    spec = RandomizationSpec.from_dict(
        {
            "parameters": {
                "dof_damping[j1]": {"distribution": "log_uniform", "lower": 0.01, "upper": 0.2},
                "dof_armature[j2]": {
                    "distribution": "uniform",
                    "lower": 0.5,
                    "upper": 2.0,
                    "operation": "scale",
                },
                "actuator_gainprm[m1][0]": {
                    "distribution": "normal",
                    "mean": 0.0,
                    "std": 0.05,
                    "operation": "add",
                },
                "scale:body_inertia[link2]": {
                    "distribution": "uniform",
                    "lower": 0.8,
                    "upper": 1.2,
                },
                "body_mass[link1]": {
                    "distribution": "uniform",
                    "lower": 0.9,
                    "upper": 1.1,
                    "operation": "scale",
                },
            }
        }
    )
    r = Randomizer(spec, model)
    seen = set()
    for s in r.samples("arm", range(1000), seed=0):
        with r.applied(s) as m:
            seen.add(float(m.dof_armature[1]))
            assert m.body_subtreemass[0] != 0
    assert len(seen) == 1000
    after = _model_arrays(model)
    assert [k for k in before if before[k] != after[k]] == []


def test_sample_json_round_trip_exact(cube):
    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), cube.model)
    for s in r.samples("e", range(20), seed=2):
        back = Sample.from_dict(json.loads(json.dumps(s.to_dict())))
        assert back == s


def test_initial_state_and_sensor_noise(cube, tmp_path):
    from workbench.io import load_episodes

    a = assets_root()
    (ep,) = load_episodes(a / "data/cube_toss", a / "mappings/cube_toss.toml", select="0")
    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), cube.model)
    s = r.sample(ep.id, 0, seed=0)
    moved = r.perturb(ep, s)
    delta = moved.signal("qvel").values - ep.signal("qvel").values
    col = ep.signal("qvel").columns.index("cube[0]")
    assert s.initial_state["qvel/cube[0]"] != 0
    assert moved.signal("qvel").values[0, col] == (
        ep.signal("qvel").values[0, col] + s.initial_state["qvel/cube[0]"]
    )
    delta[0, col] = 0
    assert not delta.any()
    cols = list(ep.signal("qpos").columns)
    noise = r.sensor_noise(s, "qpos", cols, 500)
    assert noise.shape == (500, 7) and np.count_nonzero(noise.any(axis=0)) == 1
    assert 0.0007 < noise[:, cols.index("cube[0]")].std() < 0.0013
    np.testing.assert_array_equal(noise, r.sensor_noise(s, "qpos", cols, 500))
    bad = RandomizationSpec.from_dict(
        {"initial_state": {"qvel/nope[0]": {"distribution": "normal", "mean": 0.0, "std": 0.1}}}
    )
    with pytest.raises(BindingError, match="no column 'nope\\[0\\]'"):
        Randomizer(bad, cube.model).check_episode(ep)


def test_calibration_distribution_toml_loads_as_spec(cube, tmp_path):
    space = ParameterSpace(
        (
            Parameter("pair_friction[cube_table][0]", 0.1, 0.4, "log"),
            Parameter("pair_solref[cube_table][1]", 0.2, 4.0, "log"),
        )
    )
    result = CalibrationResult(
        names=space.names,
        nominal=[0.18, 1.0],
        start=[0.18, 1.0],
        values=[0.21, 1.3],
        stderr=[0.02, float("inf")],
        ci95=[[0.17, 0.25], [0, 0]],
        identifiable=[True, False],
        condition_number=1.0,
        cost_start=1.0,
        cost_final=0.5,
        trace=[],
        evaluations=1,
        warnings=[],
        settings={},
    )
    paths = result.save(tmp_path, space)
    spec = load_spec(paths["distribution"])
    assert [p.name for p in spec.parameters] == space.names
    d = spec.parameters[0].distribution
    assert (d.kind, d.mean, d.std, d.lower, d.upper) == ("truncated_normal", 0.21, 0.02, 0.1, 0.4)
    assert spec.parameters[0].operation == "set"
    r = Randomizer(spec, cube.model)
    assert r.centre_values() == {
        "pair_friction[cube_table][0]": 0.21,
        "pair_solref[cube_table][1]": 1.3,
    }


# -- hostile specs --------------------------------------------------------------------------


def _spec(**parameters):
    return {"parameters": parameters}


TN = {"distribution": "truncated_normal", "mean": 0.2, "std": 0.05, "lower": 0.1, "upper": 0.4}
HOSTILE = [
    ({"parameters": {}, "bogus": 1}, "unknown keys \\['bogus'\\]"),
    (_spec(**{"pair_friction[cube_table][0]": {**TN, "sigma": 1}}), "unknown keys \\['sigma'\\]"),
    (_spec(**{"pair_friction[cube_table][0]": {**TN, "distribution": "gauss"}}), "expected one of"),
    (_spec(**{"pair_friction[cube_table][0]": {"mean": 1}}), "missing keys \\['distribution'\\]"),
    (
        _spec(**{"x[a]": {"distribution": "uniform", "lower": 2.0, "upper": 1.0}}),
        "expected lower < upper",
    ),
    (
        _spec(**{"x[a]": {"distribution": "uniform", "lower": 1.0, "upper": 1.0}}),
        "expected lower < upper",
    ),
    (
        _spec(**{"x[a]": {"distribution": "normal", "mean": 0.0, "std": -1.0}}),
        "std: expected >= 0",
    ),
    (_spec(**{"x[a]": {"distribution": "normal", "mean": 0.0}}), "missing 'std'"),
    (
        _spec(**{"x[a]": {"distribution": "normal", "mean": 0.0, "std": 1.0, "lower": 0.0}}),
        "unexpected 'lower'",
    ),
    (
        _spec(**{"x[a]": {"distribution": "log_uniform", "lower": 0.0, "upper": 1.0}}),
        "lower > 0",
    ),
    (_spec(**{"x[a]": {**TN, "operation": "multiply"}}), "operation: expected one of"),
    (_spec(**{"x[a]": {**TN, "mean": "0.2"}}), "mean: expected a number"),
    (_spec(**{"x[a]": {**TN, "std": True}}), "std: expected a number"),
    (_spec(**{"x[a]": {**TN, "std": float("nan")}}), "finite"),
    (_spec(**{"delay:qpos": TN}), "measurement parameters"),
    (_spec(**{"bad name!": TN}), "expected 'field\\[name\\]\\[index\\]'"),
    ({"parameters": {"x[a]": 3}}, "expected a table"),
    ({"parameters": []}, "expected a table of named tables"),
    (
        {"initial_state": {"qvel": {"distribution": "normal", "mean": 0, "std": 1}}},
        "<signal>/<column>",
    ),
    ({}, "at least one entry"),
    ({"description": 3, "parameters": {"x[a]": TN}}, "description"),
]


@pytest.mark.parametrize(("data", "match"), HOSTILE)
def test_hostile_spec_refused(data, match):
    with pytest.raises(ConfigError, match=match):
        RandomizationSpec.from_dict(data)


@pytest.mark.parametrize(
    ("parameters", "match"),
    [
        ({"pair_friction[nope][0]": TN}, "unknown pair 'nope'; valid: 'cube_table'"),
        ({"geom_frction[cube]": TN}, "unknown model field 'geom_frction'"),
        ({"flex_young[cloth]": TN}, "lives on the MjSpec"),
        ({"jnt_type[cube]": TN}, "jnt_type"),
        (
            {"pair_friction[cube_table][0]": {"distribution": "normal", "mean": 0.05, "std": 0.1}},
            "narrow or truncate",
        ),
    ],
)
def test_hostile_names_refused_at_bind(cube, parameters, match):
    spec = RandomizationSpec.from_dict({"parameters": parameters})
    with pytest.raises(ParameterError, match=match):
        Randomizer(spec, cube.model)


def test_sample_from_another_spec_refused(cube):
    a = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), cube.model)
    b = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC).widened(parameters=2.0), cube.model)
    with pytest.raises(ConfigError, match="was drawn from spec"), b.applied(a.sample("e", 0)):
        pass


def test_distribution_ppf_matches_scipy():
    u = np.linspace(0.01, 0.99, 50)
    d = Distribution("normal", 1.0, 2.0)
    np.testing.assert_allclose(d.ppf(u), stats.norm(1.0, 2.0).ppf(u))
    d = Distribution("log_uniform", lower=0.01, upper=1.0)
    np.testing.assert_allclose(d.ppf(u), 0.01 * 100.0**u, rtol=1e-12)
    assert Distribution("uniform", lower=0.0, upper=2.0).centre == 1.0


def test_fast_in_place_path_equals_checked_path(cube):
    """Samples this randomizer drew are written without per-sample checks; the model they give
    equals the fully checked `values_applied` on a copy (and a sample read back from JSON)."""
    import copy

    from workbench.physics import values_applied

    r = Randomizer(RandomizationSpec.from_dict(CUBE_SPEC), cube.model)
    for s in r.samples("e", range(5), seed=9):
        other = copy.copy(cube.model)
        with r.applied(s) as fast, values_applied(other, s.values) as checked:
            assert _model_arrays(fast) == _model_arrays(checked)
        rebuilt = Sample.from_dict(json.loads(json.dumps(s.to_dict())))
        with r.applied(rebuilt) as slow, values_applied(other, s.values) as checked:
            assert _model_arrays(slow) == _model_arrays(checked)


def test_fast_path_on_copies_equals_checked_path_with_moments_and_inertia():
    """On the randomizer's `copies` the fast path writes what the checked `values_applied`
    writes (first moments after masses, a full inertia set), restores every array bit for bit,
    and refuses a draw that breaks the inertia triangle like the checked path does."""
    import copy

    from workbench.physics import values_applied

    panda = load_scene("panda")
    spec = {
        "parameters": {
            "body_mc[link7][0]": {"distribution": "uniform", "lower": -0.002, "upper": 0.002},
            "body_mass[link7]": {"distribution": "uniform", "lower": 0.5, "upper": 1.0},
            "body_inertia[link6]": {"distribution": "uniform", "lower": 0.01, "upper": 0.02},
            "scale:body_inertia[link5]": {"distribution": "uniform", "lower": 0.5, "upper": 1.5},
            "dof_damping[joint3]": {"distribution": "uniform", "lower": 0.0, "upper": 0.5},
        }
    }
    r = Randomizer(RandomizationSpec.from_dict(spec), panda.model)
    (copy_,) = r.copies(1)
    nominal = _model_arrays(copy_)
    other = copy.copy(panda.model)
    for s in r.samples("e", range(4), seed=2):
        with r.applied(s, copy_) as fast, values_applied(other, s.values) as checked:
            assert fast is copy_
            assert _model_arrays(fast) == _model_arrays(checked)
            assert _model_arrays(fast) != nominal
        assert _model_arrays(copy_) == nominal
    # an inertia set that breaks the triangle inequality is refused, the copy left as it was
    bad = {
        "parameters": {
            "body_inertia[link6][2]": {"distribution": "uniform", "lower": 1.0, "upper": 2.0}
        }
    }
    r = Randomizer(RandomizationSpec.from_dict(bad), panda.model)
    (copy_,) = r.copies(1)
    s = r.sample("e", 0)
    with pytest.raises(ParameterError, match="triangle"), values_applied(other, s.values):
        pass
    with pytest.raises(ParameterError, match="triangle"), r.applied(s, copy_):
        pass
    assert _model_arrays(copy_) == nominal
