"""Issue 16: `workbench make-scene --mjcf FILE | --urdf FILE`: scenes from a user's robot file that
load, bind and replay inverse dynamics exactly on a synthetic episode; bad input refused with
exit 2 and nothing written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import mujoco
import numpy as np
import pytest
import trimesh

from workbench import Episode, ReplaySettings, Signal, gap_report, replay
from workbench.cli import main
from workbench.paths import assets_root
from workbench.scenes import load_scene, load_scene_folder

PANDA = assets_root() / "franka_emika_panda" / "panda_nohand.xml"


def _episode(scene, T=150, seed=0) -> Episode:
    """A plain mj_step loop: gravity/Coriolis compensation plus small smooth torques, recording
    the state at each step and the applied joint torque."""
    model = scene.model
    data = mujoco.MjData(model)
    rng = np.random.default_rng(seed)
    data.qpos[:] = model.qpos0 + rng.uniform(-0.2, 0.2, model.nq)
    freq, phase = rng.uniform(1, 3, model.nu), rng.uniform(0, 6, model.nu)
    qpos, qvel, frc, ctrl = (np.zeros((T, n)) for n in (model.nq, model.nv, model.nv, model.nu))
    dofs = model.actuator_trnid[:, 0]
    for t in range(T):
        mujoco.mj_forward(model, data)
        qpos[t], qvel[t] = data.qpos, data.qvel
        data.ctrl[:] = data.qfrc_bias[model.jnt_dofadr[dofs]] + 0.5 * np.sin(
            freq * t * model.opt.timestep * 6 + phase
        )
        ctrl[t] = data.ctrl
        mujoco.mj_step(model, data)
        frc[t] = data.qfrc_actuator
    joints = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]
    acts = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a) for a in range(model.nu)]
    signals = {
        "qpos": Signal(qpos, joints, "rad"),
        "qvel": Signal(qvel, joints, "rad/s"),
        "qfrc_actuator": Signal(frc, joints, "N m"),
        "ctrl": Signal(ctrl, acts, "N m"),
    }
    return Episode("synthetic", np.arange(T) * model.opt.timestep, signals, {})


def _inverse_gap(scene) -> tuple[float, float]:
    """(worst torque RMSE [N m], largest recorded torque) of an inverse replay."""
    episode = _episode(scene)
    traces = replay(scene, [episode], ReplaySettings("inverse", smooth_window=0.0))
    report = gap_report(traces, scene=scene.name, settings={})
    rmse = [v["mean"] for k, v in report.aggregate.items() if k.startswith("qfrc") and "/rmse" in k]
    assert len(rmse) == len(scene.binding.torque_joints)
    return max(rmse), float(np.abs(episode.signals["qfrc_actuator"].values).max())


MENAGERIE_STYLE = """
<mujoco model="arm_with_visuals">
  <compiler angle="radian" meshdir="meshes"/>
  <default>
    <default class="visual"><geom type="mesh" contype="0" conaffinity="0" group="2"/></default>
    <default class="collision"><geom group="3"/></default>
  </default>
  <asset>
    <texture name="skin" type="2d" file="textures/skin.png"/>
    <material name="painted" texture="skin"/>
    <mesh name="link1_visual" file="visual/link1.obj"/>
    <mesh name="link2_visual" file="visual/link2.obj"/>
    <mesh name="link1_collision" file="link1_collision.stl"/>
  </asset>
  <worldbody>
    <body name="link1" pos="0 0 0.2">
      <inertial pos="0 0 0.15" mass="1.2" diaginertia="0.012 0.012 0.002"/>
      <joint name="shoulder" axis="0 1 0" damping="0.1" range="-2.5 2.5"/>
      <geom class="visual" mesh="link1_visual" material="painted"/>
      <geom class="collision" type="mesh" mesh="link1_collision"/>
      <body name="link2" pos="0 0 0.3">
        <inertial pos="0 0 0.1" mass="0.7" diaginertia="0.006 0.006 0.001"/>
        <joint name="elbow" axis="0 1 0" damping="0.05"/>
        <geom class="visual" mesh="link2_visual"/>
        <geom class="collision" type="capsule" fromto="0 0 0 0 0 0.2" size="0.02"/>
        <site name="tool" pos="0 0 0.2"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position name="shoulder_servo" joint="shoulder" kp="100" forcerange="-40 40"/>
    <position name="elbow_servo" joint="elbow" kp="50" forcerange="-15 15"/>
  </actuator>
