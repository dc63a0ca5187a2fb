"""Hostile run settings: every bad ReplaySettings value (and the few replay/metrics/calibration
keyword arguments a caller can get wrong) is a SettingsError naming the option as the command line
spells it, what was expected and the actual value."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import record

from workbench import Episode, ReplaySettings, Signal, replay, replay_variants
from workbench.calibrate import Parameter, ParameterSpace
from workbench.calibrate.objective import WindowedObjective
from workbench.errors import BindingError, SettingsError
from workbench.metrics.bootstrap import paired_change_ci
from workbench.metrics.gap import gap_report


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "loop"}, r"--mode: expected one of .*'open_loop'.*got 'loop'"),
        ({"mode": 3}, r"--mode: expected a non-empty string, got int 3"),
        ({"mode": ""}, r"--mode: expected a non-empty string, got str ''"),
        ({"horizons": ()}, r"--horizons: expected at least one horizon .*got none"),
        ({"horizons": []}, r"--horizons: expected at least one horizon .*got none"),
        ({"horizons": (0.1, math.nan)}, r"--horizons\[1\]: expected a finite number, got nan"),
        ({"horizons": (math.inf,)}, r"--horizons\[0\]: expected a finite number, got inf"),
        ({"horizons": (0.0,)}, r"--horizons\[0\]: expected > 0, got 0\.0"),
        ({"horizons": (0.1, -0.25)}, r"--horizons\[1\]: expected > 0, got -0\.25"),
        ({"horizons": "0.1"}, r"--horizons: expected a list of numbers, got str '0\.1'"),
        ({"horizons": (True,)}, r"--horizons\[0\]: expected a number, got bool True"),
        ({"horizons": ("0.1",)}, r"--horizons\[0\]: expected a number, got str '0\.1'"),
        ({"window_stride": 0.0}, r"--stride: expected > 0, got 0\.0"),
        ({"window_stride": -0.05}, r"--stride: expected > 0, got -0\.05"),
        ({"window_stride": math.nan}, r"--stride: expected a finite number, got nan"),
        ({"window_stride": math.inf}, r"--stride: expected a finite number, got inf"),
        ({"window_stride": "0.05"}, r"--stride: expected a number, got str '0\.05'"),
        ({"smooth_window": -0.1}, r"--smooth: expected >= 0, got -0\.1"),
        ({"smooth_window": math.nan}, r"--smooth: expected a finite number, got nan"),
        ({"derivatives": "accelerations"}, r"--derivatives: expected one of .*'accelerations'"),
        ({"threads": 0}, r"--threads: expected >= 1, got 0"),
        ({"threads": -3}, r"--threads: expected >= 1, got -3"),
        ({"threads": 1.5}, r"--threads: expected an integer, got 1\.5"),
        ({"threads": True}, r"--threads: expected an integer, got bool True"),
        ({"threads": "4"}, r"--threads: expected an integer, got str '4'"),
        ({"budget": 0}, r"budget: expected >= 1, got 0"),
    ],
)
def test_bad_replay_settings_name_the_option_and_the_value(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        ReplaySettings(**kwargs)


def test_good_settings_are_normalised_to_plain_python_values():
    s = ReplaySettings(
        "windows",
        horizons=np.array([0.1, 0.2]),
        window_stride=np.float32(0.05),
        threads=np.int64(2),
    )
    assert s.horizons == (0.1, 0.2) and isinstance(s.horizons, tuple)
    assert type(s.window_stride) is float and s.threads == 2 and type(s.threads) is int
    assert ReplaySettings(horizons=[0.5]).horizons == (0.5,)


def test_velocity_derivatives_without_recorded_velocities_fail_before_simulating(arm):
    ep = record(arm.model, [0.1, 0.2], [0, 0], np.zeros((50, 2)), 1, eid="no_qvel")
    ep = Episode(ep.id, ep.times, {k: v for k, v in ep.signals.items() if k != "qvel"})
    with pytest.raises(SettingsError, match=r"--derivatives: 'velocities' .*'no_qvel'"):
        replay(arm, [ep], ReplaySettings("inverse", derivatives="velocities"))


@pytest.mark.parametrize("chunk, shown", [(0, "0"), (-2, "-2"), (1.5, "1.5"), (True, "True")])
def test_replay_variants_chunk_must_be_a_positive_integer(arm, arm_episodes, chunk, shown):
    with pytest.raises(SettingsError, match=rf"chunk: expected an integer >= 1, got {shown}"):
        list(replay_variants(arm, arm_episodes[:1], [{}], chunk=chunk))


def test_missing_metric_and_stat_are_settings_errors(arm, arm_episodes):
    rep = gap_report(replay(arm, arm_episodes[:1]), scene="arm", settings={})
    with pytest.raises(SettingsError, match=r"metric 'qpos/j9/rmse': not in .*qpos/j1/rmse"):
        rep.value("qpos/j9/rmse")
    with pytest.raises(SettingsError, match=r"stat: expected one of .*'median'.*got 'average'"):
        rep.value("qpos/j1/rmse", "average")


def test_bootstrap_shapes_are_checked():
    with pytest.raises(SettingsError, match=r"expected two \(n,\) arrays, got \(3,\) and \(2,\)"):
        paired_change_ci(np.ones(3), np.ones(2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"horizon": 0.0}, r"--horizon: expected > 0, got 0\.0"),
        ({"horizon": math.nan}, r"--horizon: expected a finite number, got nan"),
        ({"stride": 0.0}, r"--stride: expected > 0, got 0\.0"),
        ({"threads": -3}, r"--threads: expected >= 1, got -3"),
    ],
)
def test_windows_objective_settings(arm, arm_episodes, kwargs, match):
    space = ParameterSpace((Parameter("dof_damping[j1]", 0.0, 1.0),))
    with pytest.raises(SettingsError, match=match):
        WindowedObjective(arm, arm_episodes[:1], space, **kwargs)


def test_episode_without_windows_long_enough_is_a_binding_error(arm):
    ep = Episode("short", np.arange(5) * 0.002, {"qpos": Signal(np.zeros((5, 2)), ["j1", "j2"])})
    space = ParameterSpace((Parameter("dof_damping[j1]", 0.0, 1.0),))
    ep = ep.with_signals(ctrl=Signal(np.zeros((5, 2)), ["m1", "m2"]))
    with pytest.raises(BindingError, match=r"no window of --horizon 0\.25 s fits .*0\.008 s"):
        WindowedObjective(arm, [ep], space)


@pytest.mark.parametrize(
    "text, match",
    [
        ("not json", r"bad\.json: expected a gap report \(JSON\), could not read it"),
        ("[1, 2]", r"bad\.json: expected a table, got list \[1, 2\]"),
        ('{"scene": "arm"}', r"bad\.json: missing keys \['mode', 'settings', 'episodes'"),
        (
            '{"scene": "a", "mode": "m", "settings": {}, "episodes": [], "aggregate": {}, "x": 1}',
            r"bad\.json: unknown keys \['x'\]",
        ),
    ],
)
def test_loading_something_that_is_not_a_gap_report(tmp_path, text, match):
    from workbench.errors import ConfigError
    from workbench.metrics.gap import GapReport

    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        GapReport.load(path)
