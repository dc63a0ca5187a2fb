"""Kinematic drivers: mocap bodies along recorded poses (through mujoco.rollout's control spec,
interpolated between samples) against a plain mj_step loop; driven joints; passive bodies from
recorded poses; derived initial velocities; tracking never servoes passive joints; bad input."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from workbench import Binding, Episode, ReplaySettings, Signal, replay, scene_from_xml
from workbench.errors import BindingError, SceneError
from workbench.replay.drivers import mocap_rows, substep_mocap
from workbench.replay.tracking import tracking_model

PUSH_XML = """
<mujoco model="push">
  <option timestep="0.002" cone="elliptic"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1" friction="0.4 0.005 0.0001"/>
    <body name="pusher" mocap="true" pos="-0.2 0 0.03">
      <geom name="pusher" type="sphere" size="0.02" contype="1" conaffinity="1"/>
    </body>
    <body name="cube" pos="0 0 0.03">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="0.03 0.03 0.03" mass="0.2"/>
    </body>
    <body name="arm">
      <joint name="hinge" type="hinge" axis="0 0 1"/>
      <geom type="capsule" fromto="0.5 0 0.2 0.7 0 0.2" size="0.01" mass="0.1" contype="0" conaffinity="0"/>
    </body>
  </worldbody>
  <actuator>
    <position name="hinge_servo" joint="hinge" kp="5" kv="0.2"/>
  </actuator>
</mujoco>
"""


def push_scene(**binding):
    args = {
        "timestep": 0.002,
        "state_joints": ("cube", "hinge"),
        "driven_bodies": ("pusher",),
        "passive_bodies": ("cube",),
        "actuators": ("hinge_servo",),
        **binding,
    }
    return scene_from_xml("push", PUSH_XML, Binding(**args))


def push_episode(T: int = 60, dt: float = 0.01) -> Episode:
    """The pusher sweeps +x through the cube while turning about z; the cube starts at rest."""
    t = np.arange(T) * dt
    pos = np.stack([-0.12 + 0.4 * t, 0.004 * np.sin(3 * t), 0.03 + 0 * t], 1)
    quat = Rotation.from_euler("z", 2.0 * t[:, None]).as_quat()[:, [3, 0, 1, 2]]
    cube = np.tile([0.0, 0.0, 0.03, 1.0, 0.0, 0.0, 0.0], (T, 1))
    cols = ("x", "y", "z", "qw", "qx", "qy", "qz")
    return Episode(
        "push",
        t,
        {
            "body_pose:pusher": Signal(np.concatenate([pos, quat], 1), cols, "m"),
            "body_pose:cube": Signal(cube, cols, "m"),
            "qpos": Signal(0.3 * np.sin(2 * t)[:, None], ("hinge",), "rad"),
            "ctrl": Signal(0.3 * np.sin(2 * t)[:, None], ("hinge_servo",)),
        },
    )


def _reference_loop(model, episode, substeps):
    """Plain mj_step: mocap_pos / mocap_quat set each step from scipy's interpolation of the
    recorded poses at the step's start time; the hinge servo holds the recorded position."""
    rec = episode.signals["body_pose:pusher"].values
    t = episode.times
    ts = model.opt.timestep
    slerp = Slerp(t, Rotation.from_quat(rec[:, [4, 5, 6, 3]]))
    data = mujoco.MjData(model)
    data.qpos[:7] = episode.signals["body_pose:cube"].values[0]
    hinge = model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, "hinge")]
    data.qpos[hinge] = episode.signals["qpos"].values[0, 0]
    out = [data.qpos.copy()]
    for j in range(len(t) - 1):
        for k in range(substeps):
            tk = t[0] + (j * substeps + k) * ts
            data.mocap_pos[0] = [np.interp(tk, t, rec[:, i]) for i in range(3)]
            data.mocap_quat[0] = slerp([tk]).as_quat()[0, [3, 0, 1, 2]]
            data.ctrl[0] = episode.signals["qpos"].values[j, 0]
            mujoco.mj_step(model, data)
        out.append(data.qpos.copy())
    return np.array(out)


def test_mocap_driven_rollout_matches_plain_mj_step_loop():
    scene, ep = push_scene(), push_episode()
    (trace,) = replay(scene, [ep], ReplaySettings("open_loop"))
    ref = _reference_loop(scene.model, ep, 5)
    cols = list(trace.episode.signals["qpos"].columns)
    sim = trace.predicted["qpos"][0]
    cube = [cols.index(f"cube[{i}]") for i in range(7)]
    np.testing.assert_allclose(sim[:, cube], ref[:, :7], atol=1e-10)
    np.testing.assert_allclose(sim[:, cols.index("hinge")], ref[:, 7], atol=1e-10)
    assert sim[-1, cube[0]] > 0.05  # the cube was pushed along +x (not a no-op drive)


def test_windows_start_mid_path_with_the_pusher_there():
    scene, ep = push_scene(), push_episode()
    (ol,) = replay(scene, [ep], ReplaySettings("open_loop"))
    (win,) = replay(scene, [ep], ReplaySettings("windows", horizons=(0.1,), window_stride=0.1))
    ref = _reference_loop(scene.model, ep, 5)
    assert win.starts[0] == 0
    # the first window starts from the same recorded state as open loop: identical samples
    np.testing.assert_allclose(win.predicted["qpos"][0], ol.predicted["qpos"][0][:11], atol=1e-12)
    cols = list(win.episode.signals["qpos"].columns)
    cube = [cols.index(f"cube[{i}]") for i in range(7)]
    np.testing.assert_allclose(win.predicted["qpos"][0][:, cube], ref[:11, :7], atol=1e-10)
    # a window starting mid-path (0.3 s) starts with the pusher at its recorded pose there
    k = int(np.flatnonzero(win.starts == 30)[0])
    assert np.isfinite(win.predicted["qpos"][k]).all()


