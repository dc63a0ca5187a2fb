"""The `workbench` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.errors import WorkbenchError


def _progress(desc: str):
    from tqdm import tqdm

    bar = tqdm(total=0, desc=desc, unit="window", file=sys.stderr, disable=None)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated seconds, got {text!r}"
        ) from None


def _add_gap(sub) -> None:
    p = sub.add_parser("gap", help="replay recordings in a scene and measure the sim-to-real gap")
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--scene", required=True, help="bundled scene name or a scene folder")
    p.add_argument("--mapping", help="mapping TOML (default: the scene's dataset_mapping)")
    p.add_argument(
        "--mode", default="open_loop", choices=("open_loop", "windows", "tracking", "inverse")
    )
    p.add_argument("--out", required=True, help="output folder for gap.json and plots/")
    p.add_argument("--episodes", help="episode selector, e.g. 0:50 or 0,3,10:20")
    p.add_argument("--params", help="TOML/JSON of physics values by MuJoCo name")
    p.add_argument(
        "--horizons", type=_floats, default=(0.1, 0.25, 0.5), help="windows: seconds, e.g. 0.1,0.25"
    )
    p.add_argument(
        "--stride", type=float, default=0.05, help="windows: seconds between window starts"
    )
    p.add_argument(
        "--smooth", type=float, default=0.2, help="inverse/tracking: smoothing window [s]"
    )
    p.add_argument("--threads", type=int, help="rollout threads (default: all CPUs)")
    p.add_argument("--plot-episodes", type=int, default=3, help="episodes with overlay plots")


def cmd_gap(args) -> int:
    from workbench.physics import load_values
    from workbench.pipeline import format_summary, run_gap
    from workbench.replay import ReplaySettings

    settings = ReplaySettings(
        mode=args.mode,
        horizons=args.horizons,
        window_stride=args.stride,
        smooth_window=args.smooth,
        threads=args.threads,
    )
    params = load_values(args.params) if args.params else None
    bar, progress = _progress(f"{args.mode} replay")
    try:
        report = run_gap(
            args.recordings,
            scene=args.scene,
            mapping=args.mapping,
            settings=settings,
            params=params,
            select=args.episodes,
            out=args.out,
            plot_episodes=args.plot_episodes,
            progress=progress,
        )
    finally:
        bar.close()
    print(format_summary(report))
    print(f"wrote {Path(args.out) / 'gap.json'} and {Path(args.out) / 'plots'}/")
    return 0


def cmd_scenes(args) -> int:
    from workbench.scenes import list_scenes, load_scene

    for name, folder in list_scenes().items():
        scene = load_scene(folder)
        m = scene.model
        print(
            f"{name:<18} nq={m.nq:<3} nu={m.nu:<3} dt={scene.binding.timestep:.6g}s  "
            f"{scene.metadata.get('description', '')}"
        )
    return 0


def cmd_demo(args) -> int:
    """The gap report on the bundled real data (cube tosses and double pendulum)."""
    from workbench.paths import assets_root
    from workbench.pipeline import format_summary, run_gap
    from workbench.replay import ReplaySettings

    data = assets_root() / "data"
    out = Path(args.out)
    jobs = [
        ("cube_toss", data / "cube_toss", "open_loop", (0.1, 0.25), None),
        ("cube_toss", data / "cube_toss", "windows", (0.1, 0.25), None),
        ("double_pendulum", data / "double_pendulum", "windows", (0.1, 0.25, 0.5), None),
        (
            "double_pendulum",
            data / "double_pendulum",
            "windows",
            (0.1, 0.25, 0.5),
            "no_friction.toml",
        ),
    ]
    from workbench.physics import load_values
    from workbench.scenes import load_scene

    for scene_name, recordings, mode, horizons, params_file in jobs:
        scene = load_scene(scene_name)
        params = load_values(scene.folder / params_file) if params_file else None
        tag = f"{scene_name}_{mode}" + ("_" + Path(params_file).stem if params_file else "")
        bar, progress = _progress(tag)
        try:
            report = run_gap(
                recordings,
                scene=scene,
                settings=ReplaySettings(mode=mode, horizons=horizons),
                params=params,
                out=out / tag,
                progress=progress,
            )
        finally:
            bar.close()
        print(f"\n== {tag} ==")
        print(format_summary(report, limit=14))
    print(f"\nreports and plots under {out}/")
    return 0


def _add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="fit physics parameters to recordings; report held-out fidelity"
    )
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--scene", required=True)
    p.add_argument("--mapping", help="mapping TOML (default: the scene's dataset_mapping)")
    p.add_argument("--space", required=True, help="parameter space TOML")
    p.add_argument(
        "--objective",
        default="windows",
        choices=("windows", "inverse", "tosses"),
        help="windows: k-step prediction (least squares); inverse: joint torques (least "
        "squares); tosses: Acosta et al.'s toss protocol (CMA-ES)",
    )
    p.add_argument("--train", help="training episode selector, e.g. 0:2 (default: all)")
    p.add_argument("--test", help="held-out episode selector, e.g. 2 (default: --train)")
    p.add_argument(
        "--time-split",
        type=float,
        help="train on this fraction of each selected episode, test on the rest",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--horizon", type=float, default=0.25, help="windows: window length [s]")
    p.add_argument("--stride", type=float, default=0.1, help="windows: seconds between windows")
    p.add_argument("--smooth", type=float, default=0.2, help="inverse: smoothing window [s]")
    p.add_argument("--max-iter", type=int, default=20, help="least squares iterations")
    p.add_argument("--generations", type=int, default=15, help="tosses: CMA-ES generations")
    p.add_argument("--popsize", type=int, default=8, help="tosses: CMA-ES population")
    p.add_argument("--seed", type=int, default=0, help="tosses: CMA-ES seed")
    p.add_argument(
        "--horizons", type=_floats, default=(0.1, 0.25, 0.5), help="held-out horizons [s]"
    )
    p.add_argument(
        "--spread",
        type=int,
        default=0,
        metavar="SAMPLES",
        help="windows: also fit a DROPO-style parameter spread with this many samples",
    )
    p.add_argument("--threads", type=int)


def _split_in_time(episodes, fraction: float):
    import numpy as np

    if not 0 < fraction < 1:
        raise WorkbenchError(f"--time-split: expected a fraction in (0, 1), got {fraction}")
    train, test = [], []
    for ep in episodes:
        cut = int(np.searchsorted(ep.times, ep.times[0] + fraction * ep.duration))
        train.append(ep.slice(0, cut))
        test.append(ep.slice(cut, ep.num_samples))
    return train, test


def cmd_calibrate(args) -> int:
    from tqdm import tqdm

    from workbench.calibrate import ParameterSpace, calibrate
    from workbench.calibrate.report import format_calibration, heldout_comparison, write_report
    from workbench.calibrate.search import calibrate_cma
    from workbench.io import load_episodes
    from workbench.pipeline import scene_mapping
    from workbench.protocols import prepare_toss, score_tosses
    from workbench.scenes import load_scene

    scene = load_scene(args.scene)
    mapping = args.mapping or scene_mapping(scene)
    space = ParameterSpace.load(args.space)
    space.resolve(scene.model)
    train = load_episodes(args.recordings, mapping, select=args.train)
    if args.time_split is not None:
        train, test = _split_in_time(train, args.time_split)
    else:
        test = load_episodes(args.recordings, mapping, select=args.test or args.train)
        overlap = sorted({e.id for e in train} & {e.id for e in test})
        if overlap:
            print(
                f"warning: train and test share {len(overlap)} episodes (e.g. {overlap[:3]}); "
                "held-out numbers are not held out",
                file=sys.stderr,
            )
    total = args.generations if args.objective == "tosses" else args.max_iter
    bar = tqdm(
        total=total,
        desc=f"calibrate ({args.objective})",
        unit="iter",
        file=sys.stderr,
        disable=None,
    )

    def progress(iteration: int, objective: float) -> None:
        bar.n = iteration
        bar.set_postfix(objective=f"{objective:.4g}")
        bar.refresh()

    try:
        if args.objective == "tosses":
            train, test = [prepare_toss(e) for e in train], [prepare_toss(e) for e in test]
            from workbench.replay import ReplaySettings, replay

            base = score_tosses(replay(scene, train, ReplaySettings("open_loop")))

            def score(traces) -> float:  # both protocol headline scores, relative to nominal
                s = score_tosses(traces)
                return (
                    s["median_position_error_pct_width"] / base["median_position_error_pct_width"]
                    + s["mean_e_q"] / base["mean_e_q"]
                )

            result = calibrate_cma(
                scene,
                train,
                space,
                score,
                popsize=args.popsize,
                generations=args.generations,
                seed=args.seed,
                progress=progress,
            )
        else:
            result = calibrate(
                scene,
                train,
                space,
                objective=args.objective,
                horizon=args.horizon,
                stride=args.stride,
                smooth_window=args.smooth,
                spread_samples=args.spread,
                max_iter=args.max_iter,
                threads=args.threads,
                progress=progress,
            )
    finally:
        bar.close()
    paths = result.save(args.out, space)
    heldout = heldout_comparison(
        scene,
        test,
        result,
        objective=args.objective,
        horizons=args.horizons,
        smooth_window=args.smooth,
    )
    write_report(
        args.out,
        result,
        heldout,
        {"train": [e.id for e in train], "test": [e.id for e in test], "objective": args.objective},
    )
    print(format_calibration(result, heldout.table))
    print(
        f"wrote {paths['params']} (use with: workbench gap ... --params), {paths['distribution']}, "
        f"{Path(args.out) / 'report.json'}, plots/"
    )
    return 0


def cmd_make_scene(args) -> int:
    """A scene folder from a bundled builder scene and another parameter file."""
    import shutil

    import tomllib

    from workbench.scenes import load_scene, load_scene_folder
    from workbench.scenes.scene import SceneError

    template = load_scene(args.template)
    doc = tomllib.loads((template.folder / "scene.toml").read_text())
    if "builder" not in doc:
        raise SceneError(
            f"make-scene: scene {args.template!r} has no builder; copy its folder instead"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = Path(args.parameters)
    if not params.is_file():
        raise SceneError(
            f"make-scene: --parameters: expected an existing file, got {str(params)!r}"
        )
    shutil.copy(params, out / params.name)
    key = next(iter(doc.get("builder_args", {})), "parameters")
    lines = [
        f'name = "{out.name}"',
        f'description = "{template.name} built from {params.name}"',
        f'builder = "{doc["builder"]}"',
    ]
    if "dataset_mapping" in doc:
        mapping = (template.folder / doc["dataset_mapping"]).resolve()
        lines.append(f'dataset_mapping = "{mapping.as_posix()}"')
    lines += ["", "[builder_args]", f'{key} = "{params.name}"', "", "[binding]"]
    for name, value in doc["binding"].items():
        lines.append(f"{name} = {json.dumps(value)}")
    (out / "scene.toml").write_text("\n".join(lines) + "\n")
    scene = load_scene_folder(out)
    print(f"wrote {out / 'scene.toml'}: nq={scene.model.nq} nu={scene.model.nu}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_gap(sub)
    _add_calibrate(sub)
    sub.add_parser("scenes", help="list the bundled scenes")
    make = sub.add_parser(
        "make-scene", help="a scene folder from a builder scene and another parameter file"
    )
    make.add_argument("template", help="bundled builder scene, e.g. double_pendulum")
    make.add_argument("--parameters", required=True, help="parameter file for the builder")
    make.add_argument("--out", required=True, help="new scene folder")
    demo = sub.add_parser("demo", help="gap reports on the bundled real data")
    demo.add_argument("--out", default="demo_out")
    args = parser.parse_args(argv)
    try:
        return {
            "gap": cmd_gap,
            "calibrate": cmd_calibrate,
            "scenes": cmd_scenes,
            "make-scene": cmd_make_scene,
            "demo": cmd_demo,
        }[args.command](args)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
