"""Frames, event windows, contact onset, the push protocol on the bundled Kinova runs, objective
scales/weights and the held-out regression flags."""

from __future__ import annotations

import types

import mujoco
import numpy as np
import pytest
from test_manip_drivers import push_episode, push_scene

from workbench import Binding, Episode, Signal, load_episodes, load_scene, scene_from_xml
from workbench.calibrate.objective import WindowedObjective
from workbench.calibrate.report import flag_regressions, worse_metrics
from workbench.calibrate.space import Parameter, ParameterSpace
from workbench.errors import EpisodeError, SceneError, SettingsError
from workbench.metrics.contact import first_contact
from workbench.metrics.events import EventWindow, event_interval, event_slices, motion_onset
from workbench.paths import assets_root
from workbench.protocols.push import (
    PushProtocol,
    estimate_table_frame,
    push_windows,
    score_pushes,
    summarize,
)
from workbench.replay.drivers import mocap_rows, to_scene_frame

KINOVA = assets_root() / "data" / "kinova_push"
MAP = assets_root() / "mappings" / "kinova_push.toml"
COLS = ("x", "y", "z", "qw", "qx", "qy", "qz")


def _moving(T=300, dt=0.01, t0=1.0, t1=1.5, v=0.2):
    t = np.arange(T) * dt
    x = np.clip(t - t0, 0, t1 - t0) * v
    pose = np.c_[x, 0 * t, 0 * t + 0.03, np.tile([1, 0, 0, 0], (T, 1))]
    return Episode("m", t, {"body_pose:cube": Signal(pose, COLS)})


def test_event_window_and_motion_onset():
    ep = _moving()
    ev = EventWindow("body_pose:cube", speed=0.05, margin_before=0.2, margin_after=0.3, smooth=0.0)
    start, stop = event_interval(ep, ev)
    assert ep.times[start] == pytest.approx(1.0 - 0.2, abs=0.011)
    assert ep.times[stop - 1] == pytest.approx(1.5 + 0.3, abs=0.011)
    (cut,) = event_slices([ep], ev)
    assert cut.num_samples == stop - start
    onset = motion_onset(ep.signals["body_pose:cube"].values[:, :3], ep.times, threshold=0.001)
    assert onset == pytest.approx(1.0 + 0.001 / 0.2, abs=0.011)
    still = Episode(
        "s", ep.times, {"body_pose:cube": Signal(np.tile([0, 0, 0, 1, 0, 0, 0.0], (300, 1)), COLS)}
    )
    with pytest.raises(
        EpisodeError,
        match=r"episode 's': event window: expected 'body_pose:cube' to move faster than 0.05",
    ):
        event_slices([still], ev)
    with pytest.raises(SettingsError, match=r"event.speed: expected > 0, got -1"):
        EventWindow("body_pose:cube", speed=-1)


def test_first_contact_matches_geometry():
    scene, ep = push_scene(), push_episode()
    model = scene.model
    # the pusher (r 0.02) moves at 0.4 m/s from x = -0.12 towards the cube face at x = -0.03
    qpos = np.tile(model.qpos0, (ep.num_samples, 1))
    mocap = mocap_rows(model, ep, ((0, "body_pose:pusher"),))
    t = first_contact(model, qpos, mocap, ep.times, "pusher", "cube")
    x = ep.signals["body_pose:pusher"].values[:, 0]
    expected = ep.times[np.flatnonzero(x + 0.02 >= -0.03)[0]]
    assert t == pytest.approx(expected)
    assert first_contact(model, qpos[:5], mocap[:5], ep.times[:5], "pusher", "cube") is None


def test_capture_frame_maps_body_poses():
    q = np.array([np.cos(0.25), 0, 0, np.sin(0.25)])  # 0.5 rad about z
    binding = types.SimpleNamespace(capture_frame=(0.1, 0.0, -0.2, *q))
    ep = _moving()
    out = to_scene_frame(binding, ep)
    p = ep.signals["body_pose:cube"].values
    r = out.signals["body_pose:cube"].values
    mat = np.zeros(9)
    mujoco.mju_quat2Mat(mat, q)
    np.testing.assert_allclose(
        r[:, :3], p[:, :3] @ mat.reshape(3, 3).T + [0.1, 0, -0.2], atol=1e-12
    )
    np.testing.assert_allclose(r[:, 3:], np.tile(q, (p.shape[0], 1)), atol=1e-12)
    # every row's orientation as mju_mulQuat gives it, and markers (x y z) mapped alike
    rng = np.random.default_rng(1)
    quats = rng.normal(size=(p.shape[0], 4))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    marks = rng.normal(size=(p.shape[0], 3))
    turned = ep.with_signals(
        **{
            "body_pose:cube": Signal(np.concatenate([p[:, :3], quats], 1), COLS),
            "marker:m0": Signal(marks, ("x", "y", "z"), "m"),
        }
    )
    out = to_scene_frame(binding, turned)
    want = np.zeros((p.shape[0], 4))
    for k in range(p.shape[0]):
        mujoco.mju_mulQuat(want[k], q, quats[k])
    np.testing.assert_allclose(out.signals["body_pose:cube"].values[:, 3:], want, atol=1e-15)
    got = out.signals["marker:m0"].values
    want_m = marks @ mat.reshape(3, 3).T + [0.1, 0, -0.2]
    np.testing.assert_allclose(got, want_m, atol=1e-12)
    assert out.signals["marker:m0"].frame == "scene"
    with pytest.raises(
        SceneError,
        match=r"capture_frame: expected x y z qw qx qy qz with a unit quaternion, got quaternion norm 2",
    ):
        push_scene(capture_frame=(0, 0, 0, 2, 0, 0, 0))
    with pytest.raises(SceneError, match=r"capture_frame: expected 7 values, got 3"):
        push_scene(capture_frame=(0, 0, 0))


