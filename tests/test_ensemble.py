"""Ensemble scores (against brute force and calibrated synthetic ensembles), ensemble replays,
sweeps, and the `ensemble` / `sweep` commands (hostile inputs exit 2 and write nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.cli import main
from workbench.io import load_episodes
from workbench.metrics.ensemble import centrality, coverage, energy_score, score_metric
from workbench.metrics.gap import gap_report
from workbench.paths import assets_root
from workbench.protocols import prepare_toss
from workbench.randomize import RandomizationSpec
from workbench.randomize.ensemble import run_ensemble
from workbench.randomize.sweep import Axis, run_sweep
from workbench.replay import ReplaySettings, replay
from workbench.scenes import load_scene

A = assets_root()
SPEC = {
    "parameters": {
        "pair_friction[cube_table][0]": {
            "distribution": "truncated_normal",
            "mean": 0.2,
            "std": 0.05,
            "lower": 0.1,
            "upper": 0.4,
        }
    },
    "initial_state": {"qvel/cube[0]": {"distribution": "normal", "mean": 0.0, "std": 0.02}},
}


@pytest.fixture(scope="module")
def tosses():
    eps = load_episodes(A / "data/cube_toss", A / "mappings/cube_toss.toml", select="0:6")
    return load_scene("cube_toss"), [prepare_toss(e) for e in eps]


def test_energy_score_matches_brute_force():
    rng = np.random.default_rng(0)
    for d in (1, 3):
        x, y = rng.normal(size=(40, d)), rng.normal(size=d)
        brute = np.mean([np.linalg.norm(a - y) for a in x]) - 0.5 * np.mean(
            [np.linalg.norm(a - b) for a in x for b in x]
        )
        assert energy_score(x, y) == pytest.approx(brute, rel=1e-12)
    assert energy_score(np.array([[1.0, 2.0]]), np.array([4.0, 6.0])) == pytest.approx(5.0)


def test_coverage_of_a_calibrated_ensemble_is_nominal():
    """Real outcomes drawn from the members' own distribution: central q regions cover ~q."""
    rng = np.random.default_rng(1)
    for d in (1, 3):
        c = [centrality(rng.normal(size=(200, d)), rng.normal(size=d)) for _ in range(1500)]
        cov = coverage(c, (0.5, 0.9))
        assert abs(cov["0.5"] - 0.5) < 0.05 and abs(cov["0.9"] - 0.9) < 0.04
    # too narrow an ensemble under-covers, and scores worse than the right one
    real = rng.normal(size=(500, 1))
    narrow = score_metric("x", [0.3 * rng.normal(size=(100, 1)) for _ in real], list(real))
    right = score_metric("x", [rng.normal(size=(100, 1)) for _ in real], list(real))
    assert coverage(narrow.centrality)["0.9"] < 0.6
    assert right.energy.mean() < narrow.energy.mean()


