"""Replay numerics: batched rollouts against a plain mj_step loop, zero gap on self-recorded
episodes in every mode, and a gap that grows with a physics perturbation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import record, smooth_controls

from workbench import ReplaySettings, gap_report, replay
from workbench.replay import BatchSimulator, initial_states, reference_rollout


@pytest.mark.parametrize("threads", [1, 2])
def test_batched_rollout_matches_plain_mj_step_loop(box, threads):
    model = box.model
    rng = np.random.default_rng(1)
    qpos = np.tile(model.qpos0, (6, 1))
    qpos[:, 2] = rng.uniform(0.1, 0.3, 6)
    qpos[:, 3:7] = rng.normal(size=(6, 4))
    qvel = rng.normal(scale=1.0, size=(6, model.nv))
    init = initial_states(model, qpos, qvel)
    with BatchSimulator(model, threads=threads) as sim:
        fast, _ = sim.run(init, None, 400)
    slow, _ = reference_rollout(model, init, None, 400)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_batched_rollout_with_controls_and_model_list(arm):
    model = arm.model
    rng = np.random.default_rng(2)
    init = initial_states(model, rng.uniform(-1, 1, (4, 2)), np.zeros((4, 2)))
    ctrl = rng.normal(size=(4, 200, 2))
    models = []
    for k in range(4):  # a list of models with different damping: one batched call
        m = arm.spec().compile()
        m.dof_damping[:] = 0.01 * (k + 1)
        models.append(m)
    with BatchSimulator(model, threads=2) as sim:
        fast, _ = sim.run(init, ctrl, 200, models=models)
    for k in range(4):
        slow, _ = reference_rollout(models[k], init[k : k + 1], ctrl[k : k + 1], 200)
        np.testing.assert_allclose(fast[k], slow[0], atol=1e-12)


@pytest.mark.parametrize("mode", ["open_loop", "windows", "tracking", "inverse"])
def test_self_recorded_episode_replays_with_zero_gap(arm, arm_episodes, mode):
    settings = ReplaySettings(
        mode=mode, horizons=(0.05, 0.1), window_stride=0.04, smooth_window=0.0
    )
    traces = replay(arm, arm_episodes, settings)
    report = gap_report(traces, scene="arm", settings={}, horizons=settings.horizons)
    errors = {
        k: v["mean"] for k, v in report.aggregate.items() if k.endswith(("/rmse", "/max", "/mae"))
    }
    assert errors, report.aggregate
    worst = max(errors.values())
    assert worst < 1e-8, sorted(errors.items(), key=lambda kv: -kv[1])[:3]


def test_free_body_with_contact_zero_gap_open_loop_and_windows(box):
    model = box.model
    qpos0 = model.qpos0.copy()
    qpos0[2] = 0.3
    qpos0[3:7] = [0.9, 0.2, 0.3, 0.1]
    qpos0[3:7] /= np.linalg.norm(qpos0[3:7])
    ep = record(model, qpos0, [0.5, 0.2, 0.0, 3.0, -2.0, 1.0], np.zeros((250, 0)), 5)
    for mode in ("open_loop", "windows"):
        traces = replay(box, [ep], ReplaySettings(mode=mode, horizons=(0.1,), window_stride=0.02))
        rep = gap_report(traces, scene="box", settings={}, horizons=(0.1,), contact_bodies=("box",))
        pos = [
            v["mean"]
            for k, v in rep.aggregate.items()
            if "position_error_m" in k and k.endswith(("/max", "/mae"))
        ]
        rot = [
            v["mean"]
            for k, v in rep.aggregate.items()
            if "rotation_error_deg" in k and k.endswith(("/max", "/mae"))
        ]
        # windows restart with a cold solver warmstart: equal to solver tolerance, not bitwise
        assert max(pos) < 1e-6 and max(rot) < 1e-4, rep.aggregate
    rep = gap_report(
        replay(box, [ep], ReplaySettings("open_loop")),
        scene="box",
        settings={},
        contact_bodies=("box",),
    )
    assert rep.aggregate["contact/box/first_contact_time_error_s"]["mean"] == 0.0


def test_gap_grows_with_perturbation(arm, arm_episodes):
    gaps = []
    for factor in (1.0, 1.2, 1.5, 2.0):
        params = {
            "dof_damping[j1]": 0.05 * factor,
            "dof_damping[j2]": 0.03 * factor,
            "body_mass[link2]": 0.6 * factor,
        }
        traces = replay(arm, arm_episodes, ReplaySettings("open_loop"), params=params)
        rep = gap_report(traces, scene="arm", settings={})
        gaps.append(rep.aggregate["qpos/j2/rmse"]["mean"])
    assert gaps[0] < 1e-10
    assert all(a < b for a, b in zip(gaps, gaps[1:], strict=False)), gaps
    # and the model is restored exactly after each replay
    assert arm.model.body_mass[2] == 0.6 and arm.model.dof_damping[0] == 0.05


def test_substeps_and_resampling(arm):
    rng = np.random.default_rng(3)
    ep = record(arm.model, [0.2, -0.3], [0, 0], smooth_controls(rng, 100, 2), 4)
    tr = replay(arm, [ep], ReplaySettings("open_loop"))[0]
    assert tr.alignment.substeps == 4 and not tr.alignment.resampled
    err = tr.predicted["qpos"] - tr.recorded("qpos")
    assert np.nanmax(np.abs(err)) < 1e-10
    jittered = ep.__class__(ep.id, ep.times + np.r_[0, 1e-4, np.zeros(98)], ep.signals)
    tr2 = replay(arm, [jittered], ReplaySettings("open_loop"))[0]
    assert tr2.alignment.resampled and "resampled" in tr2.alignment.note


def test_divergence_is_reported_not_raised(arm, arm_episodes):
    traces = replay(
        arm, arm_episodes[:1], ReplaySettings("open_loop"), params={"opt.timestep": 0.5}
    )
    assert traces[0].diverged.all()
    rep = gap_report(traces, scene="arm", settings={})
    assert rep.episodes[0]["diverged_windows"] == 1
