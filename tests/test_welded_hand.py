"""A dynamic hand welded to a mocap target (binding `welded_bodies`): its free joint starts every
window at the target's recorded pose (not qpos0), it follows the path, and the contact forces of
its push stay finite and bounded."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from workbench import Binding, Episode, ReplaySettings, Signal, replay, scene_from_xml
from workbench.errors import SceneError
from workbench.metrics.gap import episode_metrics

XML = """
<mujoco model="welded">
  <option timestep="0.002" cone="elliptic"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1" friction="0.4 0.005 0.0001"/>
    <body name="target" mocap="true" pos="0.5 0.5 0.5"/>
    <body name="hand" pos="0.5 0.5 0.5">
      <freejoint name="hand"/>
      <geom name="hand" type="sphere" size="0.02" mass="0.3"/>
    </body>
    <body name="cube" pos="0 0 0.03">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="0.03 0.03 0.03" mass="0.2"/>
    </body>
  </worldbody>
  <equality>
    <weld name="grip" body1="target" body2="hand" solref="0.01 1"/>
  </equality>
</mujoco>
"""
COLS = ("x", "y", "z", "qw", "qx", "qy", "qz")


def scene(**kw):
    args = {
        "timestep": 0.002,
        "state_joints": ("cube",),
        "driven_bodies": ("target",),
        "passive_bodies": ("cube",),
        "welded_bodies": {"hand": "target"},
        "derive_velocities": True,
        **kw,
    }
    return scene_from_xml("welded", XML, Binding(**args))


def episode(T=60, dt=0.01):
    t = np.arange(T) * dt
    pos = np.stack([-0.12 + 0.4 * t, 0 * t, 0.03 + 0 * t], 1)
    quat = Rotation.from_euler("z", 1.0 * t[:, None]).as_quat()[:, [3, 0, 1, 2]]
    cube = np.tile([0.0, 0.0, 0.03, 1.0, 0.0, 0.0, 0.0], (T, 1))
    return Episode(
        "push",
        t,
        {
            "body_pose:target": Signal(np.c_[pos, quat], COLS, "m"),
            "body_pose:cube": Signal(cube, COLS, "m"),
        },
    )


def _loop(model, ep, init_qpos, init_qvel, substeps=5):
    """Plain mj_step loop from the replay's initial state, target set from the recording;
    returns (T, nq) qpos and the largest contact force norm [N]."""
    rec = ep.signals["body_pose:target"].values
    t = ep.times
    slerp = Slerp(t, Rotation.from_quat(rec[:, [4, 5, 6, 3]]))
    data = mujoco.MjData(model)
    data.qpos[:], data.qvel[:] = init_qpos, init_qvel
    out, biggest, force = [data.qpos.copy()], 0.0, np.zeros(6)
    for j in range(len(t) - 1):
        for k in range(substeps):
            tk = t[0] + (j * substeps + k) * model.opt.timestep
            data.mocap_pos[0] = [np.interp(tk, t, rec[:, i]) for i in range(3)]
            data.mocap_quat[0] = slerp([tk]).as_quat()[0, [3, 0, 1, 2]]
            mujoco.mj_step(model, data)
            for c in range(data.ncon):
                mujoco.mj_contactForce(model, data, c, force)
                biggest = max(biggest, float(np.linalg.norm(force[:3])))
        out.append(data.qpos.copy())
    return np.array(out), biggest


def test_welded_hand_starts_at_the_target_and_follows_the_path():
    sc, ep = scene(), episode()
    (trace,) = replay(sc, [ep], ReplaySettings("open_loop"))
    cols = list(trace.episode.signals["qpos"].columns)
    hand = [cols.index(f"hand[{i}]") for i in range(7)]
    cube = [cols.index(f"cube[{i}]") for i in range(7)]
    sim = trace.predicted["qpos"][0]
    target = ep.signals["body_pose:target"].values
    # started at the target's recorded pose (qpos0 would be 0.5 m away)
    np.testing.assert_allclose(sim[0, hand], target[0], atol=1e-12)
    m = episode_metrics(trace)
    assert m["qpos/hand/position_error_m/max"] < 0.01  # follows the path within 10 mm
    assert m["qpos/hand/rotation_error_deg/max"] < 5.0
    assert sim[-1, cube[0]] > 0.05  # and pushed the cube along +x
    # a plain mj_step loop from the same start gives the same motion; its forces stay finite
    model = sc.model
    q0 = model.qpos0.copy()
    q0[trace.bound.qpos_index] = trace.episode.signals["qpos"].values[0]
    from workbench.replay.forward import full_state_rows

    qpos, qvel = full_state_rows(model, trace.episode, trace.bound)
    ref, biggest = _loop(model, trace.episode, qpos[0], qvel[0])
    np.testing.assert_allclose(sim, ref[:, trace.bound.qpos_index], atol=1e-9)
    assert np.isfinite(biggest) and 0.1 < biggest < 50.0, biggest
    print(
        f"hand error max {m['qpos/hand/position_error_m/max'] * 1e3:.2f} mm, "
        f"{m['qpos/hand/rotation_error_deg/max']:.2f} deg; largest contact force {biggest:.2f} N"
    )
    # windows start mid-path with the hand at the target's pose there
    (win,) = replay(sc, [ep], ReplaySettings("windows", horizons=(0.1,), window_stride=0.1))
    for k, start in enumerate(win.starts):
        np.testing.assert_allclose(win.predicted["qpos"][k, 0][hand], target[start], atol=1e-9)


@pytest.mark.parametrize(
    ("welded", "words"),
    [
        ({"glove": "target"}, ["welded_bodies", "unknown body 'glove'"]),
        ({"hand": "cube"}, ["welded_bodies.hand", "driven_bodies", "'cube'"]),
        ({"cube": "target"}, ["welded_bodies.cube", "weld equality", "'target'"]),
        ({"hand": 3}, ["welded_bodies", "table"]),
        ({"world": "target"}, ["welded_bodies.world", "free joint"]),
    ],
)
def test_hostile_welds(welded, words):
    with pytest.raises(SceneError) as err:
        scene(welded_bodies=welded)
    for w in words:
        assert w in str(err.value), (w, str(err.value))
