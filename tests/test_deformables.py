"""Cloth and cable scenes: stability, markers, and cable stiffness/damping recovered from a
synthetic rope recording with driven ends."""

from __future__ import annotations

import shutil

import mujoco
import numpy as np
import pytest

from workbench.deformables import (
    CableSetup,
    RopeRecording,
    fit_cable,
    simulate_cable,
    simulate_cable_loop,
    synthetic_rope_recording,
)
from workbench.errors import BindingError, SceneError, SimulationDiverged
from workbench.io import load_episodes
from workbench.io.mapping import check_signal_name
from workbench.paths import assets_root, scenes_root
from workbench.scenes import load_scene, load_scene_folder
from workbench.scenes.markers import (
    episode_marker_tracks,
    marker_errors,
    parse_markers,
    resolve_markers,
    scene_markers,
)
from workbench.scenes.stability import check_stability, require_stable


def _cable_drive(model, data):
    t = data.time
    data.mocap_pos[0] = [-0.5 + 0.1 * np.sin(2 * np.pi * 0.7 * t), 0.0, 0.6]
    data.mocap_pos[1] = [0.5 - 0.15 * (1 - np.cos(2 * np.pi * 0.5 * t)), 0.0, 0.6]


@pytest.mark.parametrize("name", ["cloth", "cable"])
def test_scenes_run_5_seconds_stably(name):
    scene = load_scene(name)
    drive = _cable_drive if name == "cable" else None
    report = check_stability(scene.model, seconds=5.0, drive=drive)
    assert report.stable, report.reason
    assert report.time == pytest.approx(5.0)
    assert report.warnings == {}
    assert 0.0 < report.max_rms_speed < 5.0


