"""Issue 16: a calibratable gain on a recorded signal, refusal of parameters the objective cannot
see, first-moment inertial parameters, a prior toward nominal, and the identifiability report."""

from __future__ import annotations

import copy
import dataclasses

import mujoco
import numpy as np
import pytest
from conftest import arm_scene, recorded_arm

from workbench import Episode, Signal
from workbench.calibrate import Parameter, ParameterSpace, calibrate
from workbench.calibrate.report import format_calibration
from workbench.errors import ParameterError, SettingsError
from workbench.physics import set_values, values_applied
from workbench.physics.apply import inertia_violation
from workbench.physics.names import resolve
from workbench.physics.signal_params import apply_signal_params
from workbench.physics.values_file import check_unbound


def _scaled_torque(ep: Episode, gains) -> Episode:
    sig = ep.signals["qfrc_actuator"]
    return ep.with_signals(qfrc_actuator=dataclasses.replace(sig, values=sig.values * gains))


def test_gain_divides_after_the_offset_whatever_the_order():
    _, (ep, _) = recorded_arm(n=2, T=50)
    tau = ep.signals["qfrc_actuator"].values
    for params in (
        {"gain:qfrc_actuator[j1]": 1.25, "offset:qfrc_actuator[j1]": 0.5},
        {"offset:qfrc_actuator[j1]": 0.5, "gain:qfrc_actuator[j1]": 1.25},
    ):
        out = apply_signal_params(ep, params).signals["qfrc_actuator"].values
        np.testing.assert_allclose(out[:, 0], (tau[:, 0] - 0.5) / 1.25)
        np.testing.assert_array_equal(out[:, 1], tau[:, 1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"gain:qfrc_actuator[j1]": 0.0}, "a gain expected > 0"),
        ({"gain:qfrc_actuator[j1]": -1.15}, "a gain expected > 0"),
        ({"gain:qfrc_actuator": 1.1}, r"'gain:<signal>\[<column>\]'"),
        ({"gain:qfrc_actuator[j7]": 1.1}, "unknown column 'j7'"),
        ({"gain:torque[j1]": 1.1}, "no signal 'torque'"),
    ],
)
def test_bad_gains_are_refused(params, match):
    _, (ep, _) = recorded_arm(n=2, T=20)
    with pytest.raises(ParameterError, match=match):
        apply_signal_params(ep, params)


def test_gain_bounds_and_values_files_are_checked():
    with pytest.raises(ParameterError, match="gain expected > 0"):
        ParameterSpace((Parameter("gain:qfrc_actuator[j1]", -0.5, 2.0),)).resolve(arm_scene().model)
    with pytest.raises(ParameterError, match="gain expected > 0"):
        check_unbound("gain:qfrc_actuator[j1]", np.array([0.0]), "params.toml")
    space = ParameterSpace((Parameter("gain:qfrc_actuator[j1]", 0.5, 2.0),))
    assert space.nominal(arm_scene().model).tolist() == [1.0]  # a gain's neutral value


def test_a_15_percent_drive_gain_error_is_recovered_within_2_percent():
    """Measured torque = 1.15 x true torque on j1 and 0.9 x on j2 (torque constants off), damping
    unknown too: the inverse objective recovers both gains."""
    scene, eps = recorded_arm({"dof_damping[j1]": 0.09})
    truth = np.array([1.15, 0.9])
    eps = [_scaled_torque(e, truth) for e in eps]
    space = ParameterSpace(
        (
            Parameter("gain:qfrc_actuator[j1]", 0.5, 2.0),
            Parameter("gain:qfrc_actuator[j2]", 0.5, 2.0),
            Parameter("dof_damping[j1]", 0.0, 0.5),
        )
    )
    result = calibrate(scene, eps, space, objective="inverse", smooth_window=0.0)
    gains = np.array(result.values[:2])
    error = np.abs(gains - truth) / truth
    print("gain recovery: fitted", gains, "relative error", error, "damping", result.values[2])
    assert error.max() < 0.02, result.values
    assert abs(result.values[2] - 0.09) / 0.09 < 0.05
    assert result.cost_final < 1e-3 * result.cost_start