</mujoco>
"""


def _menagerie_style(tmp_path: Path) -> Path:
    folder = tmp_path / "arm_model"
    (folder / "meshes").mkdir(parents=True)
    box = trimesh.creation.box(extents=[0.06, 0.06, 0.3])
    box.apply_translation([0, 0, 0.15])
    box.export(folder / "meshes" / "link1_collision.stl")
    path = folder / "arm.xml"
    path.write_text(MENAGERIE_STYLE)  # visual/*.obj and textures/skin.png are absent
    return path


def test_mjcf_with_absent_visual_meshes_needs_discard_visual(tmp_path, capsys):
    robot = _menagerie_style(tmp_path)
    out = tmp_path / "scene"
    assert main(["make-scene", "--mjcf", str(robot), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "MJCF" in err and "--discard-visual" in err and "expected an existing file" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["arm_model"]

    assert main(["make-scene", "--mjcf", str(robot), "--out", str(out), "--discard-visual"]) == 0
    assert sorted(p.name for p in (out / "assets").iterdir()) == ["link1_collision.stl"]
    scene = load_scene_folder(out)
    assert scene.binding.state_joints == ("shoulder", "elbow")
    assert scene.binding.actuators == ("shoulder_servo", "elbow_servo")
    assert scene.binding.torque_joints == ("shoulder", "elbow")
    model = scene.model
    assert model.nmesh == 1 and model.ntex == 0 and model.ngeom == 2  # collision geoms only
    np.testing.assert_array_equal(model.actuator_ctrlrange, [[-40, 40], [-15, 15]])
    assert (model.actuator_biastype == 0).all()  # servos became torque motors
    worst, peak = _inverse_gap(scene)
    print(f"MJCF (absent visual meshes): inverse torque RMSE {worst:.3g} N m (peak {peak:.3g})")
    assert worst < 1e-6 * peak


URDF = """
<robot name="two_link">
  <link name="base"/>
  <link name="link1">
    <inertial><origin xyz="0 0 0.15"/><mass value="1.0"/>
      <inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.001"/></inertial>
    <visual><geometry><mesh filename="package://my_robot/meshes/visual/link1.dae"/></geometry></visual>
    <collision><origin xyz="0 0 0.15"/>
      <geometry><mesh filename="package://my_robot/meshes/link1.stl"/></geometry></collision>
  </link>
  <link name="link2">
    <inertial><origin xyz="0 0 0.1"/><mass value="0.5"/>
      <inertia ixx="0.005" ixy="0" ixz="0" iyy="0.005" iyz="0" izz="0.0005"/></inertial>
    <collision><origin xyz="0 0 0.1"/><geometry><box size="0.04 0.04 0.2"/></geometry></collision>
  </link>
  <link name="tool0"/>
  <joint name="shoulder" type="revolute">
    <parent link="base"/><child link="link1"/><origin xyz="0 0 0.1"/><axis xyz="0 1 0"/>
    <limit lower="-2" upper="2" effort="30" velocity="3"/>
  </joint>
  <joint name="elbow" type="continuous">
    <parent link="link1"/><child link="link2"/><origin xyz="0 0 0.3"/><axis xyz="0 1 0"/>
    <limit effort="12" velocity="3"/><dynamics damping="0.1"/>
  </joint>
  <joint name="flange" type="fixed"><parent link="link2"/><child link="tool0"/>
    <origin xyz="0 0 0.2"/></joint>
