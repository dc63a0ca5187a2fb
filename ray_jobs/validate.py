"""Batch gap over a whole dataset through the executor (serial, embedded Ray or a Ray cluster).

Directly:
    python ray_jobs/validate.py RECORDINGS --scene cube_toss --out out/validate [--episodes 0:400]
        [--mode open_loop] [--horizons 0.1,0.25] [--shard-size 20] [--backend auto|serial|ray]
        [--ray-address ADDR] [--num-cpus N] [--mapping MAP.toml] [--params FILE]

On a cluster (the working dir is shipped to every worker; the output folder must be on storage
every node can write, e.g. a shared file system):
    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python ray_jobs/validate.py /shared/cube_toss --scene cube_toss --out /shared/val

Writes OUT/shards/<episode range>/entries.json (atomically, a rerun skips finished shards),
OUT/manifest.json and OUT/gap.json (the report `workbench gap` writes, merged over shards).
Errors print `error: ...` and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a checkout or `--working-dir .`


def main(argv: list[str] | None = None) -> int:
    from workbench.cli.common import floats
    from workbench.errors import WorkbenchError

    p = argparse.ArgumentParser(prog="ray_jobs/validate.py", description=__doc__.split("\n")[0])
    p.add_argument("recordings", nargs="+")
    p.add_argument("--scene", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mapping")
    p.add_argument("--episodes", help="selector, e.g. 0:400 (default: all)")
    p.add_argument("--mode", default="open_loop")
    p.add_argument("--horizons", type=floats, default=(0.1, 0.25, 0.5))
    p.add_argument("--stride", type=float, default=0.05)
    p.add_argument("--params", help="physics values file (TOML/JSON)")
    p.add_argument("--shard-size", type=int, default=20, help="episodes per shard")
    p.add_argument("--backend", default="auto", choices=("auto", "serial", "ray"))
    p.add_argument("--ray-address", default=os.environ.get("RAY_ADDRESS"))
    p.add_argument("--num-cpus", type=int)
    p.add_argument("--serial-below", type=int, default=200, help="episodes: below, run serially")
    args = p.parse_args(argv)
    try:
        from workbench.execute import plan_shards, run_job
        from workbench.execute.gap_task import GapTask
        from workbench.physics import load_values
        from workbench.replay import ReplaySettings

        settings = ReplaySettings(
            args.mode, horizons=args.horizons, window_stride=args.stride, threads=1
        )
        task = GapTask(
            args.scene,
            tuple(args.recordings),
            mapping=args.mapping,
            select=args.episodes,
            settings=settings,
            params=load_values(args.params) if args.params else {},
        )
        shards = plan_shards([task.episodes()], args.shard_size)
        result = run_job(
            task,
            shards,
            args.out,
            backend=args.backend,
            ray_address=args.ray_address,
            num_cpus=args.num_cpus,
            serial_below=args.serial_below,
        )
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = result.finalized or {}
    print(
        f"{done.get('episodes', 0)} episodes ({done.get('included', 0)} included, "
        f"{result.rejected.get('diverged', 0)} diverged) on {result.backend} in "
        f"{result.seconds:.1f} s; {result.skipped} shards were already finished; "
        f"wrote {Path(args.out) / 'gap.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