def test_a_parameter_the_objective_cannot_see_is_refused_before_the_fit():
    scene, eps = recorded_arm(n=1, T=100)
    space = ParameterSpace(
        (
            Parameter("dof_damping[j1]", 0.0, 0.5),
            Parameter("actuator_gainprm[m1][0]", 0.5, 2.0),
        )
    )
    with pytest.raises(ParameterError) as info:
        calibrate(scene, eps, space, objective="inverse", smooth_window=0.0)
    text = str(info.value)
    assert "'actuator_gainprm[m1][0]' cannot affect the 'inverse' objective" in text
    assert "Jacobian column is zero" in text and "gain:<signal>[<column>]" in text
    assert "dof_damping" not in text
    with pytest.raises(SettingsError, match="prior_weight"):
        calibrate(
            scene, eps, ParameterSpace(space.parameters[:1]), objective="inverse", prior_weight=-1
        )


def test_first_moments_write_centres_of_mass_and_restore_exactly():
    model = copy.copy(arm_scene().model)
    link2 = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "link2")
    before_ipos, before_mass = model.body_ipos.copy(), model.body_mass.copy()
    assert resolve(model, "body_mc[link2][0]").read(model)[0] == pytest.approx(0.6 * 0.125)
    for order in (
        {"body_mass[link2]": 1.2, "body_mc[link2][0]": 0.3},
        {"body_mc[link2][0]": 0.3, "body_mass[link2]": 1.2},  # order of the names is irrelevant
    ):
        with values_applied(model, order):
            assert model.body_ipos[link2, 0] == pytest.approx(0.25)
            assert model.body_mass[link2] == 1.2
        np.testing.assert_array_equal(model.body_ipos, before_ipos)
        np.testing.assert_array_equal(model.body_mass, before_mass)
    with values_applied(model, {"body_mc[link2]": [0.06, 0.0, 0.012]}):
        np.testing.assert_allclose(model.body_ipos[link2], [0.1, 0.0, 0.02])
    with pytest.raises(ParameterError, match=r"body_mc\[<body>\]\[k\]"):
        resolve(model, "body_mc")
    with pytest.raises(ParameterError, match="'link1', 'link2'"):
        resolve(model, "body_mc[link9][0]")
    with pytest.raises(ParameterError, match="mass must stay > 0"):
        ParameterSpace(
            (Parameter("body_mass[link2]", 0.0, 2.0), Parameter("body_mc[link2][0]", 0.0, 0.5))
        ).resolve(model)


def _quasi_static_episode(model: mujoco.MjModel, seconds=6.0, eid="slow", noise=0.03) -> Episode:
    """A slow motion (periods 6-9 s) under a computed-torque servo, torques measured with
    `noise` [N m] Gaussian noise: torques are mostly gravity, so the data see first moments well
    and how mass is split between links hardly at all."""
    data = mujoco.MjData(model)
    dt, n = model.opt.timestep, int(seconds / model.opt.timestep)
    w = 2 * np.pi / np.array([6.0, 9.0])
    amp, bias = np.array([0.8, 0.9]), np.array([0.2, -0.3])

    def target(t):
        return bias + amp * np.sin(w * t), amp * w * np.cos(w * t), -amp * w**2 * np.sin(w * t)

    data.qpos[:], data.qvel[:] = target(0.0)[0], target(0.0)[1]
    qpos, qvel, tau = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros((n, 2))
    scratch = mujoco.MjData(model)
    for k in range(n):
        q, v, a = target(k * dt)
        scratch.qpos[:], scratch.qvel[:] = data.qpos, data.qvel
        scratch.qacc[:] = a + 400 * (q - data.qpos) + 40 * (v - data.qvel)
        mujoco.mj_inverse(model, scratch)
        qpos[k], qvel[k] = data.qpos, data.qvel
        data.ctrl[:] = scratch.qfrc_inverse
        mujoco.mj_step(model, data)
        tau[k] = data.qfrc_actuator
    names = ["j1", "j2"]
    measured = tau + np.random.default_rng(1).normal(0.0, noise, tau.shape)
    signals = {
        "qpos": Signal(qpos, names, "rad"),
        "qvel": Signal(qvel, names, "rad/s"),
        "qfrc_actuator": Signal(measured, names, "N m"),
        "ctrl": Signal(tau, ["m1", "m2"], "N m"),
    }
    return Episode(eid, np.arange(n) * dt, signals, {"source": "simulated"})