def test_table_frame_estimate_levels_a_tilted_table():
    """Rest poses on a table tilted 2 deg about y: the estimated frame makes it level at z = 0."""
    eps = []
    tilt = np.radians(2.0)
    for k in range(3):
        ep = _moving(T=400, t0=1.5, t1=2.0, v=0.2)
        v = ep.signals["body_pose:cube"].values.copy()
        v[:, 1] = 0.01 * k
        v[:, 0] += 0.4
        v[:, 2] = 0.01 + np.tan(tilt) * v[:, 0] + 0.0375 / np.cos(tilt)
        eps.append(ep.with_signals(**{"body_pose:cube": Signal(v, COLS)}))
    frame = estimate_table_frame(eps, "cube", 0.0375)
    out = to_scene_frame(types.SimpleNamespace(capture_frame=frame), eps[0])
    z = out.signals["body_pose:cube"].values[:, 2]
    np.testing.assert_allclose(z, 0.0375, atol=1e-6)


def test_kinova_scene_scores_the_bundled_pushes():
    scene = load_scene("kinova_push")
    runs = load_episodes(KINOVA, MAP)
    windows = push_windows(runs, PushProtocol())
    assert all(0.8 < w.duration < 2.0 for w in windows)  # the push, not 4 s of rest
    rows = score_pushes(scene, windows)
    summary = summarize(rows)
    assert summary["diverged"] == 0
    for r in rows:
        assert 0.5 < r["final_planar_error_mm"] < 40  # a real gap: not zero, not nonsense
        assert abs(r["contact_onset_error_s"]) < 0.3
    pushed = score_pushes(scene, windows, params={"pair_friction[cube_table][0]": 0.9})
    assert pushed[0]["final_planar_error_mm"] != rows[0]["final_planar_error_mm"]


def test_objective_scales_and_weights():
    scene, ep = push_scene(driven_joints=(), actuators=(), state_joints=("cube",)), push_episode()
    ep = Episode(
        ep.id, ep.times, {k: v for k, v in ep.signals.items() if k.startswith("body_pose")}
    )
    space = ParameterSpace((Parameter("body_mass[cube]", 0.05, 1.0, "log", None),))
    plain = WindowedObjective(scene, [ep], space, horizon=0.3, stride=0.3)
    k = plain.columns.index("cube[0]")
    scaled = WindowedObjective(
        scene,
        [ep],
        space,
        horizon=0.3,
        stride=0.3,
        scales={"cube[0]": 0.002},
        weights={"cube[1]": 0.0},
    )
    assert scaled.scale[k] == pytest.approx(0.002)
    assert scaled.scale[plain.columns.index("cube[1]")] > 1e100
    with pytest.raises(
        SettingsError,
        match=r"scales: unknown column 'box\[0\]'; residual columns are \['cube\[0\]'",
    ):
        WindowedObjective(scene, [ep], space, horizon=0.3, stride=0.3, scales={"box[0]": 1.0})
    with pytest.raises(SettingsError, match=r"weights\['cube\[2\]'\]: expected >= 0, got -1"):
        WindowedObjective(scene, [ep], space, horizon=0.3, stride=0.3, weights={"cube[2]": -1})
    for o in (plain, scaled):
        o.close()


def test_worse_heldout_metrics_are_flagged():
    table = {
        "a": {"nominal": 1.0, "calibrated": 0.5},
        "b": {"nominal": 0.04, "calibrated": -0.09},
        "c": {"nominal": 2.0, "calibrated": 2.0},
    }
    assert worse_metrics(table) == ["b"]
    assert flag_regressions(
        {"x": 10.0, "y": 0.04, "z": float("nan")}, {"x": 3.0, "y": 0.1, "z": 1.0}
    ) == ["y"]


def test_scene_without_mocap_keeps_plain_controls():
    """A scene without mocap bodies rolls out with ctrl-only controls (unchanged path)."""
    xml = "<mujoco><worldbody><body><joint name='j'/><geom size='.1' mass='1'/></body></worldbody></mujoco>"
    scene = scene_from_xml("plain", xml, Binding(timestep=0.01, state_joints=("j",)))
    assert scene.model.nmocap == 0
