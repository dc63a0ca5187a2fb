"""`workbench augment`: physically varied, validated variants of recordings, written as LeRobot
v3.0 or robomimic, on a serial or Ray backend (also `ray_jobs/augment.py`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from workbench import schema
from workbench.errors import SettingsError


def add_arguments(p) -> None:
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--scene", required=True, help="bundled scene name or a scene folder")
    p.add_argument("--spec", required=True, help="randomization spec TOML (or a distribution.toml)")
    p.add_argument("--variants", type=int, required=True, help="variants per source episode")
    p.add_argument("--out", required=True, help="job folder (shards, manifest, dataset)")
    p.add_argument("--format", default="lerobot", choices=("lerobot", "robomimic"))
    p.add_argument("--mapping", help="mapping TOML (default: the scene's dataset_mapping)")
    p.add_argument("--episodes", help="episode selector, e.g. 0:20 (default: all)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument(
        "--transform",
        default="scene",
        help="object-centric transform: 'scene' (the scene's [augment.transform]), 'none', or "
        "x=LO:HI,y=LO:HI,yaw_deg=LO:HI",
    )
    p.add_argument("--max-penetration", type=float, help="[m] (default: the scene's, else 0.01)")
    p.add_argument("--shard-size", type=int, default=50, help="variants per shard")
    p.add_argument("--chunk", type=int, default=16, help="variants per batched rollout call")
    p.add_argument("--backend", default="auto", choices=("auto", "serial", "ray"))
    p.add_argument("--ray-address", default=None, help="Ray cluster (default: RAY_ADDRESS)")
    p.add_argument("--num-cpus", type=int, help="CPUs of an embedded local Ray")
    p.add_argument("--serial-below", type=int, default=400, help="variants: below, run serially")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_augment(sub) -> None:
    p = sub.add_parser(
        "augment", help="many physically varied, validated variants of recordings as a dataset"
    )
    add_arguments(p)


def run(args):
    """Build the task (every option and input checked before anything is written), run it."""
    from workbench.augment import AugmentTask, TransformRanges
    from workbench.execute import plan_shards, run_job
    from workbench.output import check_output_folder
    from workbench.randomize import RandomizationSpec

    for option, value, least in (
        ("--variants", args.variants, 1),
        ("--seed", args.seed, 0),
        ("--shard-size", args.shard_size, 1),
        ("--chunk", args.chunk, 1),
        ("--serial-below", args.serial_below, 0),
    ):
        schema.number(value, option, SettingsError, lower=least, integer=True)
    if args.num_cpus is not None:
        schema.number(args.num_cpus, "--num-cpus", SettingsError, lower=1, integer=True)
    if args.ray_address is not None and not args.ray_address.strip():
        raise SettingsError(
            "--ray-address: expected host:port, ray://host:port or auto, got an empty value "
            "(leave the option out for an embedded local Ray)"
        )
    if args.backend == "serial" and args.ray_address:
        raise SettingsError("--ray-address: given with --backend serial; drop one of them")
    check_output_folder(args.out)
    transform = (
        "scene" if args.transform == "scene" else TransformRanges.from_option(args.transform)
    )
    task = AugmentTask(
        args.scene,
        tuple(args.recordings),
        RandomizationSpec.load(args.spec).to_dict(),
        args.variants,
        seed=args.seed,
        mapping=args.mapping,
        select=args.episodes,
        transform=transform,
        max_penetration=args.max_penetration,
        format=args.format,
        chunk=args.chunk,
    )
    task.config()  # the scene's [augment] table and the transform option, checked
    shards = plan_shards(task.variants_per_episode(), args.shard_size)
    return run_job(
        task,
        shards,
        args.out,
        backend=args.backend,
        ray_address=args.ray_address or os.environ.get("RAY_ADDRESS") or None,
        num_cpus=args.num_cpus,
        serial_below=args.serial_below,
        progress=not args.no_progress,
    )


def summary(result) -> str:
    done = result.finalized or {}
    rejected = ", ".join(f"{k} {v}" for k, v in result.rejected.items()) or "none"
    return (
        f"{result.accepted} variants accepted, rejected: {rejected}; backend {result.backend} "
        f"({result.reason}); {result.seconds:.1f} s; {result.skipped} shards already finished; "
        f"dataset: {Path(result.out) / done['path'] if done.get('path') else 'none'}; "
        f"manifest: {Path(result.out) / 'manifest.json'}"
    )


def cmd_augment(args) -> int:
    result = run(args)
    print(summary(result), file=sys.stdout)
    return 0