def test_regularised_inertial_fit_reports_the_combinations_the_data_determine():
    """Masses, first moments and an inertia factor of both links from a slow, noisy motion: one
    combination (link1's moment, link2's mass and inertia: the classic lumping into base
    parameters) is invisible to any data, link1's mass only weakly seen; the prior holds what the
    data cannot, values stay physical, and the report names the combinations identified."""
    scene = arm_scene()
    truth = {
        "body_mass[link1]": 1.3,
        "body_mc[link1][0]": 0.16,
        "body_mass[link2]": 0.66,
        "body_mc[link2][0]": 0.0825,
    }
    model = copy.copy(scene.model)
    set_values(model, truth)
    episode = _quasi_static_episode(model)
    space = ParameterSpace(
        (
            Parameter("body_mass[link1]", 0.3, 3.0),
            Parameter("body_mc[link1][0]", 0.0, 0.4),
            Parameter("body_mass[link2]", 0.2, 2.0),
            Parameter("body_mc[link2][0]", 0.0, 0.3),
            Parameter("scale:body_inertia[link2]", 0.2, 5.0),
        )
    )
    result = calibrate(
        scene, [episode], space, objective="inverse", smooth_window=0.0, prior_weight=1e-4
    )
    print(format_calibration(result, {}))
    fitted = dict(zip(result.names, result.values, strict=True))
    combos = result.combinations
    identified = [c for c in combos if c["identified"]]
    assert result.prior_weight == 1e-4 and result.settings["prior_weight"] == 1e-4
    assert 2 <= len(identified) < len(combos)  # not every mass: some directions held by the prior
    # each identified combination agrees with the truth within its standard error
    lo, hi = (np.array(b) for b in space.bounds())
    truth_x = np.array([truth.get(n, 1.0) for n in result.names])
    fit_x = np.array(result.values)
    for c in identified:
        w = np.array([c["weights"][n] for n in result.names])
        gap = abs(w @ ((fit_x - truth_x) / (hi - lo)))
        assert gap < 4 * c["std_error_range_units"] + 1e-3, (c, gap)
    # the one the data cannot see is a trade-off between several parameters (base parameters)
    (blind,) = [c for c in combos if not c["identified"]]
    assert blind["relative"] < 1e-6
    assert sum(abs(w) > 0.3 for w in blind["weights"].values()) >= 3
    # link2's first moment alone sets the elbow's gravity torque: recovered
    assert abs(fitted["body_mc[link2][0]"] - 0.0825) / 0.0825 < 0.02
    # shoulder gravity: m c of link1 plus link2's mass at 0.3 m
    lumped = fitted["body_mc[link1][0]"] + 0.3 * fitted["body_mass[link2]"]
    assert lumped == pytest.approx(0.16 + 0.3 * 0.66, rel=0.01)
    assert any("not determined by the data (held by the prior" in w for w in result.warnings)
    assert "combinations the data determine" in format_calibration(result, {})
    # physical: positive masses, triangle inequality, centres of mass where the moments say
    check = copy.copy(scene.model)
    set_values(check, result.as_params())
    assert (check.body_mass[1:] > 0).all() and inertia_violation(check) is None
    assert check.body_ipos[2, 0] == pytest.approx(fitted["body_mc[link2][0]"] / check.body_mass[2])


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--prior-weight=-1"], "--prior-weight"),
        (["--prior-weight", "0.1", "--objective", "tosses"], "not to 'tosses'"),
    ],
)
def test_calibrate_cli_refuses_a_bad_prior_weight(tmp_path, capsys, extra, match):
    from workbench.cli import main
    from workbench.paths import assets_root, scenes_root

    out = tmp_path / "cal"
    code = main(
        [
            "calibrate",
            str(assets_root() / "data" / "double_pendulum"),
            "--scene",
            "double_pendulum",
            "--space",
            str(scenes_root() / "double_pendulum" / "calibration_space.toml"),
            "--out",
            str(out),
            *extra,
        ]
    )
    assert code == 2 and match in capsys.readouterr().err
    assert not out.exists()