def test_cloth_drapes_over_the_table():
    scene = load_scene("cloth")
    model, data = scene.model, mujoco.MjData(scene.model)
    for _ in range(int(2.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    markers = scene_markers(scene).positions(data)
    table_top = 0.42
    z = data.flexvert_xpos[:, 2]
    assert z.max() < table_top + 0.02  # fallen onto the table
    assert z.min() < table_top - 0.03  # and hanging over its edge
    assert np.all(markers[:, 2] > 0.0)  # nothing fell through the floor


@pytest.mark.parametrize(
    "change, reason",
    [
        (dict(damping=0.0), "mjWARN_BADQACC"),  # undamped cable
        (dict(damping=1e-5, timestep=0.02), "mjWARN_BADQACC"),  # tiny damping, big timestep
    ],
)
def test_unstable_cable_settings_are_detected(change, reason):
    scene = load_scene("cable")
    model = scene.model
    if "timestep" in change:
        model.opt.timestep = change["timestep"]
    model.dof_damping[6:] = change["damping"]
    report = check_stability(model, seconds=3.0, drive=_cable_drive)
    assert not report.stable
    assert reason in report.reason
    assert report.time < 3.0  # stopped at the failure
    with pytest.raises(SimulationDiverged, match="unstable at timestep"):
        require_stable(model, what="cable", seconds=3.0, drive=_cable_drive)


def test_energy_blow_up_is_detected():
    xml = """<mujoco><option gravity="0 0 0"/><worldbody><body><freejoint/>
      <geom size=".1"/></body></worldbody></mujoco>"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    data.qvel[:3] = [50.0, 0, 0]  # 50 m/s, no warning, no NaN: only the energy check sees it
    report = check_stability(model, seconds=0.1, data=data)
    assert not report.stable and "kinetic energy blow-up" in report.reason


def test_markers_bind_bodies_and_flex_vertices():
    cable = load_scene("cable")
    ms = scene_markers(cable)
    data = mujoco.MjData(cable.model)
    mujoco.mj_forward(cable.model, data)
    body = mujoco.mj_name2id(cable.model, mujoco.mjtObj.mjOBJ_BODY, "ropeB_8")
    np.testing.assert_array_equal(ms.subset(["rope_08"]).positions(data)[0], data.xpos[body])
    cloth = load_scene("cloth")
    cm = scene_markers(cloth)
    data = mujoco.MjData(cloth.model)
    mujoco.mj_forward(cloth.model, data)
    np.testing.assert_array_equal(cm.positions(data)[-1], data.flexvert_xpos[80])
    assert check_signal_name("marker:rope_08", "test") == "marker:rope_08"


@pytest.mark.parametrize(
    "table, message",
    [
        ({"m": "body:no_such_body"}, "unknown body 'no_such_body'"),
        ({"m": "flex:cloth[81]"}, "has 81 vertices"),
        ({"m": "flex:cloth"}, "expected 'body:<body>'"),
        ({"m": "joint:block"}, "expected 'body:<body>'"),
        ({"m": 3}, "expected a non-empty string"),
    ],
)
def test_bad_markers_are_refused_at_load(tmp_path, table, message):
    folder = tmp_path / "cloth"
    shutil.copytree(scenes_root() / "cloth", folder)
    text = (folder / "scene.toml").read_text().split("[markers]")[0]
    value = table["m"] if isinstance(table["m"], int) else f'"{table["m"]}"'
    (folder / "scene.toml").write_text(f"{text}[markers]\nm = {value}\n")
    with pytest.raises(SceneError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_scene_folder(folder)


def test_marker_errors_per_marker():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(50, 2, 3))
    offset = np.zeros_like(real)
    offset[:, 1, 0] = 0.01  # marker 1 off by 1 cm along x, marker 0 exact
    errors = marker_errors(("a", "b"), real + offset, real)
    np.testing.assert_allclose(errors.mean, [0.0, 0.01], atol=1e-12)
    np.testing.assert_allclose(errors.max, [0.0, 0.01], atol=1e-12)
    real[3, 1] = np.nan  # an occluded sample is skipped
    assert marker_errors(("a", "b"), real + offset, real).mean[1] == pytest.approx(0.01)
    with pytest.raises(BindingError):
        marker_errors(("a",), real, real)


def test_simulate_cable_matches_a_plain_step_loop():
    scene = load_scene("cable")
    setup = CableSetup.from_scene(scene)
    times = np.arange(0.0, 0.5 + 1e-9, 0.01)
    left = np.column_stack([-0.5 + 0.1 * times, 0 * times, 0.6 + 0 * times])
    right = np.column_stack([0.5 - 0.2 * times, 0 * times, 0.6 + 0.1 * times])
    sim = simulate_cable(setup, bend=2e7, damping=0.03, times=times, left=left, right=right)
    # reference: the scene's XML with the same values, compiled afresh, stepped by hand
    spec = scene.spec()
    spec.plugins[0].config = {**spec.plugins[0].config, "bend": "2e7"}
    for joint in spec.joints:
        if joint.type == mujoco.mjtJoint.mjJNT_BALL:
            joint.damping = [0.03, 0.0, 0.0]  # linear; the others are dof_dampingpoly
    model = spec.compile()
    data = mujoco.MjData(model)
    data.mocap_pos[:] = [left[0], right[0]]
    mujoco.mj_forward(model, data)
    body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "ropeB_16")
    for step in range(50):
        t = step * model.opt.timestep
        data.mocap_pos[0] = [np.interp(t, times, left[:, i]) for i in range(3)]
        data.mocap_pos[1] = [np.interp(t, times, right[:, i]) for i in range(3)]
        mujoco.mj_step(model, data)
    mujoco.mj_kinematics(model, data)  # the markers of the state at the sample time
    k = setup.markers.names.index("rope_16")
    np.testing.assert_allclose(sim[10, k], data.xpos[body], atol=1e-10)
    # the shared replay path (simulate_cable) and the plain loop agree over the whole run
    loop = simulate_cable_loop(setup, bend=2e7, damping=0.03, times=times, left=left, right=right)
    np.testing.assert_allclose(sim, loop, atol=1e-10)


def test_recording_round_trips_as_an_episode():
    setup = CableSetup.from_scene(load_scene("cable"))
    rec = synthetic_rope_recording(setup, bend=1e7, damping=0.02, seconds=0.2)
    names, tracks = episode_marker_tracks(rec.to_episode())
    assert names[: len(rec.names)] == rec.names
    np.testing.assert_array_equal(tracks[:, : len(rec.names)], rec.markers)


def test_resolve_markers_names_valid_targets():
    model = load_scene("cable").model
    with pytest.raises(SceneError, match="valid: .*ropeB_first"):
        resolve_markers(model, parse_markers({"x": "body:rope"}, "markers"))


def test_synthetic_rope_calibration_recovers_stiffness_and_damping(tmp_path):
    """Markers from a cable with known bend 1e7 Pa and damping 0.02, 1 mm noise; the fit starts
    at 0.3x / 2.5x and must land within 5 % of both."""
    setup = CableSetup.from_scene(load_scene("cable"))
    rec = synthetic_rope_recording(setup, bend=1e7, damping=0.02, seconds=1.5, noise_m=1e-3, seed=3)
    rec.write_csv(tmp_path / "rope.csv")  # the fit reads the episode through the shipped mapping
    (episode,) = load_episodes(
        tmp_path / "rope.csv", assets_root() / "mappings" / "rope_markers.toml"
    )
    np.testing.assert_array_equal(RopeRecording.from_episode(episode).markers, rec.markers)
    fit = fit_cable(setup, episode, bend0=3e6, damping0=0.05, noise_m=1e-3)
    assert abs(fit.bend / 1e7 - 1) < 0.05, fit
    assert abs(fit.damping / 0.02 - 1) < 0.05, fit
    assert fit.rms_m == pytest.approx(1e-3, rel=0.1)  # down to the noise
