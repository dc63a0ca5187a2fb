"""The augmentation fast paths write what the checked paths write: physics values through the
Randomizer's fast path on its model copies (vs `values_applied`, every value checked) and shards
in plain parquet (vs compact) give byte-identical merged datasets; shard scheduling and the
shard results' CPU time; the writer's encoding option refuses unknown names."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
from jobs import digest
from test_augment import CUBE, CUBE_SPEC, cube_task, kinova_task, run

import workbench.augment.task as task_module
from workbench.datasets.lerobot import write_lerobot
from workbench.errors import DatasetError
from workbench.execute import cache, plan_shards
from workbench.execute.backends import longest_first
from workbench.randomize import Randomizer


def _checked_paths(monkeypatch) -> None:
    """The code before the fast paths: plain model copies (so `Randomizer.applied` writes every
    variant through the checked `values_applied`) and shard data in compact parquet."""
    monkeypatch.setattr(
        Randomizer, "copies", lambda self, n: [copy.copy(self.model) for _ in range(n)]
    )
    monkeypatch.setattr(task_module, "SHARD_ENCODING", "compact")
    cache.clear()  # model copies are cached per process


@pytest.mark.parametrize(
    "make", [lambda: cube_task("lerobot", variants=5), lambda: kinova_task("robomimic")]
)
def test_fast_paths_write_the_bytes_of_the_checked_paths(tmp_path, monkeypatch, make):
    task = make()
    fast = run(task, tmp_path / "fast", size=2)
    name = "dataset" if task.format == "lerobot" else "dataset.hdf5"
    with monkeypatch.context() as m:
        _checked_paths(m)
        checked = run(task, tmp_path / "checked", size=2)
    cache.clear()
    assert fast.accepted == checked.accepted > 0 and fast.rejected == checked.rejected
    fast_files = digest(tmp_path / "fast" / name)
    assert fast_files == digest(tmp_path / "checked" / name)
    if task.format == "lerobot":  # the shards themselves were written differently
        shard = next(s for s in fast.shards if fast.results[s].files)
        data = tmp_path / "{}" / "shards" / shard.name / "lerobot" / "data" / "chunk-000"
        assert [p.name for p in Path(str(data).format("fast")).iterdir()] == ["file-000.arrow"]
        assert [p.name for p in Path(str(data).format("checked")).iterdir()] == ["file-000.parquet"]


def test_fast_path_is_taken_on_the_copies(tmp_path, monkeypatch):
    """The job's variants really go through the fast path (not values_applied)."""
    import workbench.randomize.sampling as sampling

    calls = []
    monkeypatch.setattr(sampling, "values_applied", lambda *a: calls.append(a))
    cache.clear()
    result = run(cube_task("lerobot", variants=3, episodes="0:1"), tmp_path / "out", size=3)
    cache.clear()
    assert result.accepted + sum(result.rejected.values()) == 3 and calls == []


def test_shards_are_scheduled_longest_first_and_report_cpu(tmp_path):
    task = cube_task("lerobot", variants=4, episodes="0:2")
    task.check()
    shards = plan_shards([4, 4], 3)  # sizes 3, 1, 3, 1
    order = longest_first(task, shards)
    costs = [task.shard_cost(s) for s in order]
    assert costs == sorted(costs, reverse=True) and sorted(order) == sorted(shards)
    assert [s.size for s in longest_first(object(), shards)] == [3, 3, 1, 1]
    result = run(task, tmp_path / "out", size=3)
    assert all(0 < r.worker["cpu_s"] < 60 for r in result.results.values())


