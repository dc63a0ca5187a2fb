"""Inverse-dynamics calibration with a sensor model, CMA-ES search, the toss protocol, and the
calibrate command."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
from conftest import box_scene, record, recorded_arm

from workbench import ReplaySettings, replay
from workbench.calibrate import Parameter, ParameterSpace, calibrate
from workbench.calibrate.search import calibrate_cma
from workbench.cli import main
from workbench.errors import ParameterError
from workbench.paths import assets_root, scenes_root
from workbench.physics import set_values
from workbench.physics.signal_params import apply_signal_params
from workbench.protocols import TossProtocol, prepare_toss, score_tosses


def test_signal_parameters_shift_and_debias_recorded_signals():
    _, (ep, _) = recorded_arm({})
    tau = ep.signals["qfrc_actuator"]
    out = apply_signal_params(ep, {"offset:qfrc_actuator[j2]": 0.5, "delay:qfrc_actuator": 0.004})
    shifted = out.signals["qfrc_actuator"].values
    # delay 0.004 s = 2 samples of 2 ms: corrected[t] = recorded[t + 2]
    np.testing.assert_allclose(shifted[:-2, 0], tau.values[2:, 0])
    np.testing.assert_allclose(shifted[:-2, 1], tau.values[2:, 1] - 0.5)
    with pytest.raises(ParameterError, match="'j1', 'j2'"):
        apply_signal_params(ep, {"offset:qfrc_actuator[j9]": 1.0})
    with pytest.raises(ParameterError, match="no signal 'torque'"):
        apply_signal_params(ep, {"delay:torque": 0.01})


def test_inverse_objective_recovers_friction_damping_armature_and_sensor_bias():
    true = {"dof_damping[j1]": 0.12, "dof_armature[j2]": 0.02, "dof_frictionloss[j1]": 0.3}
    scene, eps = recorded_arm(true)
    bias = 0.4  # a torque-sensor offset on j2
    eps = [
        e.with_signals(
            qfrc_actuator=dataclasses.replace(
                e.signals["qfrc_actuator"], values=e.signals["qfrc_actuator"].values + [0.0, bias]
            )
        )
        for e in eps
    ]
    space = ParameterSpace(
        (
            Parameter("dof_damping[j1]", 0.0, 1.0),
            Parameter("dof_armature[j2]", 0.0, 0.2),
            Parameter("dof_frictionloss[j1]", 0.0, 2.0),
            Parameter("offset:qfrc_actuator[j2]", -2.0, 2.0),
        )
    )
    result = calibrate(
        scene, eps, space, objective="inverse", smooth_window=0.0, start=[0.07, 0.012, 0.18, 0.0]
    )
    truth = np.array([0.12, 0.02, 0.3, bias])
    assert np.max(np.abs(np.array(result.values) - truth) / truth) < 0.02, result.values


def test_cma_search_is_seeded_and_improves():
    true = {"dof_damping[j1]": 0.2, "dof_damping[j2]": 0.1}
    scene, eps = recorded_arm(true, n=1, T=150)
    space = ParameterSpace(
        (
            Parameter("dof_damping[j1]", 0.01, 1.0, "log"),
            Parameter("dof_damping[j2]", 0.01, 1.0, "log"),
        )
    )
    with pytest.raises(ParameterError, match="at least 2"):
        calibrate_cma(scene, eps, ParameterSpace(space.parameters[:1]), lambda t: 0.0)

    def score(traces):
        return float(
            np.mean([np.nanmean((t.predicted["qpos"] - t.recorded("qpos")) ** 2) for t in traces])
        )

    runs = [
        calibrate_cma(scene, eps, space, score, popsize=6, generations=12, seed=3) for _ in range(2)
    ]
    assert runs[0].values == runs[1].values
    assert runs[0].cost_final < 0.1 * runs[0].cost_start
    assert abs(runs[0].values[0] - 0.2) / 0.2 < 0.35  # weakly identifiable: cost is what counts


def test_toss_protocol_trims_and_refits_velocity_exactly_on_free_flight():
    scene = box_scene()
    model = scene.model
    q0 = model.qpos0.copy()
    q0[2] = 0.5
    v0 = np.array([0.4, -0.2, 0.3, 2.0, 1.0, -1.0])
    ep = record(model, q0, v0, np.zeros((200, 0)), 5)
    protocol = TossProtocol(half_width=0.05, body="box")
    out = prepare_toss(ep, protocol)
    touch = int(np.argmax(ep.signals["qpos"].values[:, 2] <= 0.05 * np.sqrt(3)))
    assert out.metadata["toss_start_sample"] == touch - 3
    # a noise-free ballistic flight: the fitted parabola's slope is the recorded velocity
    # (to the integrator's O(dt) difference from a continuous parabola)
    np.testing.assert_allclose(
        out.signals["qvel"].values[0, :3], ep.signals["qvel"].values[touch - 3, :3], atol=0.02
    )
    # scores of an exact replay (recorded state, no re-fit) are zero but for contact penetration
    exact = ep.slice(touch - 3, ep.num_samples)
    scores = score_tosses(replay(scene, [exact], ReplaySettings("open_loop")), protocol)
    assert scores["median_position_error_pct_width"] < 1e-6 and scores["mean_e_q"] < 1e-10
    assert 0.0 < scores["mean_penetration_mm"] < 30.0  # soft contact (solref 0.02) at ~3 m/s
    refit = score_tosses(replay(scene, [out], ReplaySettings("open_loop")), protocol)
    assert refit["median_position_error_pct_width"] > scores["median_position_error_pct_width"]


def test_calibrate_command_writes_params_usable_by_gap(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[parameters."dof_frictionloss[elbow]"]\nlower = 0.0\nupper = 0.5\n')
    out = tmp_path / "cal"
    code = main(
        [
            "calibrate",
            str(assets_root() / "data" / "double_pendulum"),
            "--scene",
            "double_pendulum",
            "--space",
            str(space),
            "--time-split",
            "0.6",
            "--out",
            str(out),
            "--stride",
            "0.5",
            "--max-iter",
            "3",
            "--horizons",
            "0.1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    for name in ("params.json", "distribution.toml", "calibration.json", "report.json"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert "h=0.1s/qpos/elbow/mae" in report["heldout"]
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == [
        "heldout_error_over_time_qpos.png",
        "heldout_nominal_vs_calibrated.png",
        "heldout_overlay_sysid_20230629-143339_qpos.png",
        "optimizer_trace.png",
        "parameters.png",
    ]
    gap_out = tmp_path / "gap"
    assert (
        main(
            [
                "gap",
                str(assets_root() / "data" / "double_pendulum"),
                "--scene",
                "double_pendulum",
                "--mode",
                "inverse",
                "--params",
                str(out / "params.json"),
                "--out",
                str(gap_out),
            ]
        )
        == 0
    )
    assert json.loads((gap_out / "gap.json").read_text())["settings"]["params"]


def test_calibrate_command_on_the_toss_protocol(tmp_path, capsys):
    out = tmp_path / "cube"
    code = main(
        [
            "calibrate",
            str(assets_root() / "data" / "cube_toss"),
            "--scene",
            "cube_toss",
            "--objective",
            "tosses",
            "--space",
            str(scenes_root() / "cube_toss" / "calibration_space.toml"),
            "--train",
            "0:6",
            "--test",
            "6:12",
            "--popsize",
            "4",
            "--generations",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert set(report["heldout"]) == {
        "median_position_error_pct_width",
        "mean_position_error_pct_width",
        "mean_rotation_error_deg",
        "mean_penetration_mm",
        "mean_e_q",
    }
    assert report["test"] == [f"toss_{i:03d}" for i in range(6, 12)]
    for row in report["heldout"].values():  # 6 held-out tosses: enough for an interval
        lo, hi = row["change_ci95_pct"]
        assert lo <= hi
    assert "95% interval of the change" in capsys.readouterr().out
    saved = json.loads((out / "calibration.json").read_text())
    assert saved["settings"]["method"] == "cma" and len(saved["trace"]) == 2


def test_cma_skips_non_physical_candidates_and_handles_measurement_parameters():
    scene, eps = recorded_arm({"dof_damping[j1]": 0.2}, n=1, T=120)

    def score(traces):
        return float(
            np.mean([np.nanmean((t.predicted["qpos"] - t.recorded("qpos")) ** 2) for t in traces])
        )

    nominal = float(scene.model.body_inertia[2, 0])
    inertia = ParameterSpace(
        (
            Parameter("dof_damping[j1]", 0.01, 1.0, "log"),
            # only up to ~1.04 x nominal is a physical body (triangle inequality)
            Parameter("body_inertia[link2][0]", nominal * 0.98, nominal * 1.2, "log"),
        )
    )
    result = calibrate_cma(scene, eps, inertia, score, popsize=6, generations=4, seed=0)
    assert result.cost_final <= result.cost_start < 1e9
    set_values(copy.copy(scene.model), result.as_params())  # the answer is physical
    lead = ParameterSpace(
        (
            Parameter("dof_damping[j1]", 0.01, 1.0, "log"),
            Parameter("delay:ctrl", -0.004, 0.004),
        )
    )
    runs = [calibrate_cma(scene, eps, lead, score, popsize=4, generations=2, seed=1) for _ in "ab"]
    assert runs[0].values == runs[1].values
    assert runs[0].cost_final <= runs[0].cost_start


def test_windows_objective_recovers_an_encoder_offset_with_the_physics():
    true = {"dof_damping[j1]": 0.12}
    scene, eps = recorded_arm(true, n=2, T=300)
    encoder_zero = 0.05  # the recorded j1 angle reads 0.05 rad high
    eps = [
        e.with_signals(
            qpos=dataclasses.replace(
                e.signals["qpos"], values=e.signals["qpos"].values + [encoder_zero, 0.0]
            )
        )
        for e in eps
    ]
    space = ParameterSpace(
        (
            Parameter("dof_damping[j1]", 0.0, 1.0),
            Parameter("offset:qpos[j1]", -0.2, 0.2),
        )
    )
    result = calibrate(scene, eps, space, horizon=0.1, stride=0.05, start=[0.07, 0.0])
    np.testing.assert_allclose(result.values, [0.12, encoder_zero], rtol=0.02)
    from workbench.calibrate.distribution import fit_spread
    from workbench.calibrate.objective import WindowedObjective

    objective = WindowedObjective(scene, eps, space, horizon=0.1, stride=0.05)
    try:  # the spread is judged against the recordings as the fitted offset corrects them
        spread = fit_spread(objective, np.array(result.values), samples=4, max_evals=8)
    finally:
        objective.close()
    assert np.all(np.isfinite(spread.std))
    # the no-spread likelihood is at its noise-floor maximum, -0.5 log(2 pi 0.05^2) = 2.07, only
    # when the windows are compared with the offset-corrected recordings (1.93 uncorrected)
    assert spread.log_likelihood_no_spread > 2.04
    (heldout,) = replay(
        scene, eps[:1], ReplaySettings("windows", horizons=(0.1,)), params=result.as_params()
    )
    assert np.nanmax(np.abs(heldout.predicted["qpos"] - heldout.recorded("qpos"))) < 1e-3
