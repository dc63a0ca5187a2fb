"""Per-body position [m] and rotation [deg] errors for tracked bodies without a free joint
(forward kinematics of the simulated state vs a `body_pose:<body>` recording), a selection of
what is scored, and unit-aware thresholds for body poses."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from workbench import Binding, Episode, ReplaySettings, Signal, replay, scene_from_xml
from workbench.errors import BindingError, SettingsError
from workbench.metrics.errors import quat_geodesic_deg
from workbench.metrics.gap import episode_metrics, gap_report
from workbench.metrics.thresholds import check_thresholds, threshold_for
from workbench.pipeline import check_score
from workbench.replay.prepare import bind_all

ARM = """
<mujoco model="arm">
  <option timestep="0.002"/>
  <worldbody>
    <body name="link1" pos="0 0 1">
      <joint name="shoulder" type="hinge" axis="0 1 0" damping="0.01"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="0.5"/>
      <body name="link2" pos="0.3 0 0" quat="0.9659 0 0 0.2588">
        <joint name="elbow" type="hinge" axis="0 1 0" damping="0.01"/>
        <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.02" mass="0.3"/>
      </body>
    </body>
  </worldbody>
</mujoco>
"""
COLS = ("x", "y", "z", "qw", "qx", "qy", "qz")


def arm_scene():
    return scene_from_xml("arm", ARM, Binding(timestep=0.002, state_joints=("shoulder", "elbow")))


def recorded_swing(model, *, T=120, substeps=5):
    """qpos and link2's pose every 5 steps of a plain mj_step loop from a bent start."""
    data = mujoco.MjData(model)
    data.qpos[:] = [0.4, -0.8]
    link2 = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "link2")
    qpos, qvel, pose = [], [], []
    for _ in range(T):
        mujoco.mj_kinematics(model, data)
        qpos.append(data.qpos.copy())
        qvel.append(data.qvel.copy())
        pose.append(np.r_[data.xpos[link2], data.xquat[link2]])
        for _ in range(substeps):
            mujoco.mj_step(model, data)
    t = np.arange(T) * substeps * model.opt.timestep
    return Episode(
        "swing",
        t,
        {
            "qpos": Signal(np.array(qpos), ("shoulder", "elbow"), "rad"),
            "qvel": Signal(np.array(qvel), ("shoulder", "elbow"), "rad/s"),
            "body_pose:link2": Signal(np.array(pose), COLS, "m"),
        },
    )


def test_hinged_body_pose_matches_forward_kinematics_of_the_replay():
    scene = arm_scene()
    ep = recorded_swing(scene.model)
    (same,) = replay(scene, [ep], ReplaySettings("open_loop"))
    m = episode_metrics(same)
    assert m["body_pose:link2/position_error_m/max"] < 1e-9
    assert m["body_pose:link2/rotation_error_deg/max"] < 1e-5  # arccos near 1: ~1e-6 deg
    (other,) = replay(
        scene, [ep], ReplaySettings("open_loop"), params={"dof_damping[shoulder]": 0.3}
    )
    # reference: FK of the simulated joint angles, by hand
    model, data = scene.model, mujoco.MjData(scene.model)
    link2 = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "link2")
    ref = []
    for q in other.predicted["qpos"][0]:
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        ref.append(np.r_[data.xpos[link2], data.xquat[link2]])
    ref = np.array(ref)
    np.testing.assert_allclose(other.predicted["body_pose:link2"][0], ref, atol=1e-12)
    real = ep.signals["body_pose:link2"].values
    pos = np.linalg.norm(ref[:, :3] - real[:, :3], axis=1)
    rot = quat_geodesic_deg(ref[:, 3:], real[:, 3:])
    m = episode_metrics(other)
    assert m["body_pose:link2/position_error_m/rmse"] == pytest.approx(np.sqrt(np.mean(pos**2)))
    assert m["body_pose:link2/rotation_error_deg/max"] == pytest.approx(rot.max())
    assert m["body_pose:link2/position_error_m/max"] > 0.01  # the damping changed the swing
    # unit-aware thresholds: a body-pose kind applies, the signal's scalar one never does
    th = {"body_pose:link2": 1e-9, "body_pose:link2/position_m": 1e-3, "rotation_deg": 1e3}
    m = episode_metrics(other, thresholds=th)
    first = np.flatnonzero(pos > 1e-3)[0] * other.alignment.dt
    assert m["body_pose:link2/position_error_m/divergence_time_s"] == pytest.approx(first)
    assert m["body_pose:link2/rotation_error_deg/divergence_time_s"] == pytest.approx(
        other.alignment.dt * (ep.num_samples - 1)
    )
    # a selection scores only what it names
    chosen = gap_report([other], scene="arm", settings={}, score=["body_pose:link2"])
    keys = chosen.episodes[0]["metrics"]
    assert keys and all(k.startswith("body_pose:link2/") for k in keys)


def test_windows_mode_tracks_body_poses_too():
    scene = arm_scene()
    ep = recorded_swing(scene.model)
    (win,) = replay(scene, [ep], ReplaySettings("windows", horizons=(0.1,), window_stride=0.1))
    assert win.predicted["body_pose:link2"].shape == (win.starts.size, 11, 7)
    m = episode_metrics(win, horizons=(0.1,))
    assert m["h=0.1s/body_pose:link2/position_error_m/mae"] < 1e-9


def test_thresholds_by_pose_kind_names():
    th = check_thresholds(
        {"qpos/cube/position_m": 0.01, "marker:rope_08/position_m": 0.005, "qpos": 0.5},
        where="--threshold",
    )
    assert threshold_for(th, signal="qpos", kind="position_m", column="cube") == 0.01
    assert threshold_for(th, signal="qpos", kind="rotation_deg", column="cube") == 10.0
    assert threshold_for(th, signal="marker:rope_08", kind="position_m", column="") == 0.005
    assert threshold_for(th, signal="qpos", kind="qpos", column="elbow") == 0.5
    with pytest.raises(SettingsError, match="threshold name"):
        check_thresholds({"qpos/cube/position_mm": 1.0}, where="--threshold")


def test_score_selection_checked_against_the_replay():
    scene = arm_scene()
    ep = recorded_swing(scene.model)
    settings = ReplaySettings("open_loop")
    bounds = bind_all(scene, [ep], settings)
    assert check_score(["body_pose:link2", "qpos/elbow"], scene, bounds, settings) == [
        "body_pose:link2",
        "qpos/elbow",
    ]
    with pytest.raises(SettingsError, match=r"--score: 'body_pose:link1' is not simulated"):
        check_score(["body_pose:link1"], scene, bounds, settings)
    with pytest.raises(SettingsError, match=r"--score"):
        check_score(["qfrc_actuator"], scene, bounds, settings)
    bad = ep.with_signals(
        **{"body_pose:link2": Signal(np.zeros((ep.num_samples, 5)), tuple("abcde"))}
    )
    with pytest.raises(BindingError, match=r"'body_pose:link2': expected 7 columns"):
        bind_all(scene, [bad], settings)
    marked = ep.with_signals(**{"marker:tip": Signal(np.zeros((ep.num_samples, 3)), tuple("xyz"))})
    with pytest.raises(BindingError, match=r"'marker:tip'.*declares none"):
        bind_all(scene, [marked], settings)
