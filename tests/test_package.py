"""Package-level checks: public API, pinned versions that work together, the CLI end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import workbench
from workbench.cli import main
from workbench.paths import assets_root


def test_every_exported_name_resolves():
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None, name


def test_pinned_mujoco_and_dm_control_work_together():
    import mujoco
    from dm_control import mujoco as dm_mujoco

    assert mujoco.__version__.startswith("3.17"), mujoco.__version__
    physics = dm_mujoco.Physics.from_xml_string(
        "<mujoco><worldbody><body><freejoint/><geom size='0.1'/></body></worldbody></mujoco>"
    )
    physics.step()
    assert physics.data.time > 0


def test_cli_scenes_lists_bundled_scenes(capsys):
    assert main(["scenes"]) == 0
    out = capsys.readouterr().out
    for name in ("cube_toss", "double_pendulum", "panda"):
        assert name in out


def test_cli_gap_writes_report_and_plots(tmp_path, capsys):
    out = tmp_path / "gap"
    code = main(
        [
            "gap",
            str(assets_root() / "data" / "cube_toss"),
            "--scene",
            "cube_toss",
            "--mode",
            "windows",
            "--horizons",
            "0.1",
            "--episodes",
            "0:4",
            "--out",
            str(out),
            "--plot-episodes",
            "1",
        ]
    )
    assert code == 0
    report = json.loads((out / "gap.json").read_text())
    assert len(report["episodes"]) == 4
    assert report["aggregate"]["h=0.1s/qpos/cube/position_error_m/mae"]["n"] == 4
    assert sorted(p.name for p in (out / "plots").glob("*.png"))
    assert "h=0.1s/qpos/cube/position_error_m/mae" in capsys.readouterr().out


def test_cli_gap_fails_before_simulating_on_a_mapping_that_does_not_fit(tmp_path, capsys):
    # the pendulum mapping on the cube recordings: rejected while reading, nothing simulated
    code = main(
        [
            "gap",
            str(assets_root() / "data" / "cube_toss" / "tosses_000-099.npz"),
            "--scene",
            "cube_toss",
            "--mapping",
            str(assets_root() / "mappings" / "double_pendulum.toml"),
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "tosses_000-099.npz" in err
    assert not (tmp_path / "x").exists()


def test_cli_gap_rejects_recordings_that_do_not_bind_to_the_scene(tmp_path, capsys):
    # pendulum recordings on the cube scene: the mapping fits the files, the scene does not
    code = main(
        [
            "gap",
            str(assets_root() / "data" / "double_pendulum"),
            "--scene",
            "cube_toss",
            "--mapping",
            str(assets_root() / "mappings" / "double_pendulum.toml"),
            "--out",
            str(tmp_path / "y"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown joint 'shoulder'" in err and "'cube'" in err
    assert not (tmp_path / "y").exists()


def test_cli_gap_unknown_parameter_name_lists_valid(tmp_path, capsys):
    params = tmp_path / "p.toml"
    params.write_text('"geom_friction[cubee][0]" = 0.2\n')
    code = main(
        [
            "gap",
            str(assets_root() / "data" / "cube_toss"),
            "--scene",
            "cube_toss",
            "--episodes",
            "0:2",
            "--params",
            str(params),
            "--out",
            str(tmp_path / "z"),
        ]
    )
    assert code == 2
    assert "'cube'" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["workbench.cli"])
def test_console_module_runs(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "gap" in result.stdout


def test_make_scene_builds_the_pendulum_from_another_parameter_file(tmp_path, capsys):
    import yaml

    from workbench import load_scene

    src = (
        assets_root()
        / "data/double_pendulum/identified_parameters/design_C.1/model_1.0/model_parameters.yml"
    )
    params = yaml.safe_load(src.read_text())
    params.update(cf1=0.0, cf2=0.05, m2=0.7)
    other = tmp_path / "other.yml"
    other.write_text(yaml.safe_dump(params))
    out = tmp_path / "dp_other"
    assert (
        main(["make-scene", "double_pendulum", "--parameters", str(other), "--out", str(out)]) == 0
    )
    scene = load_scene(out)
    assert scene.model.dof_frictionloss.tolist() == [0.0, 0.05]
    assert scene.model.body_mass[2] == 0.7
    bad = tmp_path / "bad.yml"
    bad.write_text("m1: 1.0\n")
    assert (
        main(
            [
                "make-scene",
                "double_pendulum",
                "--parameters",
                str(bad),
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 2
    )
    assert "missing" in capsys.readouterr().err


def test_run_gap_takes_measurement_and_scale_parameters(tmp_path):
    from workbench.errors import ParameterError
    from workbench.pipeline import run_gap

    common = dict(
        scene="double_pendulum",
        settings=workbench.ReplaySettings("inverse"),
    )
    data = assets_root() / "data" / "double_pendulum"
    base = run_gap(data, **common)
    shifted = run_gap(
        data,
        params={"offset:qfrc_actuator[shoulder]": 0.05, "scale:body_mass[link2]": 1.0},
        **common,
    )
    key = "qfrc_actuator/shoulder/mae"
    assert shifted.aggregate[key]["mean"] != base.aggregate[key]["mean"]
    assert shifted.settings["params"]["offset:qfrc_actuator[shoulder]"] == 0.05
    with pytest.raises(ParameterError, match="expected 'delay:<signal>'"):
        run_gap(data, params={"offset:qfrc_actuator": 0.01}, **common)  # no column


def test_run_gap_streams_episodes_in_chunks_with_the_same_results(tmp_path):
    from workbench.pipeline import run_gap

    data = assets_root() / "data" / "cube_toss"
    settings = workbench.ReplaySettings("windows", horizons=(0.1,))
    whole = run_gap(data, scene="cube_toss", settings=settings, select="0:8")
    calls = []
    streamed = run_gap(
        data,
        scene="cube_toss",
        settings=settings,
        select="0:8",
        out=tmp_path / "g",
        chunk_episodes=3,
        plot_traces=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert streamed.episodes == whole.episodes and streamed.aggregate == whole.aggregate
    header, *lines = (tmp_path / "g" / "episodes.jsonl").read_text().splitlines()
    assert json.loads(header)["run"]["episodes"] == "0:8"
    assert [json.loads(line)["id"] for line in lines] == [e["id"] for e in whole.episodes]
    assert calls[-1] == (8, 8) and all(
        a <= b for (a, _), (b, _) in zip(calls, calls[1:], strict=False)
    )
    assert (tmp_path / "g" / "plots" / "error_over_time_qpos.png").is_file()
    with pytest.raises(ValueError, match="chunk_episodes: expected >= 1"):
        run_gap(data, scene="cube_toss", chunk_episodes=0)


def test_metric_histogram_of_nearly_constant_values():
    from workbench.metrics.gap import GapReport
    from workbench.plots import metric_histogram

    values = [0.07, 0.07 + 1e-17, 0.07]
    episodes = [{"id": str(i), "metrics": {"k": v}} for i, v in enumerate(values)]
    fig = metric_histogram(GapReport("s", "open_loop", {}, episodes, {}), "k")
    assert fig.axes[0].patches  # one bar, no error


def test_run_gap_resumes_after_a_crash_without_duplicates(tmp_path):
    from workbench.errors import WorkbenchError
    from workbench.pipeline import run_gap

    data, out = assets_root() / "data" / "cube_toss", tmp_path / "g"
    settings = workbench.ReplaySettings("open_loop")
    kwargs = dict(scene="cube_toss", settings=settings, select="0:8", out=out)
    whole = run_gap(data, **kwargs)
    log = out / "episodes.jsonl"
    header, *lines = log.read_text().splitlines()
    log.write_text("\n".join([header, *lines[:3], lines[3][:25]]))  # a crash mid-line
    calls = []
    resumed = run_gap(
        data, resume=True, progress=lambda d, t: calls.append((d, t)), chunk_episodes=2, **kwargs
    )
    assert resumed.episodes == whole.episodes
    ids = [json.loads(line)["id"] for line in log.read_text().splitlines()[1:]]
    assert sorted(ids) == sorted(e["id"] for e in whole.episodes)  # each exactly once
    assert min(d for d, _ in calls) >= 3  # the 3 finished episodes were not replayed
    with pytest.raises(WorkbenchError, match=r"other settings \(differing: \['params'\]\)"):
        run_gap(data, resume=True, params={"pair_friction[cube_table][0]": 0.2}, **kwargs)


def test_resume_reruns_episodes_whose_recording_changed(tmp_path, monkeypatch):
    """Results are keyed on the episodes' content: a changed recording is replayed again on resume,
    unchanged ones are kept, and the report equals a fresh run on the new data."""
    import shutil

    import numpy as np

    from workbench.pipeline import run_gap

    data = tmp_path / "data"
    shutil.copytree(assets_root() / "data" / "cube_toss", data)
    out = tmp_path / "g"
    kwargs = dict(scene="cube_toss", select="0:4", settings=workbench.ReplaySettings("open_loop"))
    run_gap(data, out=out, **kwargs)
    npz = next(data.glob("*.npz"))
    arrays = dict(np.load(npz))
    key = next(k for k in arrays if arrays[k].ndim == 2 and arrays[k].dtype.kind == "f")
    arrays[key][1, :3] += 0.01  # move toss 0's second sample by 1 cm
    np.savez(npz, **arrays)
    from workbench import pipeline

    replayed = []

    def counting_replay(scene, episodes, *args, **kw):
        replayed.append([ep.id for ep in episodes])
        return workbench.replay(scene, episodes, *args, **kw)

    monkeypatch.setattr(pipeline, "replay", counting_replay)
    resumed = run_gap(data, out=out, resume=True, **kwargs)
    first = resumed.episodes[0]["id"]
    assert replayed[0] == [first]  # the three unchanged tosses were kept (not re-scored)
    assert replayed[1:] == [[e["id"] for e in resumed.episodes[1:]]]  # replayed for plots only
    monkeypatch.undo()
    fresh = run_gap(data, **kwargs)
    assert resumed.episodes == fresh.episodes


def test_resumed_run_plots_the_same_episodes_as_a_fresh_run(tmp_path):
    from workbench.pipeline import run_gap

    data = assets_root() / "data" / "cube_toss"
    kwargs = dict(scene="cube_toss", select="0:5", settings=workbench.ReplaySettings("open_loop"))
    run_gap(data, out=tmp_path / "fresh", **kwargs)
    out = tmp_path / "resumed"
    run_gap(data, out=out, **kwargs)
    log = out / "episodes.jsonl"
    header, *lines = log.read_text().splitlines()
    log.write_text("\n".join([header, *lines[3:]]) + "\n")  # the first three are lost
    run_gap(data, out=out, resume=True, **kwargs)
    fresh = sorted(p.name for p in (tmp_path / "fresh" / "plots").iterdir())
    assert sorted(p.name for p in (out / "plots").iterdir()) == fresh
    assert any(name.startswith("overlay_") for name in fresh)


# --- import workbench is light and leaves matplotlib alone ----------------------------------------

_ALL_SUBMODULES = """
import importlib, pkgutil, workbench
for info in pkgutil.walk_packages(workbench.__path__, "workbench."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
"""


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    import os

    clean = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}
    )


def test_import_workbench_loads_no_heavy_module():
    result = _python(
        "import sys, workbench\n"
        "heavy = ('matplotlib', 'scipy', 'mujoco', 'dm_control')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_module_imports_pyplot_or_sets_the_backend(tmp_path):
    # every submodule imported and a figure drawn and saved: pyplot never loads, and the backend
    # matplotlib would pick (unset here: its auto-selection) is the same before and after
    png = tmp_path / "h.png"
    code = (
        "import sys, matplotlib\n"
        "before = dict.__getitem__(matplotlib.rcParams, 'backend')\n"
        + _ALL_SUBMODULES
        + "from workbench.metrics.gap import GapReport\n"
        "from workbench.plots import metric_histogram\n"
        "eps = [{'id': str(i), 'metrics': {'k': float(i)}} for i in range(5)]\n"
        f"metric_histogram(GapReport('s', 'open_loop', {{}}, eps, {{}}), 'k').savefig({str(png)!r})\n"
        "after = dict.__getitem__(matplotlib.rcParams, 'backend')\n"
        "print('matplotlib.pyplot' in sys.modules, before == after, repr(after))"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["False", "True"], result.stdout
    assert png.stat().st_size > 1000


def test_lazy_names_resolve_like_eager_imports():
    from workbench.calibrate import fit
    from workbench.replay import run

    # the import system sets workbench.replay / .calibrate to the subpackages; the public names
    # stay the functions
    assert workbench.replay is run.replay and workbench.calibrate is fit.calibrate
    assert set(workbench.__all__) <= set(dir(workbench))
    with pytest.raises(AttributeError, match="no attribute 'replay_all'"):
        _ = workbench.replay_all


def test_demo_runs_on_the_bundled_data_and_writes_one_page(tmp_path, capsys):
    """The README's first command: every gap job, the fidelity gate, and the HTML page."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    jobs = sorted(p.parent.name for p in out.glob("*/gap.json"))
    assert jobs == [
        "cube_toss_open_loop",
        "cube_toss_windows",
        "double_pendulum_windows",
        "double_pendulum_windows_no_friction",
        "kinova_push_open_loop",
    ]
    assert "== fidelity gate" in text and "REGRESSED" not in text
    html = (out / "report.html").read_text()
    assert html.count("<h2>Gap:") == 5 and "Fidelity check" in html
