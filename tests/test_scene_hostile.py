"""Hostile scene folders: every scene.toml key typed and known, builders only from the registry,
files confined to the scene folder (and the bundled assets) unless allowed; each refused with a
SceneError naming the file, the key or element, and the actual value."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.errors import SceneError
from workbench.paths import assets_root
from workbench.scenes import builders, load_scene

XML = """<mujoco model="s">
  {extra}
  <worldbody>
    <body name="box" pos="0 0 0.5">
      <freejoint name="box"/>
      <geom type="box" size="0.05 0.05 0.05" mass="0.2"/>
    </body>
  </worldbody>
</mujoco>
"""
BINDING = '[binding]\ntimestep = 0.002\nstate_joints = ["box"]\n'
PANDA = (assets_root() / "franka_emika_panda" / "panda_nohand.xml").resolve()
PANDA_BINDING = '[binding]\ntimestep = 0.002\nstate_joints = ["joint1"]\n'


def _folder(tmp_path: Path, toml: str, *, extra: str = "") -> Path:
    folder = tmp_path / "scene"
    folder.mkdir()
    (folder / "model.xml").write_text(XML.format(extra=extra))
    (folder / "scene.toml").write_text(toml)
    return folder


# (scene.toml text, words the message must contain besides the scene.toml path)
TOML_BAD = [
    # unknown keys at every level
    ('mjcf = "model.xml"\nbuildr = "x"\n' + BINDING, ["unknown keys ['buildr']"]),
    ('mjcf = "model.xml"\n' + BINDING + "joints = []\n", ["binding: unknown keys ['joints']"]),
    (
        f'builder = "torque_actuated"\n[builder_args]\nmjcff = "{PANDA}"\n' + PANDA_BINDING,
        ["builder_args: unknown keys ['mjcff']", "'friction_impedance', 'mjcf'"],
    ),
    ('builder = "double_pendulum"\n' + BINDING, ["builder_args: missing keys ['parameters']"]),
    ('mjcf = "model.xml"\n[builder_args]\nx = 1\n' + BINDING, ["builder_args: expected only"]),
    # types and ranges
    (
        'mjcf = "model.xml"\n[binding]\ntimestep = "0.001"\nstate_joints = ["box"]\n',
        ["binding.timestep: expected a number > 0, got str '0.001'"],
    ),
    (
        'mjcf = "model.xml"\n[binding]\ntimestep = true\nstate_joints = ["box"]\n',
        ["binding.timestep: expected a number > 0, got bool True"],
    ),
    (
        'mjcf = "model.xml"\n[binding]\ntimestep = -0.001\nstate_joints = ["box"]\n',
        ["binding.timestep: expected > 0, got -0.001"],
    ),
    (
        'mjcf = "model.xml"\n' + BINDING + "tracking_bandwidth_hz = 0\n",
        ["binding.tracking_bandwidth_hz: expected > 0, got 0"],
    ),
    (
        'mjcf = "model.xml"\n[binding]\ntimestep = 0.002\nstate_joints = "box"\n',
        ["binding.state_joints: expected a list of non-empty strings, got 'box'"],
    ),
    ('mjcf = "model.xml"\n' + BINDING + "actuators = [1, 2]\n", ["binding.actuators", "[1, 2]"]),
    (
        'mjcf = "model.xml"\n[binding]\ntimestep = 0.002\nstate_joints = ["box", "box"]\n',
        ["binding.state_joints: expected unique names", "['box']"],
    ),
    ('mjcf = "model.xml"\n' + BINDING + 'compare = [""]\n', ["binding.compare", "['']"]),
    ('mjcf = "model.xml"\nbinding = 3\n', ["binding: expected a table, got int 3"]),
    ('mjcf = "model.xml"\nname = 3\n' + BINDING, ["name: expected a non-empty string, got int 3"]),
    ('mjcf = "model.xml"\ndescription = ["x"]\n' + BINDING, ["description", "got list ['x']"]),
    ("mjcf = 5\n" + BINDING, ["mjcf: expected a non-empty string, got int 5"]),
    (
        'mjcf = "model.xml"\nallow_outside_paths = "yes"\n' + BINDING,
        ["allow_outside_paths: expected true or false, got str 'yes'"],
    ),
    (
        'mjcf = "model.xml"\ncommand_history = "40"\n' + BINDING,
        ["command_history: expected a positive integer", "'40'"],
    ),
    (
        f'builder = "torque_actuated"\n[builder_args]\nmjcf = "{PANDA}"\n'
        'friction_impedance = "0.01"\n' + PANDA_BINDING,
        ["builder_args.friction_impedance: expected a number, got str '0.01'"],
    ),
    # builders only from the registry
    (
        'builder = "shutil:copytree"\n' + BINDING,
        [
            "builder: unknown 'shutil:copytree'",
            "'double_pendulum', 'torque_actuated'",
            "workbench.builders",
        ],
    ),
    ('builder = "os:system"\n' + BINDING, ["unknown 'os:system'", "module paths are not imported"]),
    # files outside the scene folder
    (
        'mjcf = "../model.xml"\n' + BINDING,
        ["mjcf: path '../model.xml'", "outside the scene folder"],
    ),
    (
        'builder = "torque_actuated"\n[builder_args]\nmjcf = "/etc/hostname"\n' + BINDING,
        ["builder_args.mjcf: path '/etc/hostname'", "outside the scene folder"],
    ),
    (
        'builder = "double_pendulum"\n[builder_args]\nparameters = "../../p.yml"\n' + BINDING,
        ["builder_args.parameters: path '../../p.yml'", "outside the scene folder"],
    ),
    (
        'builder = "double_pendulum"\n[builder_args]\nparameters = "missing.yml"\n' + BINDING,
        ["builder_args.parameters: expected an existing file", "missing.yml"],
    ),
]


@pytest.mark.parametrize(("toml", "words"), TOML_BAD, ids=lambda x: str(x)[:50])
def test_bad_scene_toml(tmp_path, toml, words):
    folder = _folder(tmp_path, toml)
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    message = str(info.value)
    assert str(folder / "scene.toml") in message, message
    for word in words:
        assert word in message, message


OUTSIDE = "../outside"
# (MJCF fragment, the element named in the message)
MJCF_BAD = [
    (f'<include file="{OUTSIDE}/inc.xml"/>', "<include file>"),
    (f'<asset><mesh name="m" file="{OUTSIDE}/m.stl"/></asset>', "<mesh file>"),
    ('<asset><mesh name="m" file="/etc/m.stl"/></asset>', "<mesh file>"),
    (f'<asset><texture name="t" type="2d" file="{OUTSIDE}/t.png"/></asset>', "<texture file>"),
    (
        f'<asset><texture name="t" type="cube" fileright="{OUTSIDE}/r.png"/></asset>',
        "<texture fileright>",
    ),
    (f'<asset><hfield name="h" file="{OUTSIDE}/h.png"/></asset>', "<hfield file>"),
    (f'<asset><skin file="{OUTSIDE}/s.skn"/></asset>', "<skin file>"),
    (f'<compiler meshdir="{OUTSIDE}"/>', "<compiler meshdir>"),
    (f'<compiler texturedir="{OUTSIDE}"/>', "<compiler texturedir>"),
    ('<compiler assetdir="/"/>', "<compiler assetdir>"),
    ('<compiler meshdir="."/><asset><mesh name="m" file="../../x.stl"/></asset>', "<mesh file>"),
]


@pytest.mark.parametrize(("extra", "element"), MJCF_BAD, ids=lambda x: str(x)[:50])
def test_mjcf_paths_outside_the_scene_folder(tmp_path, extra, element):
    folder = _folder(tmp_path, 'mjcf = "model.xml"\n' + BINDING, extra=extra)
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    message = str(info.value)
    assert str(folder.resolve() / "model.xml") in message, message
    assert element in message and "outside the scene folder" in message, message
    assert str(folder.resolve()) in message and "allow_outside_paths = true" in message


def test_nested_include_outside_is_found(tmp_path):
    folder = _folder(tmp_path, 'mjcf = "model.xml"\n' + BINDING, extra='<include file="inc.xml"/>')
    (folder / "inc.xml").write_text('<mujoco><include file="../../far.xml"/></mujoco>')
    with pytest.raises(SceneError) as info:
        load_scene(folder)
    assert f"{folder.resolve() / 'inc.xml'}: <include file>: path '../../far.xml'" in str(
        info.value
    )


def test_allow_outside_paths_lets_an_outside_include_load(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "inc.xml").write_text('<mujoco><option timestep="0.004"/></mujoco>')
    toml = 'mjcf = "model.xml"\nallow_outside_paths = true\n' + BINDING
    folder = _folder(tmp_path, toml, extra=f'<include file="{OUTSIDE}/inc.xml"/>')
    assert load_scene(folder).model.nq == 7


def test_bundled_assets_are_allowed_from_any_scene(tmp_path):
    toml = f'builder = "torque_actuated"\n[builder_args]\nmjcf = "{PANDA}"\n' + PANDA_BINDING
    folder = _folder(tmp_path, toml)
    assert load_scene(folder).model.nu == 7


def test_mjcf_that_does_not_parse_is_reported_before_mujoco(tmp_path):
    folder = _folder(tmp_path, 'mjcf = "model.xml"\n' + BINDING, extra="<asset")
    with pytest.raises(SceneError, match="model.xml: MJCF does not parse"):
        load_scene(folder)


def test_entry_point_builders_are_registered(tmp_path, monkeypatch):
    group = builders.ENTRY_POINT_GROUP
    points = {
        "my_arm": importlib.metadata.EntryPoint(
            "my_arm", "workbench.scenes.builders:build_torque_actuated", group
        ),
        "broken": importlib.metadata.EntryPoint("broken", "no_such_module_xyz:build", group),
    }
    monkeypatch.setattr(builders, "_entry_points", lambda: points)
    toml = f'builder = "my_arm"\n[builder_args]\nmjcf = "{PANDA}"\n' + PANDA_BINDING
    assert load_scene(_folder(tmp_path, toml)).model.nu == 7
    (tmp_path / "scene" / "scene.toml").write_text('builder = "broken"\n' + BINDING)
    with pytest.raises(
        SceneError, match="builder 'broken': entry point 'no_such_module_xyz:build'"
    ):
        load_scene(tmp_path / "scene")
    (tmp_path / "scene" / "scene.toml").write_text('builder = "nope"\n' + BINDING)
    with pytest.raises(
        SceneError, match="registered: 'double_pendulum', 'torque_actuated', 'my_arm'"
    ):
        load_scene(tmp_path / "scene")


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('builder = "shutil:copytree"\n' + BINDING, ["unknown 'shutil:copytree'"]),
        (
            'mjcf = "model.xml"\n[binding]\ntimestep = "0.001"\nstate_joints = ["box"]\n',
            ["'0.001'"],
        ),
    ],
)
def test_gap_with_a_bad_scene_exits_2(tmp_path, capsys, toml, words):
    folder = _folder(tmp_path, toml)
    args = ["gap", "assets/data/double_pendulum", "--scene", str(folder), "--out"]
    assert main([*args, str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(folder / "scene.toml") in err
    for word in words:
        assert word in err
