"""Benchmark: the driver's peak memory while a Ray augmentation job merges its dataset.

The merge streams (`workbench.augment.merge.LeRobotMerge`: one row group in memory, shards
appended in job order as they finish), so the driver's peak RSS should stay flat as the job
grows. Runs the same Panda job (21 s episodes at 1 kHz, ~5.7 MB of frames per variant) with N
and 2 N variants, each in a fresh process (peak RSS is per process), job folders on /dev/shm.

Run: python tests/benchmarks/bench_merge_memory.py [--variants 40]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one(n: int) -> None:
    import ray

    from workbench.augment import AugmentTask
    from workbench.execute import plan_shards, run_job
    from workbench.paths import real_data_root

    damping = {"distribution": "uniform", "lower": 0.0, "upper": 0.5}
    spec = {"parameters": {f"dof_damping[joint{j}]": damping for j in range(1, 8)}}
    task = AugmentTask("panda", (str(real_data_root() / "panda_excitation"),), spec, n, chunk=4)
    env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=env)
    task.check()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=shm) as out:
        shards = plan_shards(task.variants_per_episode(), 4)
        result = run_job(task, shards, out, backend="ray", progress=False, log=lambda m: None)
        frames = result.finalized["frames"]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{n:4d} Panda variants ({frames} frames): driver peak RSS {before:.0f} MB before the "
        f"job, {after:.0f} MB after (+{after - before:.0f} MB)",
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--variants", type=int, default=40)
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one is not None:
        one(args.one)
        return
    for n in (args.variants, 2 * args.variants):
        subprocess.run([sys.executable, __file__, "--one", str(n)], check=True)


if __name__ == "__main__":
    main()
