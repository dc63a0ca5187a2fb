"""AugmentTask on a real local Ray: byte-identical to serial; a worker killed mid-shard loses
and duplicates no variant."""

from __future__ import annotations

import os
import sys

import pytest
from jobs import KillOnce, digest, shard_names, start_killer
from test_augment import QUIET, cube_task, kinova_task

from workbench.execute import plan_shards, run_job

pytest.importorskip("ray")


@pytest.mark.parametrize("make, fmt", [(cube_task, "lerobot"), (kinova_task, "robomimic")])
def test_augment_on_ray_writes_the_same_bytes_as_serial(ray_local, tmp_path, make, fmt):
    task = make(fmt)
    shards = plan_shards(task.variants_per_episode(), 3)
    serial = run_job(task, shards, tmp_path / "serial", backend="serial", **QUIET)
    ray = run_job(task, shards, tmp_path / "ray", backend="ray", **QUIET)
    assert ray.backend == "ray" and ray.accepted == serial.accepted
    name = "dataset" if fmt == "lerobot" else "dataset.hdf5"
    assert digest(tmp_path / "ray" / name) == digest(tmp_path / "serial" / name)
    assert os.getpid() not in {r.worker["pid"] for r in ray.results.values()}


def test_a_killed_augment_worker_loses_no_variant(ray_local, tmp_path):
    ray_local.cloudpickle.register_pickle_by_value(sys.modules["jobs"])
    task = cube_task("lerobot")
    shards = plan_shards(task.variants_per_episode(), 3)
    ref = run_job(task, shards, tmp_path / "ref", backend="serial", **QUIET)
    flags = tmp_path / "flags"
    thread, killed = start_killer(flags)
    out = tmp_path / "out"
    result = run_job(
        KillOnce(task, shards[1].name, str(flags)), shards, out, backend="ray", **QUIET
    )
    thread.join(5)
    assert killed
    assert shard_names(out) == sorted(s.name for s in shards)
    assert result.accepted == ref.accepted and result.rejected == ref.rejected
    assert digest(out / "dataset") == digest(tmp_path / "ref" / "dataset")
