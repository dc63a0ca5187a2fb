"""Physics variants replayed in batched calls match one-at-a-time replays and plain mj_step loops."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import record

from workbench import ReplaySettings, replay, replay_variants
from workbench.errors import ParameterError
from workbench.physics import set_values

VARIANTS = [
    {"dof_damping[j1]": 0.2},
    {"body_mass[link2]": 0.9, "dof_armature[j2]": 0.02},
    {},
    {"dof_damping[j1]": 0.01, "dof_frictionloss[j2]": 0.1},
    {"opt.gravity[2]": -5.0},
]


@pytest.mark.parametrize("mode", ["open_loop", "windows"])
def test_batched_variants_equal_one_replay_per_variant(arm, arm_episodes, mode):
    settings = ReplaySettings(mode, horizons=(0.1,), window_stride=0.05)
    before = copy.copy(arm.model)
    seen = []
    for i, traces in replay_variants(arm, arm_episodes, VARIANTS, settings, chunk=2):
        seen.append(i)
        alone = replay(arm, arm_episodes, settings, params=VARIANTS[i])
        for a, b in zip(traces, alone, strict=True):
            np.testing.assert_array_equal(a.starts, b.starts)
            np.testing.assert_allclose(a.predicted["qpos"], b.predicted["qpos"], rtol=0, atol=1e-12)
    assert seen == list(range(len(VARIANTS)))
    for name in ("dof_damping", "body_mass", "dof_armature", "dof_frictionloss"):
        np.testing.assert_array_equal(getattr(arm.model, name), getattr(before, name))
    np.testing.assert_array_equal(arm.model.opt.gravity, before.opt.gravity)


def test_a_variant_matches_a_plain_mj_step_recording(arm, arm_episodes):
    values = VARIANTS[1]
    truth_model = copy.copy(arm.model)
    set_values(truth_model, values)
    ep = arm_episodes[0]
    truth = record(
        truth_model,
        ep.signals["qpos"].values[0],
        ep.signals["qvel"].values[0],
        ep.signals["ctrl"].values,
        1,
    )
    ((_, (trace,)),) = list(replay_variants(arm, [ep], [values], ReplaySettings("open_loop")))
    np.testing.assert_allclose(trace.predicted["qpos"][0], truth.signals["qpos"].values, atol=1e-12)


def test_bad_variants_fail_before_anything_runs(arm, arm_episodes):
    calls = []
    with pytest.raises(ParameterError, match=r"variant 1: .*'body_mass\[link2\]': expected >= 0"):
        list(
            replay_variants(
                arm,
                arm_episodes,
                [{}, {"body_mass[link2]": -1.0}],
                progress=lambda done, total: calls.append(done),
            )
        )
    assert calls == []
    with pytest.raises(ParameterError, match="measurement parameters"):
        list(replay_variants(arm, arm_episodes, [{"delay:qpos": 0.01}]))


def test_inverse_mode_variants_fall_back_to_one_replay_each(arm, arm_episodes):
    settings = ReplaySettings("inverse", smooth_window=0.0)
    out = dict(replay_variants(arm, arm_episodes[:1], VARIANTS[:2], settings))
    alone = replay(arm, arm_episodes[:1], settings, params=VARIANTS[0])
    np.testing.assert_array_equal(
        out[0][0].predicted["qfrc_actuator"], alone[0].predicted["qfrc_actuator"]
    )
