"""Hostile inputs through the command line, as a user types them.

Every case must exit 2 with `error: ...` naming the file or option, the field, the expected and the
actual value; print no traceback; and leave an earlier run's `gap.json` and `episodes.jsonl`
byte-identical (the run below writes them first, every gap case then targets the same folder).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.paths import assets_root

CUBE = assets_root() / "data" / "cube_toss"
PENDULUM = assets_root() / "data" / "double_pendulum"
CUBE_MAP = assets_root() / "mappings" / "cube_toss.toml"


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> Path:
    """A finished gap run whose files every refused run must leave alone."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    argv = ["gap", str(CUBE), "--scene", "cube_toss", "--episodes", "0:3", "--out", str(out)]
    assert main([*argv, "--mode", "open_loop"]) == 0
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _mapping_with(tmp_path: Path, old: str, new: str) -> str:
    text = CUBE_MAP.read_text()
    assert old in text, old
    return _file(tmp_path, "bad_map.toml", text.replace(old, new, 1))


# (case id, extra gap arguments built from tmp_path, words the message must contain)
GAP_CASES = [
    ("stride-zero", lambda t: ["--mode", "windows", "--stride", "0"], ["--stride", "0"]),
    ("stride-negative", lambda t: ["--mode", "windows", "--stride", "-1"], ["--stride", "-1"]),
    ("stride-nan", lambda t: ["--mode", "windows", "--stride", "nan"], ["--stride", "nan"]),
    ("threads-negative", lambda t: ["--threads", "-3"], ["--threads", "-3"]),
    ("threads-zero", lambda t: ["--threads", "0"], ["--threads", "0"]),
    ("horizons-nan", lambda t: ["--mode", "windows", "--horizons", "nan"], ["--horizons", "nan"]),
    ("horizons-negative", lambda t: ["--mode", "windows", "--horizons", "-0.1"], ["--horizons"]),
    ("horizons-empty", lambda t: ["--mode", "windows", "--horizons", ","], ["--horizons"]),
    ("smooth-negative", lambda t: ["--mode", "inverse", "--smooth", "-1"], ["--smooth", "-1"]),
    ("plot-episodes-negative", lambda t: ["--plot-episodes", "-1"], ["plot_episodes", "-1"]),
    ("episodes-empty", lambda t: ["--episodes", ""], ["episodes", "''"]),
    ("episodes-blank", lambda t: ["--episodes", "  "], ["episodes"]),
    ("episodes-syntax", lambda t: ["--episodes", "a:b"], ["episodes", "'a:b'"]),
    ("episodes-out-of-range", lambda t: ["--episodes", "500"], ["episodes", "500", "100"]),
    (
        "params-unknown-name",
        lambda t: ["--params", _file(t, "p.toml", '"dof_damping[nope]" = 0.1\n')],
        ["nope"],
    ),
    (
        "params-nan",
        lambda t: ["--params", _file(t, "p.json", '{"pair_friction[cube_table][0]": NaN}')],
        ["pair_friction[cube_table][0]", "nan"],
    ),
    (
        "params-bool",
        lambda t: ["--params", _file(t, "p.toml", '"pair_friction[cube_table][0]" = true\n')],
        ["pair_friction[cube_table][0]", "True"],
    ),
    (
        "params-negative-friction",
        lambda t: ["--params", _file(t, "p.toml", '"pair_friction[cube_table][0]" = -1\n')],
        ["pair_friction[cube_table][0]", "-1"],
    ),
    (
        "params-timestep-zero",
        lambda t: ["--params", _file(t, "p.toml", '"opt.timestep" = 0\n')],
        ["opt.timestep", "0"],
    ),
    (
        "params-json-list",
        lambda t: ["--params", _file(t, "p.json", '[["opt.timestep", 0.001]]')],
        ["p.json", "list"],
    ),
    (
        "params-string-value",
        lambda t: ["--params", _file(t, "p.toml", '"opt.timestep" = "0.001"\n')],
        ["p.toml", "opt.timestep", "'0.001'"],
    ),
    (
        "params-missing-file",
        lambda t: ["--params", str(t / "absent.toml")],
        ["absent.toml"],
    ),
    (
        "params-signal-unknown",
        lambda t: ["--params", _file(t, "p.toml", '"delay:qacc" = 0.01\n')],
        ["delay:qacc", "qacc"],
    ),
    (
        "mapping-time-typo",
        lambda t: ["--mapping", _mapping_with(t, "[time]\n", "[time]\ncolum = 't'\n")],
        ["bad_map.toml", "colum"],
    ),
    (
        "mapping-split-typo",
        lambda t: ["--mapping", _mapping_with(t, "[split]\n", "[split]\noffset_from = 'x'\n")],
        ["bad_map.toml", "offset_from"],
    ),
    (
        "mapping-unknown-signal",
        lambda t: ["--mapping", _mapping_with(t, "[signals.qvel]", "[signals.qvle]")],
        ["bad_map.toml", "qvle"],
    ),
    (
        "mapping-missing-file",
        lambda t: ["--mapping", str(t / "absent.toml")],
        ["absent.toml"],
    ),
    ("scene-unknown", lambda t: ["--scene", "no_such_scene"], ["no_such_scene"]),
    (
        "resume-other-settings",
        lambda t: ["--resume", "--params", _file(t, "p.toml", '"opt.timestep" = 0.002\n')],
        ["--resume", "params"],
    ),
]