</robot>
"""


def _urdf(tmp_path: Path, text: str = URDF) -> tuple[Path, Path]:
    packages = tmp_path / "ros_ws"
    meshes = packages / "my_robot" / "meshes"
    meshes.mkdir(parents=True)
    trimesh.creation.box(extents=[0.05, 0.05, 0.3]).export(meshes / "link1.stl")
    path = tmp_path / "robot.urdf"
    path.write_text(text)
    return path, packages


def test_urdf_with_package_paths_effort_limits_and_payload(tmp_path, capsys):
    urdf, packages = _urdf(tmp_path)
    out = tmp_path / "scene"
    args = ["make-scene", "--urdf", str(urdf), "--out", str(out), "--mesh-dir", str(packages)]
    assert main([*args, "--discard-visual", "--payload", "0.4@tool0"]) == 0
    assert "URDF robot.urdf" in capsys.readouterr().out
    scene = load_scene_folder(out)
    model = scene.model
    assert scene.binding.state_joints == ("shoulder", "elbow")
    assert scene.binding.actuators == ("shoulder", "elbow")
    assert scene.binding.torque_joints == ("shoulder", "elbow")
    np.testing.assert_array_equal(model.actuator_ctrlrange, [[-30, 30], [-12, 12]])  # efforts
    payload = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "payload")
    tool = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "tool0")
    assert model.body_mass[payload] == 0.4 and model.body_parentid[payload] == tool
    assert (out / "assets" / "link1.stl").is_file() and model.nmesh == 1
    worst, peak = _inverse_gap(scene)
    print(
        f"URDF (package:// meshes, payload): inverse torque RMSE {worst:.3g} N m (peak {peak:.3g})"
    )
    assert worst < 1e-6 * peak
    # --mesh-dir may also be the package folder itself; position servos on request
    out2 = tmp_path / "scene_position"
    args = ["make-scene", "--urdf", str(urdf), "--out", str(out2), "--discard-visual"]
    assert main([*args, "--mesh-dir", str(packages / "my_robot"), "--actuation", "position"]) == 0
    servo = load_scene(out2).model
    assert (servo.actuator_biastype == mujoco.mjtBias.mjBIAS_AFFINE).all()
    assert (servo.actuator_gainprm[:, 0] > 0).all()
    np.testing.assert_allclose(servo.actuator_biasprm[:, 1], -servo.actuator_gainprm[:, 0])
    np.testing.assert_array_equal(servo.actuator_forcerange, [[-30, 30], [-12, 12]])


def test_shipped_panda_as_torque_scene_matches_the_bundled_one(tmp_path):
    out = tmp_path / "panda"
    assert main(["make-scene", "--mjcf", str(PANDA), "--out", str(out), "--timestep", "0.001"]) == 0
    scene = load_scene_folder(out)
    bundled = load_scene("panda")
    assert scene.binding.state_joints == bundled.binding.state_joints
    assert scene.binding.torque_joints == bundled.binding.torque_joints
    assert scene.binding.timestep == 0.001
    np.testing.assert_array_equal(scene.model.actuator_ctrlrange, bundled.model.actuator_ctrlrange)
    np.testing.assert_array_equal(scene.model.body_mass, bundled.model.body_mass)
    worst, peak = _inverse_gap(scene)
    print(f"shipped Panda: inverse torque RMSE {worst:.3g} N m (peak {peak:.3g})")
    assert worst < 1e-6 * peak
    # as-is keeps Menagerie's position actuators
    kept = tmp_path / "panda_as_is"
    assert (
        main(["make-scene", "--mjcf", str(PANDA), "--out", str(kept), "--actuation", "as-is"]) == 0
    )
    model = load_scene_folder(kept).model
    assert model.nu == 7 and (model.actuator_biastype == mujoco.mjtBias.mjBIAS_AFFINE).all()


NO_JOINTS = """<robot name="statue"><link name="base"/><link name="head"/>
  <joint name="neck" type="fixed"><parent link="base"/><child link="head"/></joint></robot>"""


def _hostile_cases(tmp_path: Path):
    urdf, packages = _urdf(tmp_path)
    robot = _menagerie_style(tmp_path)
    statue = tmp_path / "statue.urdf"
    statue.write_text(NO_JOINTS)
    empty = tmp_path / "empty.urdf"
    empty.write_text('<robot name="nothing"><link name="base"/></robot>')
    missing_collision = tmp_path / "missing.urdf"
    missing_collision.write_text(URDF.replace("meshes/link1.stl", "meshes/gone.stl"))
    u = ["--urdf", str(urdf), "--mesh-dir", str(packages), "--discard-visual"]
    m = ["--mjcf", str(robot), "--discard-visual"]
    return {
        "urdf-only-fixed-joints": (["--urdf", str(statue)], ["URDF", "movable <joint>", "fixed"]),
        "urdf-no-joints": (["--urdf", str(empty)], ["URDF", "no <joint> elements"]),
        "payload-unknown-body": ([*u, "--payload", "1@hand"], ["no body 'hand'", "'link1'"]),
        "payload-negative-mass": ([*u, "--payload=-2@link2"], ["mass > 0", "-2.0"]),
        "payload-malformed": ([*u, "--payload", "2kg"], ["MASS@BODY", "'2kg'"]),
        "both-files": ([*u, "--mjcf", str(robot)], ["one of --mjcf or --urdf"]),
        "template-and-file": (["double_pendulum", *m], ["TEMPLATE 'double_pendulum'"]),
        "parameters-and-file": ([*m, "--parameters", str(urdf)], ["--parameters"]),
        "robot-options-on-template": (
            ["double_pendulum", "--parameters", str(urdf), "--actuation", "torque"],
            ["--actuation", "template 'double_pendulum'"],
        ),
        "nothing-to-build": ([], ["--mjcf FILE or --urdf FILE"]),
        "mesh-dir-with-mjcf": ([*m, "--mesh-dir", str(packages)], ["--mesh-dir", "URDF"]),
        "bad-actuation": ([*m, "--actuation", "velocity"], ["--actuation", "'velocity'"]),
        "as-is-without-actuators": ([*u, "--actuation", "as-is"], ["URDF", "no", "actuators"]),
        "package-path-without-mesh-dir": (
            ["--urdf", str(urdf), "--discard-visual"],
            ["URDF", "package://my_robot/meshes/link1.stl", "--mesh-dir"],
        ),
        "missing-collision-mesh": (
            ["--urdf", str(missing_collision), "--mesh-dir", str(packages), "--discard-visual"],
            ["URDF", "<collision>", "gone.stl"],
        ),
        "mjcf-given-as-urdf": (["--urdf", str(robot)], ["URDF", "<robot> root", "<mujoco>"]),
        "absent-file": (["--urdf", str(tmp_path / "nope.urdf")], ["--urdf", "nope.urdf"]),
        "bad-timestep": ([*m, "--timestep=-0.001"], ["--timestep"]),
    }


CASES = [
    "urdf-only-fixed-joints",
    "urdf-no-joints",
    "payload-unknown-body",
    "payload-negative-mass",
    "payload-malformed",
    "both-files",
    "template-and-file",
    "parameters-and-file",
    "robot-options-on-template",
    "nothing-to-build",
    "mesh-dir-with-mjcf",
    "bad-actuation",
    "as-is-without-actuators",
    "package-path-without-mesh-dir",
    "missing-collision-mesh",
    "mjcf-given-as-urdf",
    "absent-file",
    "bad-timestep",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_robot_scene_input_exits_2_and_writes_nothing(tmp_path, capsys, case):
    args, expected = _hostile_cases(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "scene"
    code = main(["make-scene", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no scene, no staging folder


def test_existing_non_empty_out_is_refused_and_kept(tmp_path, capsys):
    robot = _menagerie_style(tmp_path)
    out = tmp_path / "scene"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code = main(["make-scene", "--mjcf", str(robot), "--discard-visual", "--out", str(out)])
    assert code == 2 and "expected a new or empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arm_model", "scene"]


def test_written_robot_file_has_no_dangling_references(tmp_path):
    robot = _menagerie_style(tmp_path)
    out = tmp_path / "scene"
    assert main(["make-scene", "--mjcf", str(robot), "--discard-visual", "--out", str(out)]) == 0
    xml = (out / "robot.xml").read_text()
    assert "visual/link1.obj" not in xml and "skin.png" not in xml
    assert textwrap.dedent('meshdir="assets"') in xml