def test_write_lerobot_refuses_an_unknown_encoding(tmp_path):
    task = cube_task("lerobot", episodes="0:1")
    episodes = task._episodes(task._scene())
    with pytest.raises(DatasetError, match="encoding: expected one of"):
        write_lerobot(tmp_path / "ds", episodes, encoding="zstd")
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("k", [1, 3])
def test_vectorised_episode_stats_equal_each_episodes_numpy_stats(k):
    """`episode_stats` over consecutive episodes (reduceat) == numpy on each episode alone,
    also for a large offset (time in s since the epoch: no cancellation in std), and
    `merged_stats` of them == numpy on all frames."""
    from workbench.datasets.stats import episode_stats, merged_stats

    rng = np.random.default_rng(0)
    lengths = np.array([2, 1, 57, 300, 5])
    values = rng.normal(size=(lengths.sum(), k)) * [10.0 ** (i - 1) for i in range(k)]
    values[:, 0] += 1.7e9
    got = episode_stats(values, lengths)
    blocks = np.split(values, np.cumsum(lengths)[:-1])
    for stat, fn in (("min", np.min), ("max", np.max), ("mean", np.mean), ("std", np.std)):
        want = np.stack([fn(b, axis=0) for b in blocks])
        np.testing.assert_allclose(got[stat], want, rtol=1e-12, atol=1e-12 * 1.7e9)
    assert got["count"].tolist() == [[n] for n in lengths]
    spread = np.stack([b.std(0) for b in blocks])
    np.testing.assert_allclose(got["std"], spread, rtol=1e-6)  # not swamped by the offset
    total = merged_stats(got)
    np.testing.assert_allclose(total["mean"], values.mean(0), rtol=1e-14)
    np.testing.assert_allclose(total["std"], values.std(0), rtol=1e-6)  # 1.7e9 offset
    assert total["min"] == values.min(0).tolist() and total["count"] == [lengths.sum()]


def test_data_file_holds_the_per_episode_frames(tmp_path):
    """One Arrow array per column per data file: every frame column equals the per-episode
    construction (index, episode and frame numbers across file boundaries)."""
    import pyarrow.parquet as pq

    task = cube_task("lerobot", episodes="0:3")
    episodes = task._episodes(task._scene())
    write_lerobot(tmp_path / "ds", episodes, file_frames=1, encoding="plain")
    files = sorted((tmp_path / "ds" / "data").glob("chunk-*/file-*.parquet"))
    assert len(files) == len(episodes)
    index = 0
    for n, (ep, f) in enumerate(zip(episodes, files, strict=True)):
        t = pq.read_table(f)
        T = ep.num_samples
        assert t.column("frame_index").to_pylist() == list(range(T))
        assert t.column("episode_index").to_pylist() == [n] * T
        assert t.column("index").to_pylist() == list(range(index, index + T))
        assert t.column("time").to_pylist() == ep.times.tolist()
        stamps = (ep.times - ep.times[0]).astype(np.float32)
        assert np.array_equal(t.column("timestamp").to_numpy(), stamps)
        qpos = np.array(t.column("observation.state").to_pylist())
        assert np.array_equal(qpos, ep.signals["qpos"].values)
        index += T


def _merged(root: Path) -> dict[str, str]:
    return {k.split("/", 1)[-1]: v for k, v in digest(root).items()}


@pytest.mark.parametrize("fmt", ["lerobot", "robomimic"])
def test_the_merge_streams_in_shard_order_whatever_order_shards_finish(tmp_path, monkeypatch, fmt):
    """`AugmentTask.merger` takes shard results in any order (Ray finishes the longest first),
    reads each shard once, as soon as every shard before it is in (not all at the end), and
    writes the bytes the job wrote, whatever the order."""
    import workbench.augment.merge as merge

    task = cube_task(fmt, variants=4, episodes="0:3")
    result = run(task, tmp_path / "job", size=2)
    name = "dataset" if fmt == "lerobot" else "dataset.hdf5"
    want = _merged(tmp_path / "job" / name)
    done = [result.results[s] for s in result.shards]
    assert sum(1 for r in done if r.files) >= 4
    reads = []
    for cls in (merge.LeRobotMerge, merge.RobomimicMerge):
        monkeypatch.setattr(cls, "add", _counting(cls.add, reads))
    rng = np.random.default_rng(0)
    for order in (done, done[::-1], [done[i] for i in rng.permutation(len(done))]):
        reads.clear()
        (tmp_path / "job" / name).rename(tmp_path / "previous")
        merger = task.merger(tmp_path / "job", result.shards)
        for k, r in enumerate(order):
            merger.add(r)
            ready = 0  # shards in job order before the first one not added yet
            while ready < len(done) and done[ready] in order[: k + 1]:
                ready += 1
            assert len(reads) == sum(1 for x in done[:ready] if x.files)
        assert reads == [  # each shard once, in job order
            tmp_path / "job" / "shards" / r.shard.name / r.files[0] for r in done if r.files
        ]
        merger.finish()
        assert _merged(tmp_path / "job" / name) == want
        _remove(tmp_path / "previous")


