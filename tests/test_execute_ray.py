"""The Ray backend on a real local Ray: byte-identical to serial, each scene compiled once per
worker, a worker killed mid-shard retried with no shard lost or duplicated, an interrupted run
finished by a rerun."""

from __future__ import annotations

import os
import sys

import pytest
from jobs import KillOnce, digest, shard_names, shards_of, start_killer

from workbench.execute import run_job

pytest.importorskip("ray")
QUIET = {"progress": False, "log": lambda msg: None}
NAME = {"lerobot": "dataset", "robomimic": "dataset.hdf5"}


@pytest.mark.parametrize("fmt", ["lerobot", "robomimic"])
def test_ray_writes_the_same_bytes_as_serial(ray_local, reference, tmp_path, fmt):
    task, ref_out, _ = reference[fmt]
    result = run_job(task, shards_of(task), tmp_path, backend="ray", **QUIET)
    assert result.backend == "ray"
    assert shard_names(tmp_path) == shard_names(ref_out)
    assert digest(tmp_path / NAME[fmt]) == digest(ref_out / NAME[fmt])
    for sub in (ref_out / "shards").iterdir():  # shard files too, not only the merged dataset
        for name in ("lerobot", "data.hdf5"):
            if (sub / name).exists():
                assert digest(tmp_path / "shards" / sub.name / name) == digest(sub / name)
    workers = {r.worker["pid"] for r in result.results.values()}
    assert os.getpid() not in workers
    assert all(r.worker["scene_builds"] == 1 for r in result.results.values())


def test_a_killed_worker_is_retried_with_no_shard_lost_or_duplicated(
    ray_local, reference, tmp_path
):
    ray_local.cloudpickle.register_pickle_by_value(sys.modules["jobs"])
    task, ref_out, _ = reference["lerobot"]
    shards = shards_of(task)
    flags = tmp_path / "flags"
    thread, killed = start_killer(flags)
    out = tmp_path / "out"
    wrapped = KillOnce(task, shards[1].name, str(flags))
    result = run_job(wrapped, shards, out, backend="ray", **QUIET)
    thread.join(5)
    assert killed, "no worker was killed"
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    assert result.results[shards[1]].worker["pid"] != killed[0]
    assert shard_names(out) == sorted(s.name for s in shards)  # no .tmp left, none twice
    assert result.accepted == 6 and result.rejected == {"diverged": 2}
    assert digest(out / "dataset") == digest(ref_out / "dataset")


def test_an_interrupted_ray_run_is_finished_by_a_rerun(ray_local, reference, tmp_path):
    task, ref_out, _ = reference["robomimic"]
    shards = shards_of(task)
    seen = []

    def interrupt(result):
        seen.append(result)
        if len(seen) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(task, shards, tmp_path, backend="ray", on_shard=interrupt, **QUIET)
    first = shard_names(tmp_path)
    assert 1 <= len([n for n in first if not n.startswith(".")]) < len(shards)
    again = run_job(task, shards, tmp_path, backend="ray", **QUIET)
    assert again.skipped >= 1
    assert shard_names(tmp_path) == sorted(s.name for s in shards)
    assert digest(tmp_path / "dataset.hdf5") == digest(ref_out / "dataset.hdf5")
