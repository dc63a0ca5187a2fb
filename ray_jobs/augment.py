"""Augmentation through the executor (serial, embedded Ray or a Ray cluster): `workbench augment`.

Directly:
    python ray_jobs/augment.py RECORDINGS --scene SCENE --spec SPEC --variants N --out DIR
        [--format lerobot|robomimic] [--episodes 0:20] [--seed S] [--transform ...]
        [--shard-size 50] [--backend auto|serial|ray] [--ray-address ADDR] [--num-cpus N]

On a cluster (the working dir is shipped to every worker; recordings and the output folder must
be on storage every node reaches):
    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python ray_jobs/augment.py /shared/cube_toss --scene cube_toss \
        --spec scenes/cube_toss/randomization.toml --variants 100 --out /shared/aug

Writes OUT/shards/<shard>/ (atomically; a rerun skips finished shards), OUT/manifest.json and
OUT/dataset/ (LeRobot v3.0) or OUT/dataset.hdf5 (robomimic). Errors print `error: ...`, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a checkout or `--working-dir .`


def main(argv: list[str] | None = None) -> int:
    from workbench.cli.augment import add_arguments, run, summary
    from workbench.errors import WorkbenchError

    p = argparse.ArgumentParser(prog="ray_jobs/augment.py", description=__doc__.split("\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        result = run(args)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
