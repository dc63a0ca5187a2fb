"""MuJoCo-native actuator delay: windows start with the recorded command history, the delay is a
validated physics value, and calibration recovers it."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from conftest import ARM_XML, smooth_controls

from workbench import Binding, Episode, ReplaySettings, Signal, replay, scene_from_xml
from workbench.calibrate import Parameter, ParameterSpace, calibrate
from workbench.errors import ParameterError
from workbench.physics import set_values

DELAYED = ARM_XML.replace(
    '<motor name="m1" joint="j1" ctrlrange="-20 20"/>',
    '<motor name="m1" joint="j1" ctrlrange="-20 20" delay="0.007" nsample="12" interp="linear"/>',
).replace(
    '<motor name="m2" joint="j2" ctrlrange="-20 20"/>',
    '<motor name="m2" joint="j2" ctrlrange="-20 20" delay="0.004" nsample="12" interp="linear"/>',
)


def _scene(xml=DELAYED, timestep=0.002):
    binding = Binding(timestep=timestep, state_joints=("j1", "j2"), actuators=("m1", "m2"))
    return scene_from_xml("delayed_arm", xml, binding)


def _record(model, ctrl, substeps, seed=0):
    """A plain mj_step loop whose delayed actuators start with the first command in history."""
    data = mujoco.MjData(model)
    data.qpos[:] = np.random.default_rng(seed).uniform(-0.5, 0.5, 2)
    for a in range(model.nu):
        n = int(model.actuator_history[a, 0])
        times = -model.opt.timestep * np.arange(n, 0, -1, dtype=float)[:, None]
        mujoco.mj_initCtrlHistory(model, data, a, times, np.full((n, 1), ctrl[0, a]))
    T = ctrl.shape[0]
    qpos, qvel = np.zeros((T, 2)), np.zeros((T, 2))
    for t in range(T):
        qpos[t], qvel[t] = data.qpos, data.qvel
        data.ctrl[:] = ctrl[t]
        for _ in range(substeps):
            mujoco.mj_step(model, data)
    dt = substeps * model.opt.timestep
    return Episode(
        f"delayed{seed}",
        np.arange(T) * dt,
        {
            "qpos": Signal(qpos, ["j1", "j2"], "rad"),
            "qvel": Signal(qvel, ["j1", "j2"], "rad/s"),
            "ctrl": Signal(ctrl, ["m1", "m2"], "N m"),
        },
    )


def test_windows_with_delayed_actuators_match_a_continuous_mj_step_recording():
    scene = _scene()
    ctrl = smooth_controls(np.random.default_rng(3), 150, 2)
    ctrl += np.random.default_rng(4).normal(0, 0.5, ctrl.shape)  # steps make the delay matter
    ep = _record(scene.model, ctrl, substeps=2)
    (trace,) = replay(scene, [ep], ReplaySettings("windows", horizons=(0.04,), window_stride=0.012))
    assert len(trace.starts) > 10
    np.testing.assert_allclose(trace.predicted["qpos"], trace.recorded("qpos"), rtol=0, atol=1e-10)
    # without the history the first steps of every window would apply the wrong commands
    (undelayed,) = replay(
        scene,
        [ep],
        ReplaySettings("windows", horizons=(0.04,), window_stride=0.012),
        params={"actuator_delay[m1]": 0.0, "actuator_delay[m2]": 0.0},
    )
    assert np.nanmax(np.abs(undelayed.predicted["qpos"] - undelayed.recorded("qpos"))) > 1e-4


def test_delay_longer_than_the_history_is_refused():
    scene = _scene()
    with pytest.raises(
        ParameterError, match=r"keeps 12 past commands.*compile it with nsample=\"16\""
    ):
        set_values(scene.model, {"actuator_delay[m1]": 0.03})
    plain = _scene(ARM_XML)
    with pytest.raises(ParameterError, match="keeps 0 past commands"):
        set_values(plain.model, {"actuator_delay[m1]": 0.002})
    with pytest.raises(ParameterError, match="keeps 12 past commands"):  # checked on the bounds
        ParameterSpace((Parameter("actuator_delay[m1]", 0.0, 0.05),)).resolve(scene.model)


def test_windows_calibration_recovers_an_actuator_delay():
    truth = _scene()
    ctrl = [smooth_controls(np.random.default_rng(s), 200, 2) for s in (5, 6)]
    eps = [_record(truth.model, c, substeps=2, seed=s) for s, c in zip((5, 6), ctrl, strict=True)]
    scene = _scene()
    space = ParameterSpace(
        (
            Parameter("actuator_delay[m1]", 0.0, 0.02),
            Parameter("dof_damping[j1]", 0.0, 0.5),
        )
    )
    result = calibrate(scene, eps, space, horizon=0.1, stride=0.02, start=[0.004, 0.03])
    np.testing.assert_allclose(result.values, [0.007, 0.05], rtol=0.02)


def test_delay_variants_batched_equal_one_replay_each():
    from workbench import replay_variants

    scene = _scene()
    ctrl = smooth_controls(np.random.default_rng(8), 120, 2)
    ep = _record(scene.model, ctrl, substeps=2)
    settings = ReplaySettings("windows", horizons=(0.04,), window_stride=0.02)
    variants = [{"actuator_delay[m1]": d} for d in (0.0, 0.003, 0.011)]
    for i, (trace,) in replay_variants(scene, [ep], variants, settings):
        (alone,) = replay(scene, [ep], settings, params=variants[i])
        np.testing.assert_allclose(trace.predicted["qpos"], alone.predicted["qpos"], atol=1e-12)
    assert scene.model.actuator_delay[0] == 0.007  # restored
