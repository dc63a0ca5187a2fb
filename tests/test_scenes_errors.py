"""Scene loading (bundled and user folders), scene errors, and episode-to-scene binding errors."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
import pytest

from workbench.episode import Episode, Signal
from workbench.errors import BindingError, SceneError
from workbench.replay import bind_episode
from workbench.scenes import Binding, list_scenes, load_scene, load_scene_folder, scene_from_xml

BUNDLED = sorted(list_scenes())

# A small free-floating box plus a torque-driven two-link arm.
INLINE_XML = """
<mujoco model="inline">
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="box" pos="0 0 0.5">
      <freejoint name="box"/>
      <geom type="box" size="0.05 0.05 0.05" mass="0.2"/>
    </body>
    <body name="upper" pos="1 0 1">
      <joint name="shoulder" type="hinge" axis="0 1 0"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.02" mass="0.5"/>
      <body name="lower" pos="0 0 -0.3">
        <joint name="elbow" type="hinge" axis="0 1 0"/>
        <geom type="capsule" fromto="0 0 0 0 0 -0.3" size="0.02" mass="0.3"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="shoulder_motor" joint="shoulder"/>
    <motor name="elbow_motor" joint="elbow"/>
  </actuator>
</mujoco>
"""

JOINTS = ("box", "shoulder", "elbow")
ACTUATORS = ("shoulder_motor", "elbow_motor")


@pytest.fixture(scope="module")
def inline_scene():
    return scene_from_xml(
        "inline", INLINE_XML, Binding(timestep=0.002, state_joints=JOINTS, actuators=ACTUATORS)
    )


def _episode(signals: dict[str, tuple[tuple[str, ...], np.ndarray | None]], t: int = 5) -> Episode:
    built = {}
    for name, (columns, values) in signals.items():
        if values is None:
            values = np.zeros((t, len(columns)))
            if name == "qpos":  # a valid unit quaternion for free joints
                for k, c in enumerate(columns):
                    if c.endswith("[3]"):
                        values[:, k] = 1.0
        built[name] = Signal(values, columns)
    return Episode("ep", np.arange(t) * 0.01, built)


BOX_QPOS = tuple(f"box[{i}]" for i in range(7))
FULL_QPOS = (*BOX_QPOS, "shoulder", "elbow")


# --------------------------------------------------------------------------- bundled scenes


def test_bundled_scenes_exist():
    assert {"cube_toss", "double_pendulum", "panda"} <= set(BUNDLED)
    for name, folder in list_scenes().items():
        assert (folder / "scene.toml").is_file(), name


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scene_loads_compiles_and_steps(name):
    scene = load_scene(name)
    assert scene.name == name
    assert scene.folder == list_scenes()[name].resolve()
    model = scene.model
    assert isinstance(model, mujoco.MjModel)
    assert model.opt.timestep == pytest.approx(scene.binding.timestep)
    for j in scene.binding.state_joints:
        assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, j) >= 0
    for a in scene.binding.actuators:
        assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a) >= 0
    # a fresh spec compiles again to an equivalent model
    again = scene.spec().compile()
    assert (again.nq, again.nv, again.nu) == (model.nq, model.nv, model.nu)
    data = mujoco.MjData(model)
    for _ in range(100):
        mujoco.mj_step(model, data)
    assert data.time == pytest.approx(100 * scene.binding.timestep)
    assert np.all(np.isfinite(data.qpos)), data.qpos
    assert np.all(np.isfinite(data.qvel)), data.qvel
    assert np.all(np.isfinite(data.qacc)), data.qacc


def test_bundled_scene_by_folder_path():
    folder = list_scenes()["cube_toss"]
    scene = load_scene(str(folder))
    assert scene.name == "cube_toss"
    assert scene.binding.state_joints == ("cube",)
    assert scene.model.nq == 7


def test_unknown_bundled_scene_lists_bundled():
    with pytest.raises(SceneError) as info:
        load_scene("no_such_scene_xyz")
    msg = str(info.value)
    assert "'no_such_scene_xyz'" in msg
    for name in BUNDLED:
        assert repr(name) in msg


# --------------------------------------------------------------------------- user scene folders


def _scene_folder(tmp_path: Path, xml: str, binding: str, name: str = "user_scene") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "model.xml").write_text(xml)
    (folder / "scene.toml").write_text(
        f'mjcf = "model.xml"\ndescription = "test"\n[binding]\n{binding}'
    )
    return folder


GOOD_BINDING = (
    'timestep = 0.002\nstate_joints = ["box", "shoulder", "elbow"]\n'
    'actuators = ["shoulder_motor", "elbow_motor"]\ncontact_bodies = ["box"]\n'
)


def test_user_scene_folder_loads(tmp_path):
    folder = _scene_folder(tmp_path, INLINE_XML, GOOD_BINDING)
    for scene in (load_scene(folder), load_scene(str(folder)), load_scene_folder(folder)):
        assert scene.name == "user_scene"
        assert scene.folder == folder.resolve()
        assert scene.binding.state_joints == JOINTS
        assert scene.binding.actuators == ACTUATORS
        assert scene.binding.contact_bodies == ("box",)
        assert scene.metadata["description"] == "test"
        assert (scene.model.nq, scene.model.nv, scene.model.nu) == (9, 8, 2)
        assert scene.model.opt.timestep == pytest.approx(0.002)
    data = mujoco.MjData(scene.model)
    for _ in range(100):
        mujoco.mj_step(scene.model, data)
    assert np.all(np.isfinite(data.qpos))
    assert data.qpos[2] < 0.5  # the box falls


def _compile_failure_folder(tmp_path: Path) -> Path:
    # Parses as MJCF, but references a material that does not exist: fails at compile time.
    xml = INLINE_XML.replace('mass="0.2"/>', 'mass="0.2" material="no_such_material"/>')
    return _scene_folder(tmp_path, xml, GOOD_BINDING, name="broken")


def test_mjcf_compile_failure_raises_scene_error(tmp_path):
    folder = _compile_failure_folder(tmp_path)
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    msg = str(info.value)
    assert "does not compile" in msg
    assert "no_such_material" in msg
    assert "broken" in msg  # at least the scene (folder) name


def test_mjcf_compile_failure_names_the_file(tmp_path):
    folder = _compile_failure_folder(tmp_path)
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    msg = str(info.value)
    assert str(folder / "model.xml") in msg or str(folder / "scene.toml") in msg


def test_mjcf_parse_failure_names_the_file(tmp_path):
    folder = _scene_folder(tmp_path, "<mujoco><worldbody><body></worldbody></mujoco>", GOOD_BINDING)
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    msg = str(info.value)
    assert str(folder.resolve() / "model.xml") in msg
    assert "does not parse" in msg


def test_unknown_binding_joint_lists_valid_names(tmp_path):
    binding = 'timestep = 0.002\nstate_joints = ["box", "wrist"]\n'
    folder = _scene_folder(tmp_path, INLINE_XML, binding)
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    msg = str(info.value)
    assert "binding.state_joints" in msg and "unknown name 'wrist'" in msg
    for j in JOINTS:
        assert repr(j) in msg


def test_unknown_binding_actuator_and_body(tmp_path):
    with pytest.raises(
        SceneError, match=r"binding.actuators: unknown name 'hip'.*'shoulder_motor', 'elbow_motor'"
    ):
        scene_from_xml(
            "s", INLINE_XML, Binding(timestep=0.002, state_joints=("box",), actuators=("hip",))
        )
    with pytest.raises(SceneError, match=r"binding.contact_bodies: unknown name 'ghost'.*'upper'"):
        scene_from_xml(
            "s",
            INLINE_XML,
            Binding(timestep=0.002, state_joints=("box",), contact_bodies=("ghost",)),
        )
    with pytest.raises(SceneError, match=r"binding.torque_joints: unknown name 'knee'"):
        scene_from_xml(
            "s", INLINE_XML, Binding(timestep=0.002, state_joints=("box",), torque_joints=("knee",))
        )


@pytest.mark.parametrize(
    ("toml", "pattern"),
    [
        ('mjcf = "model.xml"\n', "expected a \\[binding\\] table"),
        (
            'mjcf = "model.xml"\n[binding]\ntimestep = 0.002\nstate_joints = ["box"]\njoints = ["x"]\n',
            "binding: unknown keys \\['joints'\\]",
        ),
        (
            'mjcf = "model.xml"\n[binding]\ntimestep = 0.002\n',
            r"binding: missing keys \['state_joints'\]",
        ),
        (
            'mjcf = "model.xml"\n[binding]\ntimestep = 0\nstate_joints = ["box"]\n',
            "binding.timestep: expected > 0",
        ),
        (
            'mjcf = "model.xml"\n[binding]\ntimestep = 0.002\nstate_joints = []\n',
            "binding.state_joints: expected at least one",
        ),
        (
            'mjcf = "other.xml"\n[binding]\ntimestep = 0.002\nstate_joints = ["box"]\n',
            "mjcf: expected an existing file",
        ),
        (
            '[binding]\ntimestep = 0.002\nstate_joints = ["box"]\n',
            "expected exactly one of `mjcf` or `builder`",
        ),
        (
            'builder = "nope"\n[binding]\ntimestep = 0.002\nstate_joints = ["box"]\n',
            "builder: unknown 'nope'",
        ),
        (
            'builder = "no_module_xyz:f"\n[binding]\ntimestep = 0.002\nstate_joints = ["box"]\n',
            "builder: unknown 'no_module_xyz:f'; registered: 'double_pendulum'",
        ),
        ('mjcf = "model.xml"\n[binding\n', "invalid TOML"),
        (
            'mjcf = "model.xml"\ncommand_history = 0\n[binding]\ntimestep = 0.002\n'
            'state_joints = ["box"]\n',
            "command_history: expected a positive integer",
        ),
    ],
)
def test_malformed_scene_toml(tmp_path, toml, pattern):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "model.xml").write_text(INLINE_XML)
    (folder / "scene.toml").write_text(toml)
    with pytest.raises(SceneError, match=pattern):
        load_scene(folder)


def test_folder_without_scene_toml(tmp_path):
    with pytest.raises(SceneError, match="scene.toml to exist"):
        load_scene_folder(tmp_path)


def test_inline_scene_compile_failure():
    with pytest.raises(SceneError, match="scene 'bad': MJCF does not compile"):
        scene_from_xml(
            "bad",
            INLINE_XML.replace('joint="elbow"', 'joint="nope"'),
            Binding(timestep=0.002, state_joints=("box",)),
        )


# --------------------------------------------------------------------------- bind_episode


def test_bind_valid_episode(inline_scene):
    ep = _episode(
        {
            "qpos": (FULL_QPOS, None),
            "qvel": ((*[f"box[{i}]" for i in range(6)], "elbow"), None),
            "ctrl": (("elbow_motor", "shoulder_motor"), None),
            "qfrc_actuator": (("shoulder", "elbow"), None),
        }
    )
    bound = bind_episode(inline_scene, ep, need_ctrl=True, need_torque=True)
    np.testing.assert_array_equal(bound.qpos_index, np.arange(9))
    np.testing.assert_array_equal(bound.qvel_index, [0, 1, 2, 3, 4, 5, 7])
    np.testing.assert_array_equal(bound.ctrl_index, [1, 0])
    np.testing.assert_array_equal(bound.torque_index, [6, 7])
    kinds = [(g.name, g.kind) for g in bound.groups["qpos"]]
    assert kinds == [("box", "pose"), ("shoulder", "scalar"), ("elbow", "scalar")]
    assert bound.groups["qpos"][0].columns == tuple(range(7))


def test_bind_unknown_qpos_joint_lists_valid_joints(inline_scene):
    ep = _episode({"qpos": ((*FULL_QPOS, "wrist"), None)})
    with pytest.raises(BindingError) as info:
        bind_episode(inline_scene, ep)
    msg = str(info.value)
    assert "episode 'ep'" in msg and "scene 'inline'" in msg
    assert "signal 'qpos' column 'wrist'" in msg and "unknown joint 'wrist'" in msg
    for j in JOINTS:
        assert repr(j) in msg


def test_bind_unknown_qvel_joint(inline_scene):
    ep = _episode({"qpos": (FULL_QPOS, None), "qvel": (("knee",), None)})
    with pytest.raises(
        BindingError, match=r"signal 'qvel' column 'knee': unknown joint 'knee'; valid: 'box'"
    ):
        bind_episode(inline_scene, ep)


def test_bind_unknown_ctrl_actuator(inline_scene):
    ep = _episode({"qpos": (FULL_QPOS, None), "ctrl": (("shoulder_motor", "wrist_motor"), None)})
    with pytest.raises(BindingError) as info:
        bind_episode(inline_scene, ep)
    msg = str(info.value)
    assert "signal 'ctrl' column 'wrist_motor'" in msg
    assert "'shoulder_motor'" in msg and "'elbow_motor'" in msg


def test_bind_missing_part_of_state_joint_qpos(inline_scene):
    ep = _episode({"qpos": ((*BOX_QPOS[:6], "shoulder", "elbow"), None)})  # no box[6]
    with pytest.raises(BindingError) as info:
        bind_episode(inline_scene, ep)
    msg = str(info.value)
    assert "mismatch" in msg
    assert "state joint 'box'" in msg
    assert "[0, 1, 2, 3, 4, 5, 6]" in msg  # needed addresses
    assert "cover [0, 1, 2, 3, 4, 5]" in msg


def test_bind_missing_hinge_state_joint(inline_scene):
    ep = _episode({"qpos": ((*BOX_QPOS, "shoulder"), None)})
    with pytest.raises(
        BindingError, match=r"mismatch.*state joint 'elbow' needs qpos addresses \[8\]"
    ):
        bind_episode(inline_scene, ep)


@pytest.mark.parametrize("column", ["box", "box[7]", "shoulder[1]"])
def test_bind_bad_element_index(inline_scene, column):
    ep = _episode(
        {"qpos": ((*FULL_QPOS, column), None)}
        if column != "box"
        else {"qpos": (("box", "shoulder", "elbow"), None)}
    )
    with pytest.raises(BindingError, match=r"has \d qpos elements; expected"):
        bind_episode(inline_scene, ep)


def test_bind_missing_signals(inline_scene):
    ep = _episode({"qvel": (("shoulder",), None)})
    with pytest.raises(BindingError, match=r"expected a 'qpos' signal.*\['qvel'\]"):
        bind_episode(inline_scene, ep)
    ep = _episode({"qpos": (FULL_QPOS, None)})
    with pytest.raises(BindingError, match=r"expected a 'ctrl' signal driving actuators"):
        bind_episode(inline_scene, ep, need_ctrl=True)
    with pytest.raises(BindingError, match=r"expected a 'qfrc_actuator' signal"):
        bind_episode(inline_scene, ep, need_torque=True)
    bound = bind_episode(inline_scene, ep)  # neither needed: binds
    assert bound.ctrl_index is None and bound.qvel_index is None and bound.torque_index is None


def test_command_history_lets_actuators_take_a_delay(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "model.xml").write_text(INLINE_XML)
    (folder / "scene.toml").write_text(
        'mjcf = "model.xml"\ncommand_history = 25\n[binding]\ntimestep = 0.002\n'
        'state_joints = ["box"]\n'
    )
    model = load_scene(folder).model
    assert model.nu and np.all(model.actuator_history == [25, 1])  # 25 samples, linear
    assert np.all(load_scene("double_pendulum").model.actuator_history[:, 0] == 40)
