"""A rope recording (markers along a cable, its two ends moved by hands) replayed on the shared
path: `workbench gap <csv> --scene cable --mode open_loop` drives the cable's mocap ends from the
recorded end positions and compares the interior markers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from workbench.cli import main
from workbench.deformables import CableSetup, synthetic_rope_recording
from workbench.paths import assets_root
from workbench.scenes import load_scene

MAP = assets_root() / "mappings" / "rope_markers.toml"
NOISE = 1e-3


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Two synthetic recordings: the scene's own bend (1e7 Pa) and a 10x softer rope."""
    folder = tmp_path_factory.mktemp("rope")
    setup = CableSetup.from_scene(load_scene("cable"))
    for name, bend in (("rope_true.csv", 1e7), ("rope_soft.csv", 1e6)):
        rec = synthetic_rope_recording(setup, bend=bend, damping=0.02, seconds=0.8, noise_m=NOISE)
        rec.write_csv(folder / name)
    return folder


def test_gap_on_a_rope_recording_is_at_the_noise_level(recordings, tmp_path, capsys):
    out = tmp_path / "gap"
    argv = ["gap", str(recordings / "rope_true.csv"), "--scene", "cable", "--mapping", str(MAP)]
    assert main([*argv, "--mode", "open_loop", "--out", str(out), "--plot-episodes", "0"]) == 0
    report = json.loads((out / "gap.json").read_text())
    (ep,) = report["episodes"]
    rms = {
        k.split("/")[0]: v for k, v in ep["metrics"].items() if k.endswith("position_error_m/rmse")
    }
    assert (
        len(rms) == 7
    )  # every interior marker, nothing else (the rope's rest state is not scored)
    assert all(k.startswith("marker:rope_") for k in ep["metrics"])
    # isotropic noise of 1 mm per axis: the 3-D error's RMS is sqrt(3) mm
    for marker, value in rms.items():
        assert value == pytest.approx(np.sqrt(3) * NOISE, rel=0.15), (marker, value)
    soft = tmp_path / "soft"
    argv[1] = str(recordings / "rope_soft.csv")
    assert main([*argv, "--mode", "open_loop", "--out", str(soft), "--plot-episodes", "0"]) == 0
    ep = json.loads((soft / "gap.json").read_text())["episodes"][0]
    worst = max(v for k, v in ep["metrics"].items() if k.endswith("position_error_m/rmse"))
    assert worst > 3 * np.sqrt(3) * NOISE  # a rope of another stiffness is far off


def test_rope_replay_refuses_modes_without_a_recorded_state(recordings, tmp_path, capsys):
    out = tmp_path / "never"
    argv = ["gap", str(recordings / "rope_true.csv"), "--scene", "cable", "--mapping", str(MAP)]
    assert main([*argv, "--mode", "windows", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--mode" in err and "records no state" in err and "'open_loop'" in err
    assert not out.exists()
    bad_map = tmp_path / "no_end.toml"
    blocks = MAP.read_text().split("\n\n")  # drop the right end's track from the mapping
    bad_map.write_text("\n\n".join(b for b in blocks if "body_pose:right_end" not in b))
    assert (
        main(
            [
                "gap",
                str(recordings / "rope_true.csv"),
                "--scene",
                "cable",
                "--mapping",
                str(bad_map),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "driven body 'right_end'" in err and "marker:right_end" in err
    assert not out.exists()
