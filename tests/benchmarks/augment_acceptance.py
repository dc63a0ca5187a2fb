"""Acceptance of augmentation on the real recordings (prints the numbers; ~3-5 min on 2 cores).

1. 100 variants of each of 20 real cube tosses (spec scenes/cube_toss/randomization.toml) and
   50 object-centric variants of each of 5 real Kinova pushing runs, each written as LeRobot
   v3.0 and as robomimic HDF5;
2. read back: the two formats hold identical values, provenance, ids; the merged datasets equal
   the shards' datasets value for value;
3. a subset of variants regenerated alone from their provenance: identical arrays;
4. the LeRobot v3.0 datasets loaded with LeRobot's own loader when /tmp/lerobot_venv exists.

Run: python tests/benchmarks/augment_acceptance.py [--real ../shared/data/real] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench import load_scene
from workbench.augment import AugmentTask, replay_provenance
from workbench.execute import plan_shards, run_job
from workbench.io import load_episodes
from workbench.io.lerobot import read_lerobot_records
from workbench.io.robomimic import read_robomimic_records
from workbench.paths import real_data_root, scenes_root
from workbench.randomize import RandomizationSpec

ROOT = Path(__file__).resolve().parents[2]


def same(a, b) -> int:
    """Compare two record lists value by value; returns the number of values compared."""
    assert len(a) == len(b), (len(a), len(b))
    n = 0
    for (ea, pa), (eb, pb) in zip(a, b, strict=True):
        assert ea.id == eb.id and pa == pb and sorted(ea.signals) == sorted(eb.signals)
        np.testing.assert_array_equal(ea.times, eb.times)
        for k, s in ea.signals.items():
            np.testing.assert_array_equal(s.values, eb.signals[k].values)
            n += s.values.size
    return n


def job(name, recordings, spec, variants, select, out, fmt, backend):
    task = AugmentTask(
        name,
        (recordings,),
        RandomizationSpec.load(spec).to_dict(),
        variants,
        select=select,
        format=fmt,
        seed=0,
    )
    t = time.perf_counter()
    result = run_job(
        task,
        plan_shards(task.variants_per_episode(), 50),
        out,
        backend=backend,
        progress=False,
        num_cpus=2,
    )
    return task, result, time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--real", default=str(real_data_root()))
    p.add_argument("--out", default=tempfile.mkdtemp(prefix="augment_acceptance_"))
    p.add_argument("--replay", type=int, default=20, help="variants regenerated per job")
    args = p.parse_args()
    real, out = Path(args.real), Path(args.out)
    cases = [
        (
            "cube_toss",
            str(real / "cube_toss"),
            scenes_root() / "cube_toss" / "randomization.toml",
            100,
            "0:20",
        ),
        (
            "kinova_push",
            str(real / "kinova_push" / "runs"),
            scenes_root() / "kinova_push" / "randomization.toml",
            50,
            "0:5",
        ),
    ]
    for name, rec, spec, n, select in cases:
        records = {}
        for fmt, backend in (("lerobot", "ray"), ("robomimic", "serial")):
            task, result, seconds = job(
                name, rec, spec, n, select, out / f"{name}_{fmt}", fmt, backend
            )
            path = out / f"{name}_{fmt}" / ("dataset" if fmt == "lerobot" else "dataset.hdf5")
            read = read_lerobot_records if fmt == "lerobot" else read_robomimic_records
            records[fmt] = read(path)
            shards = [
                out / f"{name}_{fmt}" / "shards" / r.shard.name / f
                for r in (result.results[s] for s in result.shards)
                for f in r.files
            ]
            from_shards = [rec_ for s in shards for rec_ in read(s)]
            values = same(records[fmt], from_shards)
            print(
                f"{name} {fmt:9s}: {result.accepted}/{result.accepted + sum(result.rejected.values())} "
                f"accepted, rejected {result.rejected}, backend {result.backend}, {seconds:.1f} s "
                f"({(result.accepted + sum(result.rejected.values())) / seconds:.1f} variants/s); "
                f"merged == shards: {values} values"
            )
        values = same(records["lerobot"], records["robomimic"])
        print(
            f"{name}: LeRobot == robomimic read back: {values} values, {len(records['lerobot'])} episodes"
        )
        scene = load_scene(name)
        raw = {e.id: e for e in load_episodes([rec], task._mapping(scene), select=select)}
        config = task.config(scene)
        pick = records["lerobot"][:: max(1, len(records["lerobot"]) // args.replay)][: args.replay]
        t = time.perf_counter()
        for ep, prov in pick:
            again, reason = replay_provenance(
                scene, raw[prov.source_episode], prov, config, metadata=ep.metadata
            )
            assert reason is None
            for k, s in ep.signals.items():
                np.testing.assert_array_equal(again.signals[k].values, s.values)
        print(
            f"{name}: {len(pick)} variants regenerated alone from provenance: identical "
            f"({time.perf_counter() - t:.1f} s)"
        )
        venv = Path("/tmp/lerobot_venv/bin/python")
        if venv.exists():
            r = subprocess.run(
                [
                    str(venv),
                    str(ROOT / "tests/lerobot_check/check_lerobot.py"),
                    str(out / f"{name}_lerobot" / "dataset"),
                ],
                capture_output=True,
                text=True,
            )
            print(
                f"{name}: LeRobot loader (rc {r.returncode}): {(r.stdout + r.stderr).strip()[-400:]}"
            )
    print(f"outputs under {out}")


if __name__ == "__main__":
    main()