def test_ensemble_reproducible_and_scored(tosses, tmp_path):
    scene, eps = tosses
    spec = RandomizationSpec.from_dict(SPEC)
    a = run_ensemble(scene, eps, spec, samples=6, seed=3)
    b = run_ensemble(scene, eps, spec, samples=6, seed=3)
    key = "final_position/cube"
    for x, y in zip(a.members[key], b.members[key], strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.members[key][0].shape == (6, 3) and len(a.samples) == 36
    # each member is the plain replay of its sample: physics values and perturbed start
    from workbench.randomize import Randomizer

    r = Randomizer(spec, scene.model)
    s = a.samples[6 * 2 + 4]
    (trace,) = replay(scene, [r.perturb(eps[2], s)], ReplaySettings("open_loop"), params=s.values)
    np.testing.assert_allclose(
        a.members[key][2][4], trace.predicted["qpos"][0][-1, :3], rtol=0, atol=1e-12
    )
    # the nominal point model is the nominal replay
    (nom,) = replay(scene, [eps[1]], ReplaySettings("open_loop"))
    np.testing.assert_array_equal(a.points["nominal"][key][1], nom.predicted["qpos"][0][-1, :3])
    summary = a.summary()["metrics"][key]
    assert set(summary["energy_score"]) == {"ensemble", "nominal", "centre"}
    paths = a.save(tmp_path)
    assert paths["reliability"].stat().st_size > 1000 and paths["samples"].exists()


def test_sweep_points_equal_plain_replays(tosses):
    scene, eps = tosses
    axis = Axis("pair_friction[cube_table][0]", 0.1, 0.3, 3)
    metric = "qpos/cube/position_error_m/final"
    result = run_sweep(scene, eps, [axis], metric)
    for mu, value in zip(axis.values, result.values, strict=True):
        traces = replay(scene, eps, ReplaySettings("open_loop"), params={axis.name: float(mu)})
        report = gap_report(traces, scene=scene.name, settings={})
        assert value == pytest.approx(report.value(metric), rel=1e-12)
    two = run_sweep(
        scene, eps[:2], [axis, Axis("pair_solref[cube_table][0]", 0.01, 0.03, 2)], metric
    )
    assert two.grid.shape == (6, 2) and np.isfinite(two.values).all()
    assert two.figure() is not None


def _cli(tmp_path, *argv):
    return main([*argv])


def test_cli_ensemble_and_sweep(tmp_path, capsys):
    spec = tmp_path / "spec.toml"
    spec.write_text(RandomizationSpec.from_dict(SPEC).to_toml())
    rec = str(A / "data/cube_toss")
    out = tmp_path / "ens"
    args = ["ensemble", rec, "--scene", "cube_toss", "--episodes", "0:3", "--protocol", "tosses"]
    assert main([*args, "--spec", str(spec), "--samples", "4", "--out", str(out)]) == 0
    assert (out / "ensemble.json").exists() and (out / "plots" / "reliability.png").exists()
    assert "cov90" in capsys.readouterr().out
    out2 = tmp_path / "sweep"
    sweep = ["sweep", rec, "--scene", "cube_toss", "--episodes", "0:2", "--out", str(out2)]
    assert main([*sweep, "--param", "pair_friction[cube_table][0]=0.1:0.3:3"]) == 0
    assert (out2 / "sweep.json").exists() and (out2 / "plots" / "sweep.png").exists()


HOSTILE_ENSEMBLE = [
    (["--samples", "1"], "--samples: expected >= 2"),
    (["--samples", "0"], "--samples"),
    (["--seed", "-1"], "--seed"),
    (["--point", "nofile"], "NAME=PARAMS_FILE"),
    (["--point", "x=/nonexistent.toml"], "params file"),
]


@pytest.mark.parametrize(("extra", "match"), HOSTILE_ENSEMBLE)
def test_cli_ensemble_hostile(tmp_path, capsys, extra, match):
    spec = tmp_path / "spec.toml"
    spec.write_text(RandomizationSpec.from_dict(SPEC).to_toml())
    out = tmp_path / "out"
    argv = ["ensemble", str(A / "data/cube_toss"), "--scene", "cube_toss", "--episodes", "0:2"]
    assert main([*argv, "--spec", str(spec), "--out", str(out), *extra]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            '[parameters."pair_friction[cube_table][0]"]\ndistribution = "gauss"\n',
            "expected one of",
        ),
        (
            '[parameters."pair_friction[nope][0]"]\ndistribution = "uniform"\nlower = 0.1\nupper = 0.2\n',
            "unknown pair",
        ),
        (
            '[parameters."pair_friction[cube_table][0]"]\ndistribution = "uniform"\nlower = 0.3\nupper = 0.2\n',
            "lower < upper",
        ),
        ("bogus = 1\n", "unknown keys"),
        ("[parameters\n", "not valid TOML"),
        (
            '[initial_state."qvel/cube[9]"]\ndistribution = "normal"\nmean = 0.0\nstd = 1.0\n',
            "no column",
        ),
    ],
)
def test_cli_ensemble_hostile_spec(tmp_path, capsys, text, match):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    out = tmp_path / "out"
    argv = ["ensemble", str(A / "data/cube_toss"), "--scene", "cube_toss", "--episodes", "0:2"]
    assert main([*argv, "--spec", str(spec), "--out", str(out)]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (["x"], "NAME=LOWER:UPPER:COUNT"),
        (["pair_friction[cube_table][0]=0.3:0.1:3"], "lower < upper"),
        (["pair_friction[cube_table][0]=0.1:0.3:1"], "at least 2 points"),
        (["pair_friction[cube_table][0]=0:0.3:3:log"], "log spacing"),
        (["pair_friction[cube_table][0]=0.1:0.3:2.5"], "integer count"),
        (["pair_friction[nope][0]=0.1:0.3:3"], "unknown pair"),
        (["pair_friction[cube_table][0]=-1:0.3:3"], ">= 0"),
        (["a[b]=0:1:2", "c[d]=0:1:2", "e[f]=0:1:2"], "one or two"),
    ],
)
def test_cli_sweep_hostile(tmp_path, capsys, params, match):
    out = tmp_path / "out"
    argv = ["sweep", str(A / "data/cube_toss"), "--scene", "cube_toss", "--episodes", "0:2"]
    for p in params:
        argv += ["--param", p]
    assert main([*argv, "--out", str(out)]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


def test_fitted_cube_distribution_on_held_out_subset():
    """Fast subset of tests/benchmarks/accept_ensemble_cube.py: the committed spec (fitted on
    real tosses 0-299) on held-out tosses 300-339: the ensemble beats the point-calibrated model on
    energy score and its 90 % region covers most real final positions."""
    from workbench.paths import real_data_root, scenes_root

    data = real_data_root() / "cube_toss"
    if not data.exists():
        pytest.skip(f"real cube tosses not found at {data}")
    scene = load_scene("cube_toss")
    spec = RandomizationSpec.load(scenes_root() / "cube_toss" / "randomization.toml")
    eps = load_episodes(data, A / "mappings/cube_toss.toml", select="300:340")
    test = [prepare_toss(e) for e in eps]
    from workbench.randomize import Randomizer

    centre = Randomizer(spec, scene.model).centre_values()
    res = run_ensemble(scene, test, spec, samples=12, seed=0, points={"calibrated": centre})
    m = res.summary()["metrics"]["final_position/cube"]
    assert m["energy_score"]["ensemble"] < 0.9 * m["energy_score"]["calibrated"]
    assert 0.65 <= m["coverage"]["0.9"] <= 1.0 and 0.25 <= m["coverage"]["0.5"] <= 0.75
