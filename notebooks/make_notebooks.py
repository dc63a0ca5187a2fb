"""Write the notebooks of this folder from their cell sources (outputs stripped).

    python notebooks/make_notebooks.py

Each notebook runs top to bottom on the bundled data; tests/test_notebooks.py executes them all.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).parent

SETUP = """\
%matplotlib inline
from pathlib import Path

import numpy as np

import workbench
from workbench.paths import assets_root

DATA, MAPPINGS = assets_root() / "data", assets_root() / "mappings"
"""

NOTEBOOKS = {
    "01_replay_and_gap": [
        "# Replay real recordings and measure the sim-to-real gap\n\n"
        "Bundled data: 100 real cube tosses (ContactNets) and one run of a real double pendulum. "
        "We replay them in MuJoCo, open loop and in k-step windows, and look at the errors.",
        SETUP,
        "## Load episodes and a scene\nA mapping turns raw columns into named signals; the scene "
        "binds them to the model.",
        'tosses = workbench.load_episodes(DATA / "cube_toss", MAPPINGS / "cube_toss.toml", '
        'select="0:20")\ncube = workbench.load_scene("cube_toss")\n'
        "print(len(tosses), tosses[0].id, tosses[0].num_samples, list(tosses[0].signals))",
        "## Open-loop replay\nFrom the first recorded state, the cube flies and lands on its own.",
        'settings = workbench.ReplaySettings("open_loop")\n'
        "traces = workbench.replay(cube, tosses, settings)\n"
        'report = workbench.gap_report(traces, scene="cube_toss", settings={})\n'
        'print("median position RMSE [m]:", report.value("qpos/cube/position_error_m/rmse"))',
        "from workbench import plots\n\nplots.overlay(traces[0], \"qpos\")",
        'plots.metric_histogram(report, "qpos/cube/position_error_m/final")',
        "## k-step prediction (windows)\nContact is chaotic: restart from the recorded state every "
        "50 ms and predict ahead.",
        'windows = workbench.replay(cube, tosses, workbench.ReplaySettings("windows", '
        "horizons=(0.05, 0.1, 0.25)))\n"
        'win_report = workbench.gap_report(windows, scene="cube_toss", settings={}, '
        "horizons=(0.05, 0.1, 0.25))\n"
        "for h in (0.05, 0.1, 0.25):\n"
        '    key = f"h={h:g}s/qpos/cube/position_error_m/mae"\n'
        '    print(key, round(1000 * win_report.value(key), 2), "mm")',
        'plots.horizon_curve(win_report, "qpos/cube/position_error_m/mae")',
        "## The double pendulum, with and without its friction terms",
        'pendulum = workbench.load_scene("double_pendulum")\n'
        '(run,) = workbench.load_episodes(DATA / "double_pendulum", '
        'MAPPINGS / "double_pendulum.toml")\n'
        'settings = workbench.ReplaySettings("windows", horizons=(0.25,))\n'
        "for label, params in [(\"upstream model\", None), (\"no friction\", "
        '{"dof_frictionloss[shoulder]": 0.0, "dof_frictionloss[elbow]": 0.0})]:\n'
        "    (trace,) = workbench.replay(pendulum, [run], settings, params=params)\n"
        '    r = workbench.gap_report([trace], scene="double_pendulum", settings={}, '
        "horizons=(0.25,))\n"
        '    print(f"{label:>15}: shoulder {r.value(\'h=0.25s/qpos/shoulder/mae\'):.3f} rad, '
        "elbow {r.value('h=0.25s/qpos/elbow/mae'):.3f} rad\")",
        "## The same from the command line\n`workbench gap` streams, resumes and writes "
        "gap.json, episodes.jsonl and plots; `workbench report` turns them into one HTML page.",
        "import tempfile\n\nfrom workbench.cli import main\n\n"
        "out = Path(tempfile.mkdtemp())\n"
        'main(["gap", str(DATA / "cube_toss"), "--scene", "cube_toss", "--episodes", "0:10", '
        '"--out", str(out / "gap")])\n'
        'main(["report", str(out / "gap" / "gap.json"), "--out", str(out / "report.html")])',
    ],
    "02_calibrate_and_randomize": [
        "# Calibrate physics from real data, then randomize around it\n\n"
        "Fit the double pendulum's friction, damping and motor delays on the first half of a real "
        "run, check the second half, then turn the fit into a randomization spec; judge a cube-toss "
        "distribution by how well its ensemble covers real outcomes.",
        SETUP,
        "## Calibrate (k-step prediction, first half vs second half)",
        "from workbench.calibrate import Parameter, ParameterSpace, calibrate\n"
        "from workbench.calibrate.report import format_calibration, heldout_comparison\n\n"
        'pendulum = workbench.load_scene("double_pendulum")\n'
        '(run,) = workbench.load_episodes(DATA / "double_pendulum", MAPPINGS / "double_pendulum.toml")\n'
        "half = run.num_samples // 2\n"
        "train, test = run.slice(0, half), run.slice(half, run.num_samples)\n"
        "space = ParameterSpace(tuple(\n"
        '    Parameter(f"{field}[{joint}]", lower, upper, scale, nominal)\n'
        '    for joint in ("shoulder", "elbow")\n'
        "    for field, lower, upper, scale, nominal in (\n"
        '        ("dof_frictionloss", 0.0, 0.6, "linear", None),\n'
        '        ("dof_damping", 1e-5, 0.5, "log", None),\n'
        '        ("actuator_delay", 0.0, 0.03, "linear", 0.005),\n'
        "    )\n))\n"
        "result = calibrate(pendulum, [train], space, horizon=0.25, stride=0.1, max_iter=6)\n"
        "held = heldout_comparison(pendulum, [test], result, horizons=(0.1, 0.25))\n"
        "print(format_calibration(result, held.table))",
        "from workbench.plots import compare_error_over_time\n\n"
        'compare_error_over_time({"nominal": held.nominal, "calibrated": held.calibrated}, "qpos")',
        "## From a calibration to a randomization spec\n`distribution.toml` (a truncated normal per "
        "parameter) loads as a spec with no editing; every sample is reproducible from (spec, "
        "episode, variant, seed) and is applied in place, restored bit for bit.",
        "import tempfile\n\nfrom workbench.randomize import RandomizationSpec, Randomizer\n\n"
        "folder = Path(tempfile.mkdtemp())\n"
        "result.save(folder, space)\n"
        'spec = RandomizationSpec.load(folder / "distribution.toml")\n'
        "randomizer = Randomizer(spec, pendulum.model)\n"
        "samples = randomizer.samples(run.id, range(5), seed=0)\n"
        "for s in samples[:3]:\n"
        '    print(s.variant, {k: round(v, 4) for k, v in s.values.items() if isinstance(v, float)})\n'
        "before = pendulum.model.dof_damping.copy()\n"
        "with randomizer.applied(samples[0]) as model:\n"
        '    print("in the block:", model.dof_damping)\n'
        'print("restored:", np.array_equal(pendulum.model.dof_damping, before))',
        "## Ensemble fidelity on real cube tosses\nThe shipped cube spec was fitted on tosses 0-299 "
        "(friction and contact spread plus initial-state noise from the recordings). Does its "
        "ensemble cover held-out real outcomes at the stated rates?",
        "from workbench.protocols import prepare_toss\n"
        "from workbench.randomize import plots as rplots\n"
        "from workbench.randomize.ensemble import run_ensemble\n\n"
        'cube = workbench.load_scene("cube_toss")\n'
        'cube_spec = RandomizationSpec.load(Path(cube.folder) / "randomization.toml")\n'
        'tosses = workbench.load_episodes(DATA / "cube_toss", MAPPINGS / "cube_toss.toml", select="60:80")\n'
        "ensemble = run_ensemble(cube, [prepare_toss(t) for t in tosses], cube_spec, samples=16, seed=0)\n"
        'metric = ensemble.summary()["metrics"]["final_position/cube"]\n'
        'print("coverage", metric["coverage"], "energy score", metric["energy_score"])',
        'rplots.spread(ensemble, "final_position/cube")',
        "rplots.reliability(ensemble)",
        "## A sensitivity sweep",
        "from workbench.randomize.sweep import Axis, run_sweep\n\n"
        "sweep = run_sweep(cube, [prepare_toss(t) for t in tosses[:10]],\n"
        '                  [Axis("pair_friction[cube_table][0]", 0.1, 0.3, 5)],\n'
        '                  "qpos/cube/position_error_m/final")\n'
        "sweep.figure()",
    ],
    "03_augment_with_ray": [
        "# Augment real episodes with randomized physics, on Ray\n\n"
        "Every real episode becomes many physically varied variants: physics drawn from a "
        "randomization spec, replayed, filtered for validity, written as a LeRobot v3.0 dataset "
        "with full provenance. The same job runs serially or on Ray and writes the same bytes.",
        SETUP,
        "import filecmp\nimport tempfile\n\n"
        "from workbench.augment import AugmentTask, replay_provenance\n"
        "from workbench.execute import plan_shards, run_job\n"
        "from workbench.io.lerobot import read_lerobot_records\n"
        "from workbench.randomize import RandomizationSpec\n\n"
        'cube = workbench.load_scene("cube_toss")\n'
        'spec = RandomizationSpec.load(Path(cube.folder) / "randomization.toml")\n'
        'task = AugmentTask("cube_toss", (str(DATA / "cube_toss"),), spec.to_dict(), 12, select="0:4", seed=0)\n'
        "shards = plan_shards(task.variants_per_episode(), 6)\n"
        'print(len(shards), "shards:", [s.name for s in shards][:4], "...")',
        "## Serially (notebooks, debugging)",
        "work = Path(tempfile.mkdtemp())\n"
        'serial = run_job(task, shards, work / "serial", backend="serial", progress=False)\n'
        "print(serial.backend, serial.accepted, serial.rejected)",
        "## On Ray (an embedded local Ray here; `ray_address=` or `RAY_ADDRESS` for a cluster)",
        'ray_run = run_job(task, shards, work / "ray", backend="ray", num_cpus=2, progress=False)\n'
        "print(ray_run.backend, ray_run.accepted, ray_run.rejected)\n"
        "import ray\n\nray.shutdown()\n"
        'same = [filecmp.cmp(a, work / "ray" / a.relative_to(work / "serial"), shallow=False)\n'
        '        for a in sorted((work / "serial" / "dataset").rglob("*.parquet"))]\n'
        'print("byte-identical data files:", all(same), len(same))',
        "## Read the dataset back; every variant carries its provenance",
        'records = read_lerobot_records(work / "serial" / "dataset")\n'
        "episode, provenance = records[0]\n"
        "print(episode.id, provenance.source_episode, provenance.variant, provenance.seed)\n"
        "print({k: round(v, 5) for k, v in provenance.params.items()})",
        "from workbench.plots import subplots\n\n"
        'real = workbench.load_episodes(DATA / "cube_toss", MAPPINGS / "cube_toss.toml", select="0")[0]\n'
        "fig, ax = subplots(figsize=(7, 3.5))\n"
        "for ep, prov in records:\n"
        "    if prov.source_episode == real.id:\n"
        '        ax.plot(ep.times - ep.times[0], ep.signals["qpos"].values[:, 2], color="tab:orange", lw=0.7)\n'
        'ax.plot(real.times - real.times[0], real.signals["qpos"].values[:, 2], color="k", lw=2, label="real")\n'
        'ax.set_xlabel("time [s]"); ax.set_ylabel("cube height [m]"); ax.legend(); fig',
        "## A variant regenerated from its provenance alone",
        "from workbench.augment.config import scene_config\n\n"
        "again, reason = replay_provenance(cube, real, provenance, scene_config(cube))\n"
        'print(np.array_equal(again.signals["qpos"].values, episode.signals["qpos"].values))',
        "## Object-centric variants of a real push\nThe cube's start is moved and the recorded hand "
        "path is carried with it (MimicGen-style), from `blend` seconds before the push.",
        'push = workbench.load_scene("kinova_push")\n'
        'push_spec = RandomizationSpec.load(Path(push.folder) / "randomization.toml")\n'
        'push_task = AugmentTask("kinova_push", (str(DATA / "kinova_push"),), push_spec.to_dict(), 6,\n'
        '                        select="0", seed=2)\n'
        'push_run = run_job(push_task, plan_shards(push_task.variants_per_episode(), 6), work / "push",\n'
        '                   backend="serial", progress=False)\n'
        "print(push_run.accepted, push_run.rejected)\n"
        "fig, ax = subplots(figsize=(5, 5))\n"
        'for ep, prov in read_lerobot_records(work / "push" / "dataset"):\n'
        '    cube_xy = ep.signals["qpos"].values[:, :2]\n'
        '    hand_xy = ep.signals["body_pose:hand"].values[:, :2]\n'
        '    ax.plot(*hand_xy.T, lw=0.6, color="tab:blue")\n'
        '    ax.plot(*cube_xy.T, lw=1.5, color="tab:red")\n'
        'ax.set_aspect("equal"); ax.set_xlabel("x [m]"); ax.set_ylabel("y [m]"); fig',
    ],
    "04_inspect_a_dataset": [
        "# Inspect a dataset before trusting it\n\n"
        "`workbench inspect` reads recordings without the episode checks, so damaged files can be "
        "looked at, and reports each finding with its reason and location.",
        SETUP,
        "from workbench.inspect import format_inspection, inspect_episodes\n"
        "from workbench.io.raw import read_raw\n\n"
        'pendulum = workbench.load_scene("double_pendulum")\n'
        'raw = read_raw(DATA / "double_pendulum", MAPPINGS / "double_pendulum.toml")\n'
        "print(format_inspection(inspect_episodes(raw, model=pendulum.model)))",
        "## Damage a copy on purpose\nDrop frames, freeze a segment, punch a NaN hole and flip a "
        "velocity's sign; each is found where it was made.",
        "import tempfile\n\n"
        'src = next((DATA / "double_pendulum").glob("sysid_*.csv"))\n'
        'header, *lines = src.read_text().splitlines()\nnames = header.split(",")\n'
        'rows = np.array([[float(x) for x in line.split(",")] for line in lines])\n'
        "rows = np.delete(rows, np.s_[2000:2010], axis=0)                 # dropped frames\n"
        'rows[2500:2800, names.index("pos_meas2")] = rows[2500, names.index("pos_meas2")]  # frozen\n'
        'rows[1000:1050, names.index("tau_meas1")] = np.nan              # dropout\n'
        'rows[:, names.index("vel_meas1")] *= -1                          # sign flip\n'
        'damaged = Path(tempfile.mkdtemp()) / "sysid_damaged.csv"\n'
        'damaged.write_text(header + "\\n" + "\\n".join(",".join(repr(float(x)) for x in r) for r in rows))\n'
        'result = inspect_episodes(read_raw(damaged, MAPPINGS / "double_pendulum.toml"))\n'
        "print(format_inspection(result))",
        "## Look at a finding",
        "from workbench.plots import subplots\n\n"
        "(ep,) = read_raw(damaged, MAPPINGS / \"double_pendulum.toml\")\n"
        "frozen = next(f for _, f in result.flags if f.kind == \"frozen\")\n"
        "fig, ax = subplots(figsize=(7, 3))\n"
        "ax.plot(ep.times, ep.signals[\"qpos\"].values[:, 1], lw=0.8)\n"
        "ax.axvspan(frozen.start, frozen.end, color=\"tab:red\", alpha=0.2, label=frozen.kind)\n"
        'ax.set_xlabel("time [s]"); ax.set_ylabel("elbow [rad]"); ax.legend()\nfig',
        "## Gap outliers\nReplay the tosses and flag those whose error is far from the rest.",
        "from workbench.cli.inspect import gap_outlier_flags\n\n"
        'flags, note = gap_outlier_flags(DATA / "cube_toss", MAPPINGS / "cube_toss.toml", '
        'workbench.load_scene("cube_toss"), "windows", "0:40")\n'
        "print(note)\nfor eid, fs in flags.items():\n    print(eid, fs[0].message)",
    ],
}


def build(name: str, cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for src in cells:
        is_md = src.startswith("#")  # markdown cells open with a heading; code never does here
        nb.cells.append(nbformat.v4.new_markdown_cell(src) if is_md else nbformat.v4.new_code_cell(src))
    return nb


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), HERE / f"{name}.ipynb")
        print(f"wrote {HERE / name}.ipynb")


if __name__ == "__main__":
    main()
