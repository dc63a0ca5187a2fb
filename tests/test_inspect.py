"""`workbench inspect` finds the known quirks of the real recordings and each deliberate damage
of a copy of one, with its reason and location."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.cli import main
from workbench.inspect import inspect_episodes
from workbench.io.raw import read_raw
from workbench.paths import assets_root, real_data_root

PENDULUM_CSV = assets_root() / "data" / "double_pendulum" / "sysid_20230629-143339.csv"
PENDULUM_MAP = assets_root() / "mappings" / "double_pendulum.toml"


def _kinds(result) -> dict[str, list]:
    out: dict[str, list] = {}
    for _, flag in result.flags:
        out.setdefault(flag.kind, []).append(flag)
    return out


def _damaged(tmp_path, damage) -> dict[str, list]:
    """Inspect a copy of the bundled pendulum run with `damage(header, rows)` applied."""
    header, *lines = PENDULUM_CSV.read_text().splitlines()
    names = header.split(",")
    rows = np.array([[float(x) for x in line.split(",")] for line in lines])
    rows = damage(names, rows)
    path = tmp_path / "sysid_damaged.csv"
    body = "\n".join(",".join(repr(float(x)) for x in r) for r in rows)
    path.write_text(header + "\n" + body + "\n")
    return _kinds(inspect_episodes(read_raw(path, PENDULUM_MAP)))


def test_the_bundled_pendulum_run_shows_only_its_irregular_dt():
    kinds = _kinds(inspect_episodes(read_raw(PENDULUM_CSV, PENDULUM_MAP)))
    assert set(kinds) == {"irregular_sampling", "dropped_frames"}
    assert "3.512 ms" in kinds["dropped_frames"][0].message


def test_dropped_frames_are_found_where_they_were_dropped(tmp_path):
    kinds = _damaged(tmp_path, lambda n, r: np.delete(r, np.s_[2000:2010], axis=0))
    (flag,) = kinds["dropped_frames"]
    assert flag.samples == 2 + 10  # the run's own two long steps, and the ten removed
    assert "4.002-4.024 s" in flag.message  # where the ten were cut out


def test_a_frozen_segment_is_found_with_its_column_and_time(tmp_path):
    def freeze(names, rows):
        rows[2500:2800, names.index("pos_meas2")] = rows[2500, names.index("pos_meas2")]
        return rows

    kinds = _damaged(tmp_path, freeze)
    (flag,) = kinds["frozen"]
    assert flag.signal == "qpos" and flag.column == "elbow"
    assert flag.samples == 300 and abs(flag.start - 5.0) < 0.01


def test_a_nan_run_is_an_error_with_its_location(tmp_path):
    def hole(names, rows):
        rows[1000:1050, names.index("tau_meas1")] = np.nan
        return rows

    kinds = _damaged(tmp_path, hole)
    (flag,) = kinds["dropout"]
    assert flag.severity == "error" and flag.signal == "qfrc_actuator"
    assert flag.column == "shoulder" and flag.samples == 50 and abs(flag.start - 2.0) < 0.01


def test_a_sign_flipped_velocity_column_is_an_error(tmp_path):
    def flip(names, rows):
        rows[:, names.index("vel_meas1")] *= -1
        return rows

    kinds = _damaged(tmp_path, flip)
    (flag,) = kinds["velocity_sign"]
    assert flag.severity == "error" and flag.column == "shoulder" and "sign flipped" in flag.message


def test_a_velocity_in_degrees_is_a_gain_mismatch(tmp_path):
    def degrees(names, rows):
        rows[:, names.index("vel_meas2")] *= 180 / np.pi
        return rows

    (flag,) = _damaged(tmp_path, degrees)["velocity_mismatch"]
    assert flag.column == "elbow" and "gain 57" in flag.message


def test_joint_limit_and_actuator_range_violations_with_a_scene(tmp_path):
    from workbench import load_scene

    scene = load_scene("panda")
    lo, hi = scene.model.jnt_range[3]  # joint4
    t = np.arange(0, 1, 0.001)
    q = np.zeros((t.size, 7)) + scene.model.jnt_range.mean(axis=1)  # every joint mid-range
    q[100:200, 3] = hi + 0.2
    from workbench.io.raw import RawEpisode, RawSignal

    names = tuple(f"joint{i}" for i in range(1, 8))
    ctrl = np.zeros((t.size, 7))
    ctrl[:, 0] = scene.model.actuator_ctrlrange[0, 1]  # pinned at the bound: saturation
    ep = RawEpisode(
        "synthetic",
        t,
        {
            "qpos": RawSignal(q + 1e-4 * np.sin(50 * t)[:, None], names),
            "ctrl": RawSignal(ctrl, names),
        },
        {},
    )
    kinds = _kinds(inspect_episodes([ep], model=scene.model))
    (limit,) = kinds["joint_limit_violation"]
    assert limit.column == "joint4" and limit.samples == 100 and abs(limit.start - 0.1) < 1e-9
    (sat,) = kinds["actuator_range_saturation"]
    assert sat.column == "joint1"


def test_cli_exit_codes_and_json(tmp_path, capsys):
    out = tmp_path / "inspect.json"
    assert (
        main(["inspect", str(PENDULUM_CSV), "--mapping", str(PENDULUM_MAP), "--json", str(out)])
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc["counts"] == {"episodes": 1, "errors": 0, "warnings": 2}
    assert main(["inspect", str(PENDULUM_CSV), "--mapping", str(PENDULUM_MAP), "--strict"]) == 1
    header, *lines = PENDULUM_CSV.read_text().splitlines()
    bad = tmp_path / "sysid_nan.csv"
    lines[10] = ",".join(["nan" if i == 3 else x for i, x in enumerate(lines[10].split(","))])
    bad.write_text("\n".join([header, *lines]) + "\n")
    capsys.readouterr()
    assert main(["inspect", str(bad), "--mapping", str(PENDULUM_MAP)]) == 1
    assert "dropout" in capsys.readouterr().out
    assert main(["inspect", str(bad)]) == 2  # neither a mapping nor a scene
    assert main(["inspect", str(bad), "--mapping", str(PENDULUM_MAP), "--gap", "windows"]) == 2


@pytest.mark.skipif(
    not (real_data_root() / "panda_excitation").is_dir(), reason="shared Panda log not present"
)
def test_the_panda_log_shows_its_irregular_sampling():
    from workbench.scenes import load_scene

    scene = load_scene("panda")
    raw = read_raw(
        real_data_root() / "panda_excitation", assets_root() / "mappings" / "panda_excitation.toml"
    )
    kinds = _kinds(inspect_episodes(raw, model=scene.model))
    assert "irregular_sampling" in kinds and "dropped_frames" in kinds
    assert "8.81 ms" in kinds["irregular_sampling"][0].message
    assert not any(f.severity == "error" for flags in kinds.values() for f in flags)


def test_gap_outliers_flag_a_toss_replayed_far_from_the_rest(tmp_path):
    """A toss whose recorded velocity is scaled replays far from its recording: a gap outlier."""
    npz = assets_root() / "data" / "cube_toss" / "tosses_000-099.npz"
    arrays = dict(np.load(npz))
    data = arrays["data_scaled"].copy()
    start, end = arrays["offsets"][3], arrays["offsets"][4]
    data[start:end, 7:10] *= 3.0  # toss 3: triple linear velocity at every sample
    arrays["data_scaled"] = data
    copy = tmp_path / "cube"
    copy.mkdir()
    np.savez(copy / npz.name, **arrays)
    from workbench.cli.inspect import gap_outlier_flags
    from workbench.scenes import load_scene

    flags, note = gap_outlier_flags(
        copy,
        assets_root() / "mappings" / "cube_toss.toml",
        load_scene("cube_toss"),
        "windows",
        "0:30",
    )
    assert "toss_003" in flags and "30 episodes" in note


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--json", "."], ["--json", "folder"]),
        (["--episodes", ""], ["episodes", "''"]),
        (["--episodes", "7"], ["episodes", "7"]),
        (["--scene", "no_scene"], ["no_scene"]),
    ],
)
def test_cli_refuses_bad_options(extra, words, capsys):
    code = main(["inspect", str(PENDULUM_CSV), "--mapping", str(PENDULUM_MAP), *extra])
    err = capsys.readouterr().err
    assert code == 2 and all(w in err for w in words), err