def _counting(add, reads):
    def counted(self, part):
        reads.append(Path(part))
        return add(self, part)

    return counted


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_merged_row_groups_and_bytes_do_not_depend_on_the_shard_size(tmp_path, monkeypatch):
    """Row groups are cut every GROUP_ROWS frames (here 100) and data files at episode
    boundaries every `file_frames`: one shard per variant or four per shard, same bytes."""
    import pyarrow.parquet as pq

    import workbench.augment.merge as merge

    monkeypatch.setattr(merge, "GROUP_ROWS", 100)
    task = cube_task("lerobot", variants=4, episodes="0:2")
    run(task, tmp_path / "one", size=1)
    run(task, tmp_path / "four", size=4)
    assert _merged(tmp_path / "one" / "dataset") == _merged(tmp_path / "four" / "dataset")
    meta = pq.ParquetFile(tmp_path / "one/dataset/data/chunk-000/file-000.parquet").metadata
    rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert len(rows) >= 3 and set(rows[:-1]) == {100} and 0 < rows[-1] <= 100


def test_a_damaged_finished_shard_is_named_and_the_earlier_dataset_kept(tmp_path, capsys):
    """A rerun that skips a finished shard whose data file was damaged since: error naming the
    shard and what to do, exit 2 from the CLI, the earlier dataset untouched, no staging left."""
    from workbench.cli import main
    from workbench.errors import DatasetError

    task = cube_task("lerobot", variants=4, episodes="0:2")
    out = tmp_path / "out"
    result = run(task, out, size=2)
    before = digest(out / "dataset")
    shard = next(s for s in result.shards if result.results[s].files)
    data = next((out / "shards" / shard.name).rglob("file-000.arrow"))
    data.write_bytes(data.read_bytes()[:64])
    with pytest.raises(DatasetError, match=rf"{shard.name}.*unreadable.*delete its shard folder"):
        run(task, out, size=2)
    assert digest(out / "dataset") == before
    assert not [p.name for p in out.iterdir() if p.name.startswith(".dataset")]
    args = ["augment", CUBE, "--scene", "cube_toss", "--spec", str(CUBE_SPEC), "--variants", "4"]
    args += ["--episodes", "0:2", "--seed", "3", "--chunk", "4", "--shard-size", "2"]
    assert main([*args, "--out", str(out), "--no-progress", "--backend", "serial"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and shard.name in err and "Traceback" not in err
    assert digest(out / "dataset") == before


@pytest.mark.parametrize("fmt", ["lerobot", "robomimic"])
def test_a_rerun_removes_what_a_run_killed_while_merging_left(tmp_path, fmt):
    """A run killed mid-merge leaves a staging folder (LeRobot) or a temporary file
    (robomimic) beside the dataset; the rerun removes it and writes the same dataset."""
    task = cube_task(fmt, variants=2, episodes="0:1")
    out = tmp_path / "out"
    run(task, out, size=2)
    name = "dataset" if fmt == "lerobot" else "dataset.hdf5"
    want = digest(out / name)
    (out / f".{name}.x1.new" / "data").mkdir(parents=True)
    (out / f".{name}.x1.new" / "data" / "junk.parquet").write_bytes(b"half")
    (out / f".{name}.x2.tmp").write_bytes(b"half")
    shutil.rmtree(out / "shards" / sorted(p.name for p in (out / "shards").iterdir())[0])
    run(task, out, size=2)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["job.json", "manifest.json", "shards", name]
    )
    assert digest(out / name) == want
