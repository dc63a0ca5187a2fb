"""`workbench ensemble` and `workbench sweep`: randomized replays scored against recordings."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from workbench import schema
from workbench.cli.common import floats, progress_bar
from workbench.errors import SettingsError
from workbench.output import atomic_write_text, check_output_folder, staging_folder, swap_in


def _common(p) -> None:
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--scene", required=True, help="bundled scene name or a scene folder")
    p.add_argument("--mapping", help="mapping TOML (default: the scene's dataset_mapping)")
    p.add_argument("--episodes", help="episode selector, e.g. 300:400")
    p.add_argument(
        "--protocol",
        default="none",
        choices=("none", "tosses"),
        help="tosses: start each toss just before its first contact with a re-fitted velocity "
        "(Acosta et al., as in `calibrate --objective tosses`)",
    )
    p.add_argument("--out", required=True, help="output folder")


def add_randomize(sub) -> None:
    p = sub.add_parser(
        "ensemble", help="replay episodes under N samples of a randomization spec; score coverage"
    )
    _common(p)
    p.add_argument("--spec", required=True, help="randomization spec TOML (or distribution.toml)")
    p.add_argument("--samples", type=int, default=32, help="ensemble members per episode")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--point",
        action="append",
        default=[],
        metavar="NAME=PARAMS",
        help="a point model to score alongside (parameter-value file); repeatable "
        "(default: nominal and the spec's centre)",
    )
    p.add_argument("--chunk", type=int, default=32, help="members simulated together")
    s = sub.add_parser("sweep", help="the gap over a grid of one or two physics parameters")
    _common(s)
    s.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="NAME=LO:HI:N[:log]",
        help="swept parameter (give one or two)",
    )
    s.add_argument("--metric", default="qpos/cube/position_error_m/final", help="gap metric key")
    s.add_argument("--stat", default="median", choices=("median", "mean", "p90"))
    s.add_argument("--mode", default="open_loop", choices=("open_loop", "windows"))
    s.add_argument("--horizons", type=floats, default=(0.1, 0.25), help="windows: seconds")
    s.add_argument("--stride", type=float, default=0.05, help="windows: seconds between windows")


def _load(args):
    from workbench.io import load_episodes
    from workbench.pipeline import scene_mapping
    from workbench.protocols import prepare_toss
    from workbench.scenes import load_scene

    scene = load_scene(args.scene)
    episodes = load_episodes(
        args.recordings, args.mapping or scene_mapping(scene), select=args.episodes
    )
    if args.protocol == "tosses":
        episodes = [prepare_toss(e) for e in episodes]
    return scene, episodes


def _publish(staged: Path, out: Path) -> None:
    """Move staged files into `out` (each replaced atomically, plots/ swapped whole)."""
    out.mkdir(parents=True, exist_ok=True)
    for item in staged.iterdir():
        if item.is_dir():
            swap_in(item, out / item.name)
        else:
            os.replace(item, out / item.name)
    shutil.rmtree(staged, ignore_errors=True)


def cmd_ensemble(args) -> int:
    from workbench.randomize import RandomizationSpec
    from workbench.randomize.ensemble import load_points, run_ensemble

    for option, value, least in (
        ("--samples", args.samples, 2),
        ("--seed", args.seed, 0),
        ("--chunk", args.chunk, 1),
    ):
        schema.number(value, option, SettingsError, lower=least, integer=True)
    out = check_output_folder(args.out)
    spec = RandomizationSpec.load(args.spec)
    points = load_points(args.point) if args.point else None
    scene, episodes = _load(args)
    if points is not None:
        from workbench.physics import check_values

        for values in points.values():
            check_values(scene.model, values)
    bar, progress = progress_bar("ensemble")
    try:
        result = run_ensemble(
            scene,
            episodes,
            spec,
            samples=args.samples,
            seed=args.seed,
            points=points,
            chunk=args.chunk,
            progress=progress,
        )
    finally:
        bar.close()
    staged = staging_folder(out)
    result.save(staged)
    _publish(staged, out)
    print(format_ensemble(result.summary()))
    print(f"wrote {out / 'ensemble.json'}, {out / 'samples.jsonl'}, {out / 'plots'}/")
    return 0


def format_ensemble(summary: dict) -> str:
    lines = [
        f"{len(summary['episodes'])} episodes x {summary['samples_per_episode']} members "
        f"({summary['diverged_members']} diverged members left out)",
        f"{'metric':36s} {'cov50':>6s} {'cov90':>6s}  energy score: ensemble | points",
    ]
    for name, m in summary["metrics"].items():
        es = m["energy_score"]
        pts = "  ".join(f"{k} {v:.4g}" for k, v in es.items() if k != "ensemble")
        lines.append(
            f"{name:36s} {m['coverage']['0.5']:6.2f} {m['coverage']['0.9']:6.2f}  "
            f"{es['ensemble']:.4g} | {pts}"
        )
    return "\n".join(lines)


def cmd_sweep(args) -> int:
    from workbench.physics import check_values
    from workbench.randomize.sweep import Axis, run_sweep
    from workbench.replay import ReplaySettings

    axes = [Axis.parse(p) for p in args.param]
    if len(axes) > 2:
        raise SettingsError(f"--param: expected one or two swept parameters, got {len(axes)}")
    out = check_output_folder(args.out)
    settings = ReplaySettings(args.mode, horizons=args.horizons, window_stride=args.stride)
    scene, episodes = _load(args)
    for a in axes:  # both ends of every axis are writable values
        for v in (a.lower, a.upper):
            check_values(scene.model, {a.name: v})
    bar, progress = progress_bar("sweep", "grid points")
    try:
        result = run_sweep(
            scene,
            episodes,
            axes,
            args.metric,
            settings=settings,
            stat=args.stat,
            progress=progress,
        )
    finally:
        bar.close()
    staged = staging_folder(out)
    atomic_write_text(staged / "sweep.json", json.dumps(result.as_dict(), indent=1))
    (staged / "plots").mkdir()
    result.figure().savefig(staged / "plots" / "sweep.png", dpi=90)
    _publish(staged, out)
    best = result.best()
    print(f"{len(result.grid)} grid points x {len(episodes)} episodes; best {best}")
    print(f"wrote {out / 'sweep.json'}, {out / 'plots' / 'sweep.png'}")
    return 0