@pytest.mark.parametrize("case, extra, words", GAP_CASES, ids=[c[0] for c in GAP_CASES])
def test_gap_refuses_with_exit_2_and_leaves_earlier_results(
    case, extra, words, earlier_run, tmp_path, capsys
):
    before = _snapshot(earlier_run)
    argv = ["gap", str(CUBE), "--scene", "cube_toss", "--episodes", "0:3", "--mode", "open_loop"]
    extra_args = extra(tmp_path)
    if "--scene" in extra_args:  # the case replaces the scene
        i = argv.index("--scene")
        del argv[i : i + 2]
    if "--episodes" in extra_args:
        i = argv.index("--episodes")
        del argv[i : i + 2]
    code = main([*argv, *extra_args, "--out", str(earlier_run)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert _snapshot(earlier_run) == before


def test_gap_output_path_that_is_a_file_is_refused_before_running(tmp_path, capsys):
    target = tmp_path / "gap.json"
    target.write_text("{}")
    code = main(["gap", str(CUBE), "--scene", "cube_toss", "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "existing file" in err and str(target) in err
    assert target.read_text() == "{}"


def test_gap_output_folder_on_a_read_only_file_system_is_refused(capsys):
    # root ignores permission bits, so use a file system that refuses new files whoever asks
    code = main(["gap", str(CUBE), "--scene", "cube_toss", "--out", "/proc/workbench_out"])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "writable" in err


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("opt.integrator", "99", ["opt.integrator", "99"]),
        ("jnt_type[elbow]", "0", ["jnt_type"]),
    ],
)
def test_params_that_crashed_mujoco_exit_2_in_a_fresh_process(name, value, words, tmp_path):
    """These segfaulted once: run them in a child process so a regression cannot take pytest down."""
    params = tmp_path / "p.toml"
    params.write_text(f'"{name}" = {value}\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench.cli",
            "gap",
            str(PENDULUM),
            "--scene",
            "double_pendulum",
            "--mode",
            "windows",
            "--horizons",
            "0.1",
            "--params",
            str(params),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and str(params) in result.stderr
    for word in words:
        assert word in result.stderr
    assert not (tmp_path / "o").exists()


def _calibrate_argv(out: Path, *extra: str) -> list[str]:
    return [
        "calibrate",
        str(PENDULUM),
        "--scene",
        "double_pendulum",
        "--space",
        str(Path(__file__).parents[1] / "scenes/double_pendulum/calibration_space.toml"),
        "--time-split",
        "0.5",
        "--out",
        str(out),
        *extra,
    ]


CALIBRATE_CASES = [
    ("horizon-zero", ["--horizon", "0"], ["--horizon", "0"]),
    ("stride-negative", ["--stride", "-0.1"], ["--stride", "-0.1"]),
    ("max-iter-zero", ["--max-iter", "0"], ["--max-iter", "0"]),
    ("threads-negative", ["--threads", "-3"], ["--threads", "-3"]),
    ("horizons-nan", ["--horizons", "nan"], ["--horizons", "nan"]),
    ("spread-negative", ["--spread", "-5"], ["--spread", "-5"]),
    ("popsize-one", ["--popsize", "1"], ["--popsize", "1"]),
    ("time-split-above-one", ["--time-split", "1.5"], ["--time-split", "1.5"]),
    ("time-split-with-test", ["--test", "0"], ["--test", "--time-split"]),
]


@pytest.mark.parametrize("case, extra, words", CALIBRATE_CASES, ids=[c[0] for c in CALIBRATE_CASES])
def test_calibrate_refuses_settings_before_fitting(case, extra, words, tmp_path, capsys):
    out = tmp_path / "cal"
    code = main(_calibrate_argv(out, *extra))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()


def test_calibrate_refuses_an_output_file_before_fitting(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("keep")
    code = main(_calibrate_argv(target, "--max-iter", "1"))
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "existing file" in err
    assert target.read_text() == "keep"


def test_calibrate_refuses_a_space_with_a_word_for_a_bound(tmp_path, capsys):
    space = tmp_path / "space.toml"
    space.write_text('[parameters."dof_damping[shoulder]"]\nlower = "zero"\nupper = 0.1\n')
    argv = _calibrate_argv(tmp_path / "cal")
    argv[argv.index("--space") + 1] = str(space)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert str(space) in err and "lower" in err and "'zero'" in err


def test_make_scene_refuses_a_template_without_a_parameter_file(tmp_path, capsys):
    out = tmp_path / "s"
    panda_xml = assets_root() / "franka_emika_panda" / "panda_nohand.xml"
    code = main(["make-scene", "panda", "--parameters", str(panda_xml), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "'panda'" in err and "parameter file" in err
    assert not out.exists()


def test_make_scene_with_a_wrong_parameter_file_leaves_no_half_scene(tmp_path, capsys):
    out = tmp_path / "s"
    panda_xml = assets_root() / "franka_emika_panda" / "panda_nohand.xml"
    code = main(
        ["make-scene", "double_pendulum", "--parameters", str(panda_xml), "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "panda_nohand.xml" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_make_scene_refuses_a_folder_that_holds_files(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    params = (
        assets_root()
        / "data/double_pendulum/identified_parameters/design_C.1/model_1.0/model_parameters.yml"
    )
    code = main(["make-scene", "double_pendulum", "--parameters", str(params), "--out", str(out)])
    assert code == 2 and "empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_a_failed_run_leaves_earlier_results_and_a_resumable_partial_log(tmp_path, monkeypatch):
    """A run that fails mid-way (here: the plotting step raises) keeps the earlier gap.json and
    episodes.jsonl byte-identical; the finished episodes are in the partial log for --resume."""
    from workbench import pipeline

    out = tmp_path / "g"
    argv = ["gap", str(CUBE), "--scene", "cube_toss", "--episodes", "0:4", "--out", str(out)]
    assert main(argv) == 0
    before = _snapshot(out)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while plotting")

    monkeypatch.setattr(pipeline, "write_plots", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        main([*argv[:-2], "--episodes", "0:6", "--out", str(out)])
    after = _snapshot(out)
    partial = after.pop("episodes.jsonl.partial")
    assert after == before
    ids = [json.loads(line)["id"] for line in partial.decode().splitlines()[1:]]
    assert len(ids) == 6 == len(set(ids))
