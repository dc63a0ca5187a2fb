"""Cross-embodiment retargeting: the Panda's tool follows recorded hand paths (mink IK)."""

from __future__ import annotations

import json
from pathlib import Path

import mujoco
import numpy as np
import pytest

from workbench.cli import main
from workbench.episode import Episode, Signal
from workbench.errors import RetargetError, SettingsError
from workbench.retarget.run import load_robot, retarget_episodes, write_retargeted
from workbench.retarget.settings import RetargetSettings
from workbench.scenes import Binding, scene_from_xml

# a table, a mocap hand with a fingertip 10 cm below it, and a cube (the kinova_push layout)
OBJECTS_XML = """
<mujoco>
  <worldbody>
    <body name="table"><geom name="table" type="box" size="0.6 0.4 0.02" pos="0.45 0 -0.02"/></body>
    <body name="hand" mocap="true" pos="0.4 0 0.3">
      <body name="finger" pos="0 0 -0.1"><geom name="finger" type="sphere" size="0.01"/></body>
    </body>
    <body name="cube" pos="0.55 0 0.0375">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="0.0375 0.0375 0.0375" mass="0.2"/>
    </body>
  </worldbody>
  <contact>
    <pair name="cube_finger" geom1="cube" geom2="finger" friction="0.5 0.5 0.005 0.0001 0.0001"/>
  </contact>
</mujoco>
"""
BASE = (-0.1, 0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def objects():
    binding = Binding(
        timestep=0.002,
        state_joints=("cube",),
        compare=("qpos",),
        driven_bodies=("hand",),
        passive_bodies=("cube",),
        derive_velocities=True,
    )
    return scene_from_xml("objects", OBJECTS_XML, binding)


@pytest.fixture(scope="module")
def panda():
    return load_robot("panda")


def hand_episode(finger: np.ndarray, dt: float = 0.01, name: str = "synthetic") -> Episode:
    """An episode whose hand (pointing down, identity rotation) puts the finger on `finger`."""
    T = finger.shape[0]
    hand = np.c_[finger + [0, 0, 0.1], np.tile([1.0, 0, 0, 0], (T, 1))]
    cube = np.tile([0.55, 0, 0.0375, 1, 0, 0, 0], (T, 1))
    return Episode(
        name,
        np.arange(T) * dt,
        {
            "body_pose:hand": Signal(hand, ("x", "y", "z", "qw", "qx", "qy", "qz")),
            "body_pose:cube": Signal(cube, ("x", "y", "z", "qw", "qx", "qy", "qz")),
        },
        {"file": f"{name}.csv"},
    )


def circle(T: int = 150, centre=(0.4, 0.0, 0.15), radius: float = 0.05) -> np.ndarray:
    s = np.linspace(0, 2 * np.pi, T)
    return np.c_[
        centre[0] + radius * np.cos(s), centre[1] + radius * np.sin(s), np.full(T, centre[2])
    ]


def settings(**kw) -> RetargetSettings:
    kw = {"tool_point": "finger", "tip_offset": (0, 0, 0.1), "base": BASE} | kw
    return RetargetSettings("body_pose:hand", "attachment_site", **kw)


def test_follows_a_reachable_path_within_a_millimetre_and_respects_joint_limits(objects, panda):
    result = retarget_episodes([hand_episode(circle())], panda, objects, settings())
    (r,) = result.episodes
    assert r.follow.error.max() < 1e-3, r.follow.error.max()
    assert r.report["reachable_fraction"] == 1.0 and r.report["stretches"] == []
    # the tool reached is the fingertip site of the combined scene, recomputed by forward kinematics
    ik_model = _ik_model(result, objects, panda)
    data = mujoco.MjData(ik_model)
    for t in (0, 40, 149):
        data.qpos[:] = r.follow.qpos[t]
        mujoco.mj_kinematics(ik_model, data)
        tip = data.site("retarget_tip").xpos
        assert np.linalg.norm(tip - r.targets[t]) < 1e-3
    low, high = ik_model.jnt_range.T
    assert (r.follow.qpos >= low - 1e-6).all() and (r.follow.qpos <= high + 1e-6).all()
    margins = r.report["joint_margins"]
    assert set(margins) == {f"joint{i}" for i in range(1, 8)}
    assert all(m["margin"] >= -1e-6 for m in margins.values())
    # speeds within the velocity limit (positions differenced over each sample)
    speed = np.abs(np.diff(r.follow.qpos, axis=0)) / 0.01
    assert speed.max() <= 2.0 + 1e-6


def _ik_model(result, objects, panda):
    from workbench.retarget.compose import compile_quietly, compose

    comp = compose(panda, objects, settings(), result.base, keep_free_bodies=False)
    return compile_quietly(comp.make_spec)


def test_joint_limits_hold_when_the_path_pulls_past_them(objects, panda):
    # a path that sweeps far around the base: joint1 would need more than its range
    s = np.linspace(0, 1.9 * np.pi, 200)
    path = np.c_[-0.1 + 0.5 * np.cos(s), 0.5 * np.sin(s), np.full(200, 0.3)]
    (r,) = retarget_episodes([hand_episode(path)], panda, objects, settings()).episodes
    model = _ik_model_for(objects, panda)
    low, high = model.jnt_range.T
    assert (r.follow.qpos >= low - 1e-6).all() and (r.follow.qpos <= high + 1e-6).all()


def _ik_model_for(objects, panda):
    from workbench.retarget.compose import compile_quietly, compose

    return compile_quietly(
        compose(panda, objects, settings(), BASE, keep_free_bodies=False).make_spec
    )


def test_a_path_partly_out_of_reach_reports_its_stretch(objects, panda):
    T = 300
    path = np.tile([0.4, 0.0, 0.15], (T, 1))
    path[100:200, 0] = 2.0  # 2.1 m from the base for one second
    (r,) = retarget_episodes([hand_episode(path)], panda, objects, settings()).episodes
    stretches = r.report["stretches"]
    far = [s for s in stretches if s["kind"] == "unreachable"]
    assert len(far) == 1, stretches
    assert far[0]["start_s"] == pytest.approx(1.0) and far[0]["end_s"] >= 1.99
    assert far[0]["max_error_m"] > 0.5
    assert 0.3 < r.report["reachable_fraction"] < 0.7


def test_a_path_entirely_out_of_reach_is_refused(objects, panda):
    path = np.tile([3.0, 0.0, 0.15], (50, 1))
    with pytest.raises(
        RetargetError, match=r"far\.csv.*body_pose:hand.*expected a path.*none of 50"
    ):
        retarget_episodes([hand_episode(path, name="far")], panda, objects, settings())


def test_written_episodes_replay_with_the_cube(objects, panda, tmp_path):
    from workbench.io.load import load_episodes
    from workbench.replay import ReplaySettings, replay
    from workbench.scenes import load_scene_folder

    path = np.c_[np.linspace(0.40, 0.52, 120), np.zeros(120), np.full(120, 0.0375)]
    result = retarget_episodes([hand_episode(path)], panda, objects, settings())
    out = write_retargeted(result, tmp_path / "out")
    scene = load_scene_folder(out / "scene")
    eps = load_episodes(out / "episodes", out / "mapping.toml")
    assert eps[0].signal("qfrc_actuator").values.shape == (120, 7)
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["reachable_fraction"] == 1.0
    (trace,) = replay(scene, eps, ReplaySettings("open_loop"))
    assert not trace.diverged.any()
    cols = list(trace.episode.signals["qpos"].columns)
    x = trace.predicted["qpos"][0][:, cols.index("cube[0]")]
    # the fingertip (10 mm sphere) ends 12 mm past the cube's back face: the cube is pushed
    assert x[-1] - x[0] > 0.005


def test_torques_are_the_inverse_dynamics_of_the_written_motion(objects, panda):
    result = retarget_episodes([hand_episode(circle())], panda, objects, settings(smooth=0.0))
    (r,) = result.episodes
    model = _ik_model(result, objects, panda)
    data = mujoco.MjData(model)
    t = 60
    data.qpos[:] = r.follow.qpos[t]
    data.qvel[:] = r.qvel[t]
    data.qacc[:] = (r.qvel[t + 1] - r.qvel[t]) / 0.01
    mujoco.mj_inverse(model, data)
    np.testing.assert_allclose(r.torque[t], data.qfrc_inverse, atol=1e-9)
    assert np.abs(r.torque[t]).max() > 1.0  # gravity is in it


def test_settings_are_checked():
    with pytest.raises(SettingsError, match="--from-signal: expected body_pose:<body>"):
        RetargetSettings("qpos", "attachment_site")
    with pytest.raises(SettingsError, match="--tolerance: expected a number > 0"):
        RetargetSettings("body_pose:hand", "s", tolerance=0)
    with pytest.raises(SettingsError, match=r"--base: expected 4 finite numbers, got \[1.0, 2.0\]"):
        RetargetSettings("body_pose:hand", "s", base=(1, 2))


# ---------------------------------------------------------------- command line, hostile input

BUNDLED = Path(__file__).resolve().parents[1] / "assets" / "data" / "kinova_push"
MAPPING = Path(__file__).resolve().parents[1] / "assets" / "mappings" / "kinova_push.toml"


def _cli(tmp_path, capsys, *extra, robot="panda", site="attachment_site", signal="body_pose:hand"):
    out = tmp_path / "out"
    rc = main(
        [
            "retarget",
            str(BUNDLED / "CubeExp0001_6D.tsv"),
            "--mapping",
            str(MAPPING),
            "--from-signal",
            signal,
            "--robot",
            str(robot),
            "--site",
            site,
            "--objects-from",
            "kinova_push",
            "--tool-point",
            "finger",
            "--tip-offset",
            "0,0,0.1",
            "--out",
            str(out),
            *extra,
        ]
    )
    return rc, capsys.readouterr(), out


def test_cli_unknown_site_exits_2_and_writes_nothing(tmp_path, capsys):
    rc, cap, out = _cli(tmp_path, capsys, "--base", "0,0,0,0", site="flange")
    assert rc == 2 and not out.exists()
    assert "--site: expected a site (or body) of the robot, got 'flange'" in cap.err
    assert "'attachment_site'" in cap.err and "panda" in cap.err


def test_cli_unknown_signal_exits_2_and_writes_nothing(tmp_path, capsys):
    rc, cap, out = _cli(tmp_path, capsys, "--base", "0,0,0,0", signal="body_pose:foot")
    assert rc == 2 and not out.exists()
    assert "CubeExp0001_6D.tsv" in cap.err
    assert "expected a 'body_pose:foot' signal" in cap.err and "'body_pose:hand'" in cap.err


def test_cli_signal_that_is_not_a_pose_exits_2(tmp_path, capsys):
    rc, cap, out = _cli(tmp_path, capsys, signal="qpos")
    assert rc == 2 and not out.exists()
    assert "--from-signal: expected body_pose:<body>" in cap.err and "'qpos'" in cap.err


def test_cli_path_out_of_reach_exits_2_and_writes_nothing(tmp_path, capsys):
    rc, cap, out = _cli(tmp_path, capsys, "--base", "5,0,0,0")
    assert rc == 2 and not out.exists()
    assert "CubeExp0001_6D.tsv" in cap.err and "body_pose:hand" in cap.err
    assert "expected a path the robot's tool reaches" in cap.err and "closest" in cap.err


def test_cli_urdf_without_joints_exits_2(tmp_path, capsys):
    urdf = tmp_path / "rigid.urdf"
    urdf.write_text(
        '<robot name="rigid"><link name="base"><inertial><mass value="1"/>'
        '<inertia ixx="1" iyy="1" izz="1" ixy="0" ixz="0" iyz="0"/></inertial></link></robot>'
    )
    rc, cap, out = _cli(tmp_path, capsys, "--base", "0,0,0,0", robot=urdf)
    assert rc == 2 and not out.exists()
    assert "URDF" in cap.err and "rigid.urdf" in cap.err and "movable <joint>" in cap.err


def test_cli_bad_base_and_tool_point_exit_2(tmp_path, capsys):
    rc, cap, out = _cli(tmp_path, capsys, "--base", "0,0")
    assert rc == 2 and "--base: expected 4 comma-separated numbers, got '0,0'" in cap.err
    rc, cap, out = _cli(tmp_path, capsys, "--base", "0,0,0,0", "--tool-point", "cube")
    assert rc == 2 and not out.exists()
    assert (
        "--tool-point: expected a body fixed to the hand 'hand'" in cap.err
        and "'finger'" in cap.err
    )


def test_cli_retargets_the_bundled_push(tmp_path, capsys):
    """Fast end-to-end on the bundled 4 s stretch of run 1 (the push), fixed base."""
    rc, cap, out = _cli(tmp_path, capsys, "--base", "0.358,0.432,0,-90")
    assert rc == 0, cap.err
    assert "median tool-path error" in cap.out
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["reachable_fraction"] > 0.95
    assert report["summary"]["median_error_m"] < 1e-3
    assert (out / "scene" / "scene.toml").is_file() and len(
        list((out / "episodes").glob("*.csv"))
    ) == 1
