"""Fidelity on genuinely real recordings (bundled subsets, and the shared copies where present)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import ReplaySettings, gap_report, load_episodes, load_scene, replay
from workbench.paths import assets_root, real_data_root
from workbench.physics import load_values

DATA = assets_root() / "data"


def test_cube_tosses_open_loop_and_windows_are_in_a_physical_range():
    scene = load_scene("cube_toss")
    eps = load_episodes(
        DATA / "cube_toss", assets_root() / "mappings" / "cube_toss.toml", select="0:40"
    )
    rep = gap_report(
        replay(scene, eps, ReplaySettings("open_loop")),
        scene="cube_toss",
        settings={},
        contact_bodies=("cube",),
    )
    pos = rep.value("qpos/cube/position_error_m/mae")
    assert 1e-3 < pos < 0.05  # mm..cm: a real gap, not zero, not nonsense
    assert rep.value("contact/cube/first_contact_time_error_s") == pytest.approx(0.0, abs=0.02)
    win = gap_report(
        replay(scene, eps, ReplaySettings("windows", horizons=(0.1, 0.25))),
        scene="cube_toss",
        settings={},
        horizons=(0.1, 0.25),
    )
    short, long = (
        win.value("h=0.1s/qpos/cube/position_error_m/mae"),
        win.value("h=0.25s/qpos/cube/position_error_m/mae"),
    )
    assert 0 < short < long < pos * 2


def test_double_pendulum_friction_terms_measurably_matter():
    scene = load_scene("double_pendulum")
    eps = load_episodes(
        DATA / "double_pendulum", assets_root() / "mappings" / "double_pendulum.toml"
    )
    settings = ReplaySettings("windows", horizons=(0.25,), window_stride=0.1)
    with_f = gap_report(replay(scene, eps, settings), scene="dp", settings={}, horizons=(0.25,))
    no_f = gap_report(
        replay(scene, eps, settings, params=load_values(scene.folder / "no_friction.toml")),
        scene="dp",
        settings={},
        horizons=(0.25,),
    )
    for joint in ("shoulder", "elbow"):
        a = with_f.value(f"h=0.25s/qpos/{joint}/mae")
        b = no_f.value(f"h=0.25s/qpos/{joint}/mae")
        assert a < 0.7 * b, (joint, a, b)


def test_double_pendulum_inverse_torque_tracks_measured_torque():
    scene = load_scene("double_pendulum")
    eps = load_episodes(
        DATA / "double_pendulum", assets_root() / "mappings" / "double_pendulum.toml"
    )
    tr = replay(scene, eps, ReplaySettings("inverse", smooth_window=0.1))[0]
    pred, meas = tr.predicted["qfrc_actuator"][0], tr.episode.signals["qfrc_actuator"].values
    for k in range(2):  # the model explains part of the measured torque variation
        rmse = np.sqrt(np.mean((pred[:, k] - meas[:, k]) ** 2))
        assert rmse < 0.95 * np.std(meas[:, k]), (k, rmse, np.std(meas[:, k]))
        assert np.corrcoef(pred[:, k], meas[:, k])[0, 1] > 0.6


PANDA = real_data_root() / "panda_excitation"


@pytest.mark.skipif(not PANDA.is_dir(), reason=f"GPL Panda log not bundled; expected at {PANDA}")
def test_panda_inverse_dynamics_against_measured_torques():
    scene = load_scene("panda")
    eps = load_episodes(PANDA, assets_root() / "mappings" / "panda_excitation.toml")
    rep = gap_report(replay(scene, eps, ReplaySettings("inverse")), scene="panda", settings={})
    rmse = [rep.value(f"qfrc_actuator/joint{j}/rmse") for j in range(1, 8)]
    # Menagerie's model has no friction: errors of a few tenths of N m, below 2 N m everywhere
    assert all(0.01 < r < 2.0 for r in rmse), rmse


@pytest.mark.skipif(not PANDA.is_dir(), reason=f"GPL Panda log not bundled; expected at {PANDA}")
def test_panda_smooth_friction_and_base_tilt_calibration_generalizes_to_the_second_half():
    from workbench.calibrate import Parameter, ParameterSpace, calibrate
    from workbench.calibrate.report import heldout_comparison

    scene = load_scene("panda")
    (ep,) = load_episodes(PANDA, assets_root() / "mappings" / "panda_excitation.toml")
    half = int(np.searchsorted(ep.times, ep.times[0] + 0.5 * ep.duration))
    train, test = ep.slice(0, half), ep.slice(half, ep.num_samples)
    params = [Parameter(f"opt.gravity[{k}]", -0.5, 0.5) for k in range(2)]
    for j in range(1, 8):
        params += [
            Parameter(f"dof_frictionloss[joint{j}]", 0.0, 3.0),
            Parameter(f"dof_solref[joint{j}][0]", 0.002, 2.0, "log", nominal=0.02),
            Parameter(f"dof_damping[joint{j}]", 0.0, 5.0),
        ]
    space = ParameterSpace(tuple(params))
    result = calibrate(
        scene, [train], space, objective="inverse", derivatives="velocities", max_iter=8
    )
    held = heldout_comparison(scene, [test], result, objective="inverse", derivatives="velocities")
    row = held.table["mean_over_joints/rmse"]
    before, after = row["nominal"], row["calibrated"]
    # friction and a base tilt alone (no inertials) on the unseen half
    assert after < 0.75 * before, (before, after)
    tilt = np.hypot(*result.values[:2]) / 9.81
    assert 0.001 < tilt < 0.03  # a mounting tilt of a fraction of a degree, well identified
