"""Smooth joint friction from the scene builder, the derivative source of inverse dynamics, and
physical validity of candidates during calibration."""

from __future__ import annotations

import copy

import mujoco
import numpy as np
import pytest
from conftest import ARM_XML, arm_scene, record, smooth_controls

from workbench import ReplaySettings, replay
from workbench.calibrate import Parameter, ParameterSpace
from workbench.calibrate.inverse_objective import InverseObjective
from workbench.errors import ParameterError, SceneError
from workbench.physics import resolve, set_values, write_unchecked
from workbench.replay.inverse import recorded_motion
from workbench.scenes.builders import build_torque_actuated


def _smooth_arm(tmp_path, impedance=0.01):
    (tmp_path / "arm.xml").write_text(ARM_XML.replace('integrator="Euler"', ""))
    model = build_torque_actuated(tmp_path, mjcf="arm.xml", friction_impedance=impedance).compile()
    model.dof_frictionloss[:] = 0.3
    model.dof_solref[:, 0] = 0.05
    return model


def _friction_force(model, velocity, acceleration=0.0):
    data = mujoco.MjData(model)
    data.qvel[1] = velocity
    data.qacc[1] = acceleration
    mujoco.mj_inverse(model, data)
    return data.qfrc_constraint[1]


def test_smooth_friction_is_linear_at_low_speed_and_saturates_at_frictionloss(tmp_path):
    model = _smooth_arm(tmp_path)
    slope = 2 / (model.dof_solref[1, 0] * model.dof_invweight0[1])  # [N m s/rad], d << 1
    small = 0.1 * 0.3 / slope
    np.testing.assert_allclose(_friction_force(model, small), -slope * small, rtol=0.02)
    np.testing.assert_allclose(_friction_force(model, -small), slope * small, rtol=0.02)
    assert _friction_force(model, 100 * small) == pytest.approx(-0.3)
    # the recorded acceleration barely enters (impedance 0.01), unlike MuJoCo's default 0.9
    assert abs(_friction_force(model, 0.0, acceleration=5.0)) < 0.02 * 0.3 * 5
    stiff = build_torque_actuated(tmp_path, mjcf="arm.xml").compile()
    stiff.dof_frictionloss[:] = 0.3
    assert _friction_force(stiff, small) == pytest.approx(-0.3)  # hard Coulomb: jumps at once


def test_smooth_friction_forward_and_inverse_agree(tmp_path):
    model = _smooth_arm(tmp_path)
    data = mujoco.MjData(model)
    data.qpos[:] = [0.3, -0.4]
    data.qvel[:] = [0.02, -0.05]
    data.ctrl[:] = [0.5, -0.2]
    mujoco.mj_forward(model, data)
    inverse = mujoco.MjData(model)
    inverse.qpos[:], inverse.qvel[:], inverse.qacc[:] = data.qpos, data.qvel, data.qacc
    mujoco.mj_inverse(model, inverse)
    np.testing.assert_allclose(inverse.qfrc_inverse, data.qfrc_actuator, atol=1e-9)
    assert abs(data.qfrc_constraint[1]) < 0.3  # inside the linear zone, not saturated


def test_bad_friction_impedance_is_rejected(tmp_path):
    (tmp_path / "arm.xml").write_text(ARM_XML)
    with pytest.raises(
        SceneError, match=r"friction_impedance: expected a value in \(0, 1\), got 1.5"
    ):
        build_torque_actuated(tmp_path, mjcf="arm.xml", friction_impedance=1.5)


def _noisy_velocity_episode():
    scene = arm_scene()
    scene.model.dof_damping[:] = 0.5  # viscous torque: a velocity bias shows as torque error
    rng = np.random.default_rng(2)
    ep = record(scene.model, [0.2, -0.3], [0.0, 0.0], smooth_controls(rng, 600, 2), 1)
    qvel = ep.signals["qvel"]
    biased = qvel.values + 0.5  # recorded velocities that disagree with the positions
    return scene, ep.with_signals(qvel=type(qvel)(biased, qvel.columns, qvel.unit))


def test_derivative_source_is_chosen_explicitly(arm):
    scene, ep = _noisy_velocity_episode()
    q, v = ep.signals["qpos"].values, ep.signals["qvel"].values
    from_q = recorded_motion(
        scene.model, q, v, 0.002, 0.05, qvel_recorded=True, derivatives="positions"
    )
    from_v = recorded_motion(
        scene.model, q, v, 0.002, 0.05, qvel_recorded=True, derivatives="velocities"
    )
    auto = recorded_motion(scene.model, q, v, 0.002, 0.05, qvel_recorded=True)
    # velocities from the recorded (biased) velocities vs from the positions: the bias shows
    # (less the semi-implicit integrator's half-step lag of differentiated positions, ~a dt / 2)
    assert np.median(from_v[1] - from_q[1]) == pytest.approx(0.5, abs=0.05)
    np.testing.assert_array_equal(auto[1], from_q[1])  # hinge-only model: positions
    with pytest.raises(ValueError, match="'velocities' needs recorded joint velocities"):
        recorded_motion(
            scene.model, q, v, 0.002, 0.05, qvel_recorded=False, derivatives="velocities"
        )
    with pytest.raises(ValueError, match="derivatives: expected one of"):
        ReplaySettings("inverse", derivatives="accelerations")
    # the replay setting reaches the inverse mode: a velocity bias shows as viscous torque error
    errors = {}
    for source in ("positions", "velocities"):
        (trace,) = replay(
            scene, [ep], ReplaySettings("inverse", smooth_window=0.02, derivatives=source)
        )
        errors[source] = np.sqrt(
            np.mean((trace.predicted["qfrc_actuator"] - trace.recorded("qfrc_actuator")) ** 2)
        )
    assert errors["velocities"] > 1.5 * errors["positions"]


def test_non_physical_inertia_candidates_are_infeasible_not_fatal(arm_episodes):
    scene = arm_scene()
    model = copy.copy(scene.model)
    addresses = [resolve(model, "body_inertia[link2][0]")]
    assert write_unchecked(model, addresses, [model.body_inertia[2, 0]])
    assert not write_unchecked(model, addresses, [10.0])  # far beyond the other two moments
    with pytest.raises(ParameterError, match=r"body_inertia\[link2\].*triangle inequality"):
        set_values(copy.copy(scene.model), {"body_inertia[link2][0]": 10.0})
    nominal = float(scene.model.body_inertia[2, 0])
    space = ParameterSpace((Parameter("body_inertia[link2][0]", nominal * 0.5, 10.0, "log"),))
    objective = InverseObjective(scene, arm_episodes, space, smooth_window=0.0)
    try:
        res = objective.residual_values(np.array([[nominal], [10.0]]))
    finally:
        objective.close()
    assert np.all(np.isfinite(res))
    assert np.abs(res[:, 0]).max() < 1e-6  # the true value reproduces the recording
    assert np.all(res[:, 1] == 1e3)  # the non-physical one is scored as infeasible
