"""ray_jobs/validate.py: the batch gap through the executor equals `run_gap` in one process."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from workbench import GapReport, ReplaySettings
from workbench.paths import assets_root
from workbench.pipeline import run_gap

SCRIPT = Path(__file__).resolve().parents[1] / "ray_jobs" / "validate.py"


def _main():
    spec = importlib.util.spec_from_file_location("validate_job", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_sharded_gap_equals_one_process_gap(tmp_path, capsys):
    data = str(assets_root() / "data" / "cube_toss")
    args = [data, "--scene", "cube_toss", "--episodes", "0:12", "--out", str(tmp_path)]
    assert _main()([*args, "--shard-size", "5", "--backend", "serial"]) == 0
    assert "12 episodes (12 included, 0 diverged) on serial" in capsys.readouterr().out
    merged = GapReport.load(tmp_path / "gap.json")
    alone = run_gap(data, scene="cube_toss", select="0:12", settings=ReplaySettings(threads=1))
    assert merged.aggregate == alone.aggregate
    assert [e["id"] for e in merged.episodes] == [e["id"] for e in alone.episodes]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["shard"] for s in manifest["shards"]] == [
        "e00000-v000000-000005",
        "e00000-v000005-000010",
        "e00000-v000010-000012",
    ]
    assert _main()([*args, "--shard-size", "5", "--backend", "serial"]) == 0  # rerun: skips
    assert "3 shards were already finished" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--scene", "nope"], "scene"),
        (["--scene", "cube_toss", "--params", "missing.toml"], "missing.toml"),
        (["--scene", "cube_toss", "--shard-size", "0"], "--shard-size"),
        (["--scene", "cube_toss", "--mode", "sideways"], "--mode"),
    ],
)
def test_bad_inputs_exit_2_and_write_nothing(tmp_path, capsys, extra, match):
    data = str(assets_root() / "data" / "cube_toss")
    code = _main()([data, "--episodes", "0:2", "--out", str(tmp_path / "out"), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and match in err
    assert not (tmp_path / "out").exists()
