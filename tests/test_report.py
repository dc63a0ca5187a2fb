"""`workbench report`: one self-contained HTML page from gap, check and calibration results."""

from __future__ import annotations

import json
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.paths import assets_root


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    data = assets_root() / "data" / "cube_toss"
    argv = ["gap", str(data), "--scene", "cube_toss", "--mode", "windows", "--episodes", "0:6"]
    assert main([*argv, "--horizons", "0.1,0.25", "--out", str(out / "gap")]) == 0
    check = {
        "suite": "mini",
        "outcomes": [
            {
                "case": "c",
                "metric": "m [median]",
                "key": "m",
                "stat": "median",
                "baseline": 1.0,
                "value": 2.0,
                "tolerance": 0.02,
                "status": "regressed",
                "message": "c: m",
            },
        ],
    }
    (out / "check.json").write_text(json.dumps(check))
    return out


def test_report_embeds_every_plot_and_the_tables(results, tmp_path):
    html = tmp_path / "r.html"
    gap = results / "gap" / "gap.json"
    assert main(["report", str(gap), str(results / "check.json"), "--out", str(html)]) == 0
    parser = _Collect()
    parser.feed(html.read_text())
    images = [a["src"] for t, a in parser.tags if t == "img"]
    plots = list((results / "gap" / "plots").glob("*.png"))
    curves = 2  # error vs horizon for the cube's position and rotation
    assert len(images) >= len(plots) + curves
    assert all(src.startswith("data:image/png;base64,") for src in images)  # self-contained
    assert not [a for t, a in parser.tags if t in ("script", "link")]
    text = html.read_text()
    assert "scene cube_toss, mode windows, 6 episodes" in text
    assert "1 regressions" in text and 'class="bad"' in text


def test_report_of_a_calibration_folder_reads_both_files(tmp_path):
    space = Path(__file__).parents[1] / "scenes" / "double_pendulum" / "calibration_space.toml"
    cal = tmp_path / "cal"
    argv = [
        "calibrate",
        str(assets_root() / "data" / "double_pendulum"),
        "--scene",
        "double_pendulum",
        "--space",
        str(space),
        "--time-split",
        "0.5",
        "--max-iter",
        "1",
    ]
    assert main([*argv, "--out", str(cal)]) == 0
    html = tmp_path / "cal.html"
    assert main(["report", str(cal / "report.json"), "--out", str(html)]) == 0
    text = html.read_text()
    assert "Parameters" in text and "dof_damping[shoulder]" in text and "Held out" in text


@pytest.mark.parametrize(
    "content, words",
    [
        ("[1]", ["expected a JSON object"]),
        ('{"x": 1}', ["expected a gap.json", "['x']"]),
        ("{bad", ["invalid JSON"]),
        (None, ["expected an existing JSON file"]),
    ],
)
def test_report_refuses_what_it_cannot_read(tmp_path, capsys, content, words):
    src = tmp_path / "in.json"
    if content is not None:
        src.write_text(content)
    out = tmp_path / "r.html"
    assert main(["report", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words) and str(src) in err
    assert not out.exists()


def test_report_output_that_is_a_folder_is_refused(results, tmp_path, capsys):
    assert main(["report", str(results / "check.json"), "--out", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (apt)")
def test_report_renders_in_headless_chromium_without_console_errors(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "browser"))
    import render_report

    html = render_report.build(tmp_path)
    errors = render_report.render(html, tmp_path / "report.png")
    assert errors == [] and (tmp_path / "report.png").stat().st_size > 10_000
