"""`workbench scene add-object`: meshes become scene bodies with trimesh's mass properties."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import mujoco
import numpy as np
import pytest
import trimesh

from workbench.cli import main
from workbench.paths import scenes_root
from workbench.scenes import load_scene_folder
from workbench.scenes.mesh_object import add_mesh_object


@pytest.fixture
def scene(tmp_path) -> Path:
    folder = tmp_path / "cube_toss"
    shutil.copytree(scenes_root() / "cube_toss", folder)
    return folder


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _full_inertia(model, body: int) -> np.ndarray:
    rot = np.empty(9)
    mujoco.mju_quat2Mat(rot, model.body_iquat[body])
    rot = rot.reshape(3, 3)
    return rot @ np.diag(model.body_inertia[body]) @ rot.T


def _body(model, name):
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)


def _asymmetric_box():
    """An off-centre, rotated box: non-diagonal inertia, centre of mass away from the origin."""
    box = trimesh.creation.box((0.08, 0.05, 0.03))
    box.apply_transform(trimesh.transformations.euler_matrix(0.3, 0.5, 0.2))
    box.apply_translation((0.01, -0.02, 0.015))
    return box


def test_box_becomes_a_scene_body_with_trimesh_inertia(scene, tmp_path):
    box = _asymmetric_box()
    path = tmp_path / "box.stl"
    box.export(str(path))
    original = load_scene_folder(scene).model
    added = add_mesh_object(path, scene, mass=0.25, pos=(0.2, 0.0, 0.3))
    model = load_scene_folder(scene).model
    # the scene's own values survive the rewrite bit for bit
    for field in ("pair_friction", "pair_solref", "pair_solimp", "body_inertia"):
        n = getattr(original, field).shape[0]
        assert np.array_equal(getattr(model, field)[:n], getattr(original, field)), field
    assert model.opt.timestep == original.opt.timestep
    b = _body(model, "box")
    reference = box.copy()
    reference.density = 0.25 / box.volume
    assert model.body_mass[b] == pytest.approx(0.25, rel=1e-9)
    np.testing.assert_allclose(model.body_ipos[b], reference.center_mass, rtol=0, atol=1e-9)
    scale = np.abs(reference.moment_inertia).max()
    np.testing.assert_allclose(
        _full_inertia(model, b), reference.moment_inertia, rtol=0, atol=1e-6 * scale
    )
    assert abs(reference.moment_inertia[0, 1]) > 1e-3 * scale  # the check sees off-diagonals
    assert added.collision_parts >= 1
    # the box falls onto the table and rests there (collision geometry works)
    data = mujoco.MjData(model)
    for _ in range(int(1.5 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    assert 0.0 < data.xipos[b][2] < 0.1
    assert np.linalg.norm(data.cvel[b]) < 0.05
    # files confined to the scene folder
    for file in added.files:
        assert (scene / file).is_file()


def test_density_and_units(scene, tmp_path):
    path = tmp_path / "ball.obj"
    trimesh.creation.icosphere(2, radius=40.0).export(str(path))  # millimetres
    added = add_mesh_object(path, scene, density=500.0, units="mm", name="ball")
    volume = trimesh.creation.icosphere(2, radius=0.04).volume
    assert added.mass_properties.mass == pytest.approx(500.0 * volume, rel=1e-9)
    model = load_scene_folder(scene).model
    assert model.body_mass[_body(model, "ball")] == pytest.approx(500.0 * volume, rel=1e-9)


def test_open_mesh_is_repaired_with_the_reason(scene, tmp_path):
    box = trimesh.creation.box((0.06, 0.06, 0.06))
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-1], process=False)  # one hole
    assert not open_box.is_watertight
    path = tmp_path / "open.ply"
    open_box.export(str(path))
    added = add_mesh_object(path, scene, mass=0.1)
    assert any("filled holes" in r for r in added.repairs), added.repairs
    model = load_scene_folder(scene).model
    b = _body(model, "open")
    expected = box.copy()
    expected.density = 0.1 / box.volume
    np.testing.assert_allclose(
        _full_inertia(model, b), expected.moment_inertia, atol=1e-6 * expected.moment_inertia.max()
    )


def test_inside_out_mesh_is_flipped(scene, tmp_path):
    box = trimesh.creation.box((0.05, 0.05, 0.05))
    box.invert()
    path = tmp_path / "inverted.stl"
    box.export(str(path))
    added = add_mesh_object(path, scene, mass=0.1)
    assert any("flipped" in r for r in added.repairs), added.repairs
    assert added.mass_properties.volume == pytest.approx(0.05**3, rel=1e-6)  # STL: float32


def test_unrepairable_open_mesh_is_refused(scene, tmp_path, capsys):
    box = trimesh.creation.box((0.06, 0.06, 0.06))
    half = trimesh.Trimesh(box.vertices, box.faces[:6], process=False)  # three sides missing
    path = tmp_path / "half.stl"
    half.export(str(path))
    before = _snapshot(scene)
    code = main(["scene", "add-object", str(path), "--scene", str(scene), "--mass", "0.1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "not closed" in err or "degenerate" in err or "volume" in err, err
    assert _snapshot(scene) == before


def test_cli_adds_an_object(scene, tmp_path, capsys):
    path = tmp_path / "cup.glb"
    trimesh.creation.cylinder(radius=0.04, height=0.1).export(str(path))
    code = main(
        ["scene", "add-object", str(path), "--scene", str(scene), "--mass", "0.3",
         "--pos", "0,0,0.2", "--name", "cup"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "added body 'cup'" in out
    assert _body(load_scene_folder(scene).model, "cup") >= 0


def _mesh_file(tmp_path, name="box.stl", size=0.05):
    path = tmp_path / name
    trimesh.creation.box((size, size, size)).export(str(path))
    return path


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "expected an existing file"),
        ("format", "unsupported format"),
        ("zero_mass", "--mass: expected a finite number > 0"),
        ("negative_density", "--density: expected a finite number > 0"),
        ("degenerate", "degenerate mesh"),
        ("garbage", "does not load"),
        ("not_a_scene", "expected a scene folder with scene.toml"),
        ("builder_scene", "needs a scene with `mjcf = ...`"),
        ("two_metre_cup", "implausible size"),
        ("millimetre_file", "implausible size"),
        ("lead_balloon", "implausible density"),
        ("bad_pos", "--pos: expected three finite numbers"),
        ("duplicate_name", "already used"),
        ("bad_name", "--name: expected letters"),
    ],
)
def test_hostile_inputs_exit_2_and_write_nothing(case, expected, scene, tmp_path, capsys):
    scene_arg = str(scene)
    mesh = _mesh_file(tmp_path)
    extra = ["--mass", "0.1"]
    if case == "missing":
        mesh = tmp_path / "nothing.stl"
    elif case == "format":
        mesh = tmp_path / "box.step"
        mesh.write_text("ISO-10303-21;")
    elif case == "zero_mass":
        extra = ["--mass", "0"]
    elif case == "negative_density":
        extra = ["--density", "-3"]
    elif case == "degenerate":
        flat = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], [[0, 1, 2], [1, 3, 2]])
        mesh = tmp_path / "flat.stl"
        flat.export(str(mesh))
    elif case == "garbage":
        mesh = tmp_path / "garbage.ply"
        mesh.write_bytes(b"ply\nformat nonsense\n\x00\x01")
    elif case == "not_a_scene":
        scene_arg = str(tmp_path)
    elif case == "builder_scene":
        scene_arg = str(tmp_path / "dp")
        shutil.copytree(scenes_root() / "double_pendulum", scene_arg)
        scene = Path(scene_arg)
    elif case == "two_metre_cup":
        mesh = tmp_path / "cup.stl"
        trimesh.creation.cylinder(radius=0.8, height=2.0).export(str(mesh))
    elif case == "millimetre_file":
        mesh = _mesh_file(tmp_path, "mm.stl", size=80.0)  # 80 mm read as metres
    elif case == "lead_balloon":
        extra = ["--mass", "30"]  # 30 kg in a 5 cm cube: 240 t/m^3
    elif case == "bad_pos":
        extra = ["--mass", "0.1", "--pos", "0,1"]
    elif case == "duplicate_name":
        extra = ["--mass", "0.1", "--name", "cube"]
    elif case == "bad_name":
        extra = ["--mass", "0.1", "--name", "a b<"]
    before = _snapshot(scene)
    siblings = sorted(p.name for p in scene.parent.iterdir())
    code = main(["scene", "add-object", str(mesh), "--scene", scene_arg, *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and expected in err, err
    assert "Traceback" not in err
    assert _snapshot(scene) == before
    assert sorted(p.name for p in scene.parent.iterdir()) == siblings  # no staging left over
