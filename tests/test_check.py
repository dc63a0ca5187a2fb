"""`workbench check`: the fidelity gate exits 0 when metrics hold, 1 on a regression, 2 on a broken
suite; JUnit XML and Markdown for CI systems."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workbench.check import load_suite
from workbench.cli import main
from workbench.paths import assets_root, scenes_root

SUITE = """
name = "mini"
[tolerance]
abs = 1e-6
rel = 0.02

[[cases]]
name = "cube"
scene = "{scene}"
recordings = ["{data}"]
mapping = "{mapping}"
mode = "open_loop"
episodes = "0:6"
metrics = [
  "qpos/cube/position_error_m/rmse",
  {{ key = "qpos/cube/rotation_error_deg/rmse", stat = "p90" }},
  "qpos/cube/position_error_m/divergence_time_s",
]
"""


@pytest.fixture()
def gate(tmp_path):
    """A scene copy whose friction a test can change, a suite over it, and its baseline."""
    scene = tmp_path / "cube_scene"
    shutil.copytree(scenes_root() / "cube_toss", scene)
    suite = tmp_path / "suite.toml"
    suite.write_text(
        SUITE.format(
            scene=scene.as_posix(),
            data=(assets_root() / "data" / "cube_toss").as_posix(),
            mapping=(assets_root() / "mappings" / "cube_toss.toml").as_posix(),
        )
    )
    baseline = tmp_path / "baseline.json"
    argv = ["check", "--suite", str(suite), "--baseline", str(baseline)]
    assert main([*argv, "--update-baseline"]) == 0
    return scene, argv, baseline


def _set_friction(scene: Path, old: str, new: str) -> None:
    xml = scene / "cube_toss.xml"
    text = xml.read_text()
    assert old in text
    xml.write_text(text.replace(old, new))


def test_a_changed_friction_fails_the_gate_and_restoring_it_passes(gate, tmp_path, capsys):
    scene, argv, baseline = gate
    capsys.readouterr()
    _set_friction(scene, 'friction="0.18 0.18 0.005', 'friction="0.6 0.6 0.005')
    junit, md = tmp_path / "junit.xml", tmp_path / "check.md"
    code = main([*argv, "--junit", str(junit), "--markdown", str(md)])
    captured = capsys.readouterr()
    assert code == 1
    base = json.loads(baseline.read_text())["cases"]["cube"]
    rmse = base["qpos/cube/position_error_m/rmse"]["median"]
    line = next(
        x for x in captured.err.splitlines() if "qpos/cube/position_error_m/rmse [median]" in x
    )
    assert line.startswith("REGRESSION") and f"baseline {rmse:.6g}" in line
    assert "new " in line and "tolerance +-" in line
    assert "REGRESSED" in captured.out  # the table marks it
    root = ET.parse(junit).getroot()
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert root.tag == "testsuites" and int(suite.get("tests")) == len(cases) == 3
    assert int(suite.get("failures")) == len(failures) >= 1
    assert all(c.get("classname") == "workbench.check.cube" and c.get("name") for c in cases)
    assert "baseline" in failures[0].find("failure").get("message")
    assert "regressed" in md.read_text()
    _set_friction(scene, 'friction="0.6 0.6 0.005', 'friction="0.18 0.18 0.005')
    assert main(argv) == 0
    assert "3 of 3 metrics hold" in capsys.readouterr().out


def test_an_improvement_beyond_tolerance_passes_and_says_so(gate, capsys):
    _, argv, baseline = gate
    doc = json.loads(baseline.read_text())
    doc["cases"]["cube"]["qpos/cube/position_error_m/rmse"]["median"] *= 2  # now much better
    baseline.write_text(json.dumps(doc))
    assert main(argv) == 0
    assert "1 metrics improved" in capsys.readouterr().out


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda s: s.replace('mode = "open_loop"', 'mode = "open_lop"'), ["mode", "open_lop"]),
        (lambda s: s.replace("[tolerance]", "[tolerance]\nrelative = 0.1"), ["relative"]),
        (lambda s: s.replace('stat = "p90"', 'stat = "p99"'), ["stat", "p99"]),
        (lambda s: s.replace("rel = 0.02", "rel = -0.02"), ["rel", "-0.02"]),
        (lambda s: s.replace('/rmse",\n', '/rmsee",\n', 1), ["rmsee", "keys are"]),
        (lambda s: s.replace('name = "cube"', 'nmae = "cube"'), ["nmae"]),
        (lambda s: s.replace("[[cases]]", "[[case]]"), ["case"]),
        (lambda s: s + "\n[[cases]]\nname = 'x'\n", ["missing keys"]),
    ],
)
def test_a_broken_suite_exits_2_naming_the_field(gate, tmp_path, capsys, edit, words):
    _, argv, _ = gate
    suite = Path(argv[2])
    suite.write_text(edit(suite.read_text()))
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize(
    "content, words",
    [
        (None, ["--baseline", "--update-baseline"]),
        ("[1, 2]", ["expected an object"]),
        ('{"cases": {"cube": {"qpos/cube/position_error_m/rmse": {"median": "x"}}}}', ["'x'"]),
        ('{"cases": {}}', ["no baseline for 3 metrics", "--update-baseline"]),
        ("{not json", ["invalid JSON"]),
    ],
)
def test_a_broken_baseline_exits_2(gate, capsys, content, words):
    _, argv, baseline = gate
    if content is None:
        baseline.unlink()
    else:
        baseline.write_text(content)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)


def test_the_shipped_suite_loads_and_its_baseline_covers_every_metric():
    suite = load_suite(assets_root() / "fidelity" / "suite.toml")
    doc = json.loads((assets_root() / "fidelity" / "baseline.json").read_text())
    for case in suite.cases:
        for m in case.metrics:
            assert isinstance(doc["cases"][case.name][m.key][m.stat], float)
        assert all(Path(r).exists() for r in case.recordings)
