"""Divergence thresholds: explicit by signal, column or pose kind (scene or --threshold), else
scaled with the recorded range; the per-episode, per-joint metrics table."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from workbench.cli import main
from workbench.errors import SceneError, SettingsError
from workbench.metrics.thresholds import DEFAULT_THRESHOLDS, RELATIVE_TO_RANGE, threshold_for
from workbench.paths import assets_root
from workbench.scenes.scene import Binding

PENDULUM = assets_root() / "data" / "double_pendulum"


def test_default_threshold_scales_with_a_large_recorded_range():
    torque = np.linspace(-330.0, 330.0, 1000)  # a big arm's joint torque [N m]
    got = threshold_for(
        {}, signal="qfrc_actuator", kind="qfrc_actuator", column="j1", recorded=torque
    )
    span = np.percentile(torque, 99) - np.percentile(torque, 1)
    assert got == pytest.approx(RELATIVE_TO_RANGE * span) and got > 30
    small = threshold_for(
        {}, signal="qfrc_actuator", kind="qfrc_actuator", column="j1", recorded=0.01 * torque
    )
    assert small == DEFAULT_THRESHOLDS["qfrc_actuator"]  # the unit floor


def test_explicit_thresholds_most_specific_first():
    th = {"qpos": 0.3, "qpos/elbow": 0.05, "position_m": 0.01}
    assert threshold_for(th, signal="qpos", kind="qpos", column="elbow") == 0.05
    assert threshold_for(th, signal="qpos", kind="qpos", column="shoulder") == 0.3
    assert threshold_for(th, signal="qpos", kind="position_m", column="cube") == 0.01
    assert threshold_for({}, signal="qpos", kind="rotation_deg", column="cube") == 10.0


def test_cli_threshold_changes_the_divergence_time_and_writes_the_table(tmp_path, capsys):
    argv = ["gap", str(PENDULUM), "--scene", "double_pendulum", "--mode", "inverse"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert (
        main([*argv, "--threshold", "qfrc_actuator/elbow=0.05", "--out", str(tmp_path / "b")]) == 0
    )
    out = capsys.readouterr().out
    assert "qfrc_actuator/elbow" in out and "divergence_time_s" in out  # printed table (1 episode)

    def rows(folder):
        with open(tmp_path / folder / "metrics.csv") as f:
            return {r["quantity"]: r for r in csv.DictReader(f)}

    a, b = rows("a"), rows("b")
    assert float(a["qfrc_actuator/elbow"]["divergence_time_s"]) > 1.0
    assert float(b["qfrc_actuator/elbow"]["divergence_time_s"]) < 0.1
    assert a["qfrc_actuator/shoulder"] == b["qfrc_actuator/shoulder"]
    assert float(a["qfrc_actuator/elbow"]["rmse"]) == pytest.approx(0.130128883)


def test_scene_thresholds_apply_and_the_cli_overrides_them(tmp_path):
    import shutil

    from workbench.paths import scenes_root

    scene = tmp_path / "dp"
    shutil.copytree(scenes_root() / "double_pendulum", scene)
    toml = scene / "scene.toml"
    text = toml.read_text().replace("../../assets", str(assets_root()))
    text = text.replace("[binding]\n", "[binding]\nthresholds = { qfrc_actuator = 0.05 }\n")
    toml.write_text(text)
    from workbench.pipeline import run_gap
    from workbench.replay import ReplaySettings

    common = dict(scene=scene, settings=ReplaySettings("inverse"))
    strict = run_gap(PENDULUM, **common)
    relaxed = run_gap(PENDULUM, thresholds={"qfrc_actuator": 5.0}, **common)
    key = "qfrc_actuator/shoulder/divergence_time_s"
    assert strict.value(key) < 0.1 < 9.0 < relaxed.value(key)
    assert strict.settings["thresholds"]["explicit"] == {"qfrc_actuator": 0.05}


@pytest.mark.parametrize(
    "value, words",
    [
        ("qpos", ["--threshold", "NAME=VALUE", "'qpos'"]),
        ("qpos=abc", ["--threshold", "'qpos=abc'"]),
        ("qpos=-1", ["--threshold", "qpos", "-1"]),
        ("qpos=0", ["--threshold", "qpos", "0"]),
        ("qpos=nan", ["--threshold", "qpos", "nan"]),
        ("=1", ["--threshold", "'=1'"]),
        ("a b=1", ["--threshold", "'a b'"]),
    ],
)
def test_bad_thresholds_exit_2(value, words, tmp_path, capsys):
    argv = ["gap", str(PENDULUM), "--scene", "double_pendulum", "--mode", "inverse"]
    assert main([*argv, "--threshold", value, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "thresholds, words",
    [({"qpos": "big"}, ["thresholds", "qpos", "'big'"]), ([1, 2], ["thresholds", "table"])],
)
def test_bad_scene_thresholds_are_scene_errors(thresholds, words):
    with pytest.raises(SceneError) as err:
        Binding.from_table(
            {"timestep": 0.001, "state_joints": ["a"], "thresholds": thresholds}, "s.toml: binding"
        )
    assert all(w in str(err.value) for w in words)


def test_thresholds_keyword_is_checked():
    from workbench.pipeline import run_gap

    with pytest.raises(SettingsError, match="qpos"):
        run_gap(PENDULUM, scene="double_pendulum", thresholds={"qpos": -0.1})