def test_interpolation_between_samples():
    t = np.arange(5, dtype=float)
    rot = Rotation.from_euler("xyz", np.c_[t * 0.3, -t * 0.2, t * 0.5])
    rows = np.c_[np.c_[t, t**2, -t], rot.as_quat()[:, [3, 0, 1, 2]]]
    n = 4
    steps = substep_mocap(rows, n, 1)
    grid = np.arange(4 * n) / n
    np.testing.assert_allclose(steps[:, 0], grid, atol=1e-12)
    np.testing.assert_allclose(steps[:, 1], np.interp(grid, t, t**2), atol=1e-12)
    expected = Slerp(t, rot)(grid).as_quat()[:, [3, 0, 1, 2]]
    sign = np.sign(np.sum(expected * steps[:, 3:], axis=1))[:, None]
    np.testing.assert_allclose(steps[:, 3:], expected * sign, atol=1e-12)
    np.testing.assert_allclose(steps[::n], rows[:-1], atol=1e-12)  # samples hit exactly
    scene, ep = push_scene(), push_episode(T=5)
    full = mocap_rows(scene.model, ep, ((0, "body_pose:pusher"),))
    np.testing.assert_allclose(
        full, ep.signals["body_pose:pusher"].values[:, [0, 1, 2, 3, 4, 5, 6]]
    )


def test_derived_initial_velocities():
    """A cube recorded sliding without qvel: derive_velocities starts it at the recorded speed."""
    T, dt = 30, 0.01
    t = np.arange(T) * dt
    cube = np.c_[
        0.3 + 0.5 * t, 0 * t, 0.5 + 0 * t - 0.5 * 9.81 * t**2, np.tile([1, 0, 0, 0], (T, 1))
    ]
    cols = ("x", "y", "z", "qw", "qx", "qy", "qz")
    ep = Episode("fly", t, {"body_pose:cube": Signal(cube, cols)})
    kw = {"state_joints": ("cube",), "passive_bodies": ("cube",)}
    still = push_scene(driven_bodies=(), actuators=(), **kw)
    moving = push_scene(driven_bodies=(), actuators=(), derive_velocities=True, **kw)
    (a,), (b,) = (replay(s, [ep], ReplaySettings("open_loop")) for s in (still, moving))
    # free flight for 0.29 s: recorded velocity 0.5 m/s in x (central differences are exact for
    # a parabola), so only the derived start follows the recorded x
    assert abs(b.predicted["qpos"][0, -1, 0] - cube[-1, 0]) < 1e-3
    assert abs(a.predicted["qpos"][0, -1, 0] - cube[0, 0]) < 1e-9


def test_tracking_never_servoes_passive_joints():
    scene = push_scene(passive_joints=("hinge",))
    assert tracking_model(scene).joints == ()
    assert tracking_model(push_scene()).joints == ("hinge",)


def test_driven_joint_follows_recorded_position():
    scene = push_scene(driven_joints=("hinge",), actuators=())
    ep = push_episode()
    ep = Episode(ep.id, ep.times, {k: v for k, v in ep.signals.items() if k != "ctrl"})
    (trace,) = replay(scene, [ep], ReplaySettings("open_loop"))
    hinge = list(trace.episode.signals["qpos"].columns).index("hinge")
    err = trace.predicted["qpos"][0][:, hinge] - ep.signals["qpos"].values[:, 0]
    assert np.abs(err).max() < 0.1  # a 5 N m/rad servo tracks it (lagging), not zero
    assert np.ptp(trace.predicted["qpos"][0][:, hinge]) > 0.2


@pytest.mark.parametrize(
    ("binding", "words"),
    [
        (
            {"driven_bodies": ("cube",)},
            ["driven_bodies", "'cube'", "expected a mocap body", "joints ['cube']", "'pusher'"],
        ),
        ({"driven_bodies": ("floor_body",)}, ["driven_bodies", "unknown body 'floor_body'"]),
        ({"driven_joints": ("elbow",)}, ["driven_joints", "unknown joint 'elbow'", "'hinge'"]),
        ({"driven_joints": ("cube",)}, ["driven_joints", "'cube'", "expected a position actuator"]),
        ({"passive_bodies": ("pusher",)}, ["passive_bodies", "'pusher'", "free joint"]),
        ({"derive_velocities": "yes"}, ["derive_velocities", "true or false", "'yes'"]),
    ],
)
def test_hostile_driven_bindings(binding, words):
    with pytest.raises(SceneError) as err:
        push_scene(**binding)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_hostile_driven_signals():
    scene, ep = push_scene(), push_episode()
    missing = Episode(
        ep.id, ep.times, {k: v for k, v in ep.signals.items() if k != "body_pose:pusher"}
    )
    with pytest.raises(
        BindingError, match=r"driven body 'pusher': expected a 'body_pose:pusher' signal"
    ):
        replay(scene, [missing], ReplaySettings("open_loop"))
    bad = ep.signals["body_pose:pusher"].values.copy()
    bad[7, 3:] *= 2
    broken = ep.with_signals(
        **{"body_pose:pusher": Signal(bad, ep.signals["body_pose:pusher"].columns)}
    )
    with pytest.raises(BindingError, match=r"'body_pose:pusher' row 7: expected a unit quaternion"):
        replay(scene, [broken], ReplaySettings("open_loop"))
    no_cube = Episode(
        ep.id, ep.times, {k: v for k, v in ep.signals.items() if k != "body_pose:cube"}
    )
    with pytest.raises(
        BindingError, match=r"passive body 'cube': expected a 'body_pose:cube' signal"
    ):
        replay(scene, [no_cube], ReplaySettings("open_loop"))
