"""Diverged replays are reported (when, why) and never scored; the windows objective shares the
replay's window assembly, so it sees the same instability and scores it as infeasible."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ARM_XML, arm_scene, record, smooth_controls

from workbench import ReplaySettings, Signal, gap_report, replay
from workbench.calibrate import Parameter, ParameterSpace, calibrate
from workbench.calibrate.objective import PENALTY, WindowedObjective
from workbench.errors import SimulationDiverged
from workbench.io import load_episodes
from workbench.metrics.gap import GapReport
from workbench.paths import assets_root
from workbench.scenes import load_scene

UNLIMITED = ARM_XML.replace(' ctrlrange="-20 20"', "")  # recorded commands reach the joints as is


@pytest.fixture(scope="module")
def tosses():
    eps = load_episodes(
        assets_root() / "data" / "cube_toss",
        assets_root() / "mappings" / "cube_toss.toml",
        select="0:3",
    )
    return load_scene("cube_toss"), eps


def _report(scene, traces, **kw) -> GapReport:
    return gap_report(traces, scene=scene.name, settings={}, contact_bodies=("cube",), **kw)


def test_a_toss_diverging_at_t0_is_listed_and_excluded_from_the_aggregate(tosses, tmp_path):
    scene, (good0, toss, good2) = tosses
    qvel = toss.signals["qvel"]
    values = qvel.values.copy()
    values[0, 2] = 1e300  # a corrupt velocity in the recording's first sample
    bad = toss.with_signals(qvel=Signal(values, qvel.columns, qvel.unit, qvel.frame))
    settings = ReplaySettings("open_loop")
    traces = replay(scene, [good0, bad, good2], settings)
    assert [bool(t.diverged.any()) for t in traces] == [False, True, False]
    assert traces[1].divergence.time_s == 0.0 and traces[1].divergence.reason == "state limit"
    report = _report(scene, traces)
    clean = _report(scene, replay(scene, [good0, good2], settings))
    assert report.aggregate == clean.aggregate  # the diverged toss counts nowhere
    assert report.aggregate["qpos/cube/position_error_m/rmse"]["n"] == 2
    assert report.included == 2
    assert report.diverged == [{"id": bad.id, "time_s": 0.0, "reason": "state limit", "windows": 1}]
    entry = report.episodes[1]
    assert entry["diverged"] and entry["metrics"] == {}  # no finite-looking zeros
    assert entry["divergence"] == {"time_s": 0.0, "reason": "state limit", "window_start_s": 0.0}
    assert "DIVERGED: 1 of 3 episodes" in "\n".join(report.divergence_lines())
    assert not any(e["diverged"] for e in clean.episodes) and clean.divergence_lines() == []
    loaded = GapReport.load(report.save(tmp_path / "gap.json"))
    assert loaded.diverged == report.diverged and loaded.included == 2


def _arm_with_kick(kick_at: int = 150):
    """An unlimited-torque arm, two clean recordings and one whose recorded command jumps to
    1e9 N m at sample `kick_at` (after it was recorded: the states stay clean)."""
    scene = arm_scene(UNLIMITED)
    rng = np.random.default_rng(5)
    eps = [
        record(
            scene.model,
            rng.uniform(-0.5, 0.5, 2),
            np.zeros(2),
            smooth_controls(rng, 300, 2),
            1,
            eid=f"arm_{i}",
        )
        for i in range(3)
    ]
    ctrl = eps[1].signals["ctrl"]
    values = ctrl.values.copy()
    values[kick_at, 1] = 1e9
    eps[1] = eps[1].with_signals(ctrl=Signal(values, ctrl.columns, ctrl.unit))
    return scene, eps


def test_a_replay_diverging_midway_is_excluded_not_scored_up_to_the_divergence():
    scene, eps = _arm_with_kick(150)
    traces = replay(scene, eps, ReplaySettings("open_loop"))
    div = traces[1].divergence
    assert traces[1].diverged.all() and div.reason == "mujoco warning mjWARN_BADQACC"
    assert div.time_s == pytest.approx(150 * 0.002, abs=1e-9)  # the step the kick is applied
    assert np.isfinite(traces[1].predicted["qpos"][0, :150]).all()
    assert np.isnan(traces[1].predicted["qpos"][0, 151:]).all()
    report = gap_report(traces, scene="arm", settings={})
    assert [d["id"] for d in report.diverged] == ["arm_1"] and report.included == 2
    assert report.episodes[1]["metrics"] == {}
    assert report.aggregate["qpos/j2/rmse"]["n"] == 2
    assert report.aggregate["qpos/j2/rmse"]["mean"] < 1e-8


def test_windows_mode_leaves_out_diverged_windows_and_episodes_whose_windows_all_diverged():
    scene, eps = _arm_with_kick(150)
    settings = ReplaySettings("windows", horizons=(0.05,), window_stride=0.02)
    (clean, kicked, _) = replay(scene, eps, settings)
    length = 26  # 0.05 s / 2 ms + 1
    hit = (kicked.starts <= 150) & (kicked.starts + length - 1 > 150)
    np.testing.assert_array_equal(kicked.diverged, hit)
    assert hit.sum() >= 2 and not clean.diverged.any()
    report = gap_report([clean, kicked], scene="arm", settings={}, horizons=(0.05,))
    entry = report.episodes[1]
    assert not entry["diverged"] and entry["diverged_windows"] == hit.sum()
    # the remaining windows of the kicked episode are exact: no partial window was scored
    assert entry["metrics"]["h=0.05s/qpos/j2/mae"] < 1e-8
    assert report.included == 2 and report.diverged_windows == hit.sum()
    assert "windows of included episodes diverged" in "\n".join(report.divergence_lines())
    stiff = replay(scene, eps[:1], settings, params={"jnt_stiffness[j1]": 1e9})
    rep = gap_report(stiff + [clean], scene="arm", settings={}, horizons=(0.05,))
    assert stiff[0].diverged.all() and rep.episodes[0]["diverged"]
    assert rep.included == 1 and rep.diverged[0]["reason"].startswith("mujoco warning mjWARN_")
    assert rep.aggregate["h=0.05s/qpos/j2/mae"]["n"] == 1


def _space(name="jnt_stiffness[j1]", lower=0.0, upper=1e10):
    return ParameterSpace((Parameter(name, lower, upper),))


def test_the_objective_sees_the_instability_the_replay_sees():
    scene = arm_scene()
    rng = np.random.default_rng(0)
    eps = [
        record(scene.model, rng.uniform(-0.5, 0.5, 2), np.zeros(2), smooth_controls(rng, 200, 2), 1)
    ]
    settings = ReplaySettings("windows", horizons=(0.1,), window_stride=0.05)
    (trace,) = replay(scene, eps, settings, params={"jnt_stiffness[j1]": 1e9})
    assert trace.diverged.all()
    objective = WindowedObjective(scene, eps, _space(), horizon=0.1, stride=0.05)
    try:
        prediction = objective.evaluate(np.array([[1e9], [0.0]]))
        assert prediction.diverged[0].all() and not prediction.diverged[1].any()
        np.testing.assert_array_equal(prediction.feasible, [False, True])
        assert np.isnan(prediction.values[0]).all()
        residuals = objective.residual_values(np.array([[1e9], [0.0]]))
        assert (residuals[:, 0] == PENALTY).all()  # infeasible: the penalty everywhere
        assert np.abs(residuals[:, 1]).max() < 1e-8  # the recording's own physics: exact
        with pytest.raises(SimulationDiverged, match=r"6 of 6 windows diverge.*mjWARN_BADQACC"):
            objective.check_feasible([1e9])
    finally:
        objective.close()
    with pytest.raises(SimulationDiverged, match=r"start values.*jnt_stiffness\[j1\]"):
        calibrate(scene, eps, _space(), horizon=0.1, stride=0.05, start=[1e9], max_iter=2)


DELAYED = ARM_XML.replace(
    '<motor name="m1" joint="j1" ctrlrange="-20 20"/>',
    '<motor name="m1" joint="j1" ctrlrange="-20 20" delay="0.006" nsample="8" interp="linear"/>',
)


@pytest.mark.parametrize(
    "xml, name, value, lower, upper",
    [
        (ARM_XML, "dof_damping[j1]", 0.08, 0.0, 1.0),
        (DELAYED, "actuator_delay[m1]", 0.004, 0.0, 0.01),
        (ARM_XML, "offset:qpos[j2]", 0.01, -0.1, 0.1),
    ],
)
def test_objective_predictions_are_the_replay_windows(xml, name, value, lower, upper):
    scene = arm_scene(xml)
    rng = np.random.default_rng(1)
    eps = [
        record(
            scene.model,
            rng.uniform(-0.5, 0.5, 2),
            np.zeros(2),
            smooth_controls(rng, 160, 2),
            2,
            eid=f"e{i}",
        )
        for i in range(2)
    ]
    settings = ReplaySettings("windows", horizons=(0.06,), window_stride=0.02)
    traces = replay(scene, eps, settings, params={name: value})
    windows = np.concatenate(
        [np.concatenate([t.predicted["qpos"], t.predicted["qvel"]], -1)[:, 1:] for t in traces]
    )
    targets = np.concatenate(
        [np.concatenate([t.recorded("qpos"), t.recorded("qvel")], -1)[:, 1:] for t in traces]
    )
    objective = WindowedObjective(scene, eps, _space(name, lower, upper), horizon=0.06, stride=0.02)
    try:
        (predicted,) = objective.predict(np.array([[value]]))
        (recorded,) = objective.targets_for(np.array([value]))
    finally:
        objective.close()
    assert predicted.shape == windows.shape and np.isfinite(windows).all()
    np.testing.assert_allclose(predicted, windows, rtol=0, atol=1e-12)
    np.testing.assert_allclose(recorded, targets, rtol=0, atol=1e-12)
