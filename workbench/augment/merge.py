"""Merge shard datasets into one by concatenation, without rebuilding episodes.

LeRobot v3.0: the shards' data tables are concatenated as Arrow tables (values copied, never
converted to Episodes and back); only the global index columns (`episode_index`, `index`,
`task_index`) are shifted or remapped, the episodes tables likewise (index ranges, data file,
per-episode stats of the shifted columns), and `meta/stats.json` is merged from the per-episode
stats (counts, means, standard deviations, extremes). robomimic: demo groups are copied with
`h5py` (`Group.copy`, no decoding) under consecutive names.

The result is the same dataset a single writer would produce up to the rounding of merged
standard deviations; it is a pure function of the shards in order, so it is byte-identical
whichever backend produced the shards.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.datasets.lerobot import (
    DATA_PATH,
    EPISODES_PATH,
    TASKS_PATH,
    WriteSummary,
    read_data_file,
    tasks_table,
    write_parquet,
)
from workbench.datasets.provenance import dumps
from workbench.datasets.stats import STATS, merged_stats
from workbench.errors import DatasetError
from workbench.output import staging_folder, swap_in

SHIFTED = ("episode_index", "index")


@dataclasses.dataclass(frozen=True)
class ShardPart:
    """One shard dataset read into memory (`read_part`): what the merge takes from it."""

    path: Path
    info: dict
    episodes: pa.Table
    tasks: list[str]
    data: pa.Table


def read_part(part: Path) -> ShardPart:
    """Read a LeRobot shard dataset for `merge_lerobot` (e.g. as soon as its shard finishes,
    while others still run, so the merge itself only concatenates and writes)."""
    part = Path(part)
    info = json.loads((part / "meta" / "info.json").read_text())
    episodes = pq.read_table(part / EPISODES_PATH.format(chunk_index=0, file_index=0))
    tasks = pq.read_table(part / TASKS_PATH).column("task").to_pylist()
    files = sorted((part / "data").glob("chunk-*/file-*.*"))
    data = pa.concat_tables([read_data_file(f) for f in files])
    return ShardPart(part, info, episodes, tasks, data)


def _read(part: Path | ShardPart):
    p = part if isinstance(part, ShardPart) else read_part(part)
    return p.info, p.episodes, p.tasks, p.data


def _set(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


def _shift_stats(table: pa.Table, key: str, offset: float) -> pa.Table:
    for stat in ("min", "max", "mean"):
        name = f"stats/{key}/{stat}"
        if name in table.column_names:
            rows = table.column(name).to_pylist()
            table = _set(table, name, [[v + offset for v in r] for r in rows])
    return table


def merge_lerobot(
    parts: Sequence[Path | ShardPart], folder: Path, *, file_frames: int = 1_000_000
) -> WriteSummary:
    """Concatenate LeRobot v3.0 shard datasets `parts` (in order; folders, or `read_part`
    results read earlier: the same bytes) into `folder`."""
    folder = Path(folder)
    staged = staging_folder(folder)
    try:
        summary = _merge(parts, staged, file_frames)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    swap_in(staged, folder)
    return WriteSummary(folder, summary.episodes, summary.frames, summary.files)


def _merge(parts, root: Path, file_frames: int) -> WriteSummary:
    info0, tasks, data_tables, episode_tables = None, [], [], []
    n_episodes = n_frames = 0
    for part in parts:
        info, episodes, part_tasks, data = _read(part)
        if info0 is None:
            info0 = info
        elif info["features"] != info0["features"] or info["fps"] != info0["fps"]:
            where = part.path if isinstance(part, ShardPart) else part
            raise DatasetError(f"{where}: features or fps differ from the first shard's")
        remap = np.array([_task_index(tasks, t) for t in part_tasks], dtype=np.int64)
        ep_index = data.column("episode_index").to_numpy() + n_episodes
        data = _set(data, "episode_index", ep_index)
        data = _set(data, "index", data.column("index").to_numpy() + n_frames)
        data = _set(data, "task_index", remap[data.column("task_index").to_numpy()])
        data_tables.append(data)
        episodes = _set(
            episodes, "episode_index", episodes.column("episode_index").to_numpy() + n_episodes
        )
        for col in ("dataset_from_index", "dataset_to_index"):
            episodes = _set(episodes, col, episodes.column(col).to_numpy() + n_frames)
        episodes = _shift_stats(episodes, "episode_index", n_episodes)
        episodes = _shift_stats(episodes, "index", n_frames)
        t = episodes.column("tasks").to_pylist()
        new_task = [int(remap[part_tasks.index(ts[0])]) for ts in t]
        for stat in ("min", "max", "mean"):
            name = f"stats/task_index/{stat}"
            if name in episodes.column_names:
                episodes = _set(episodes, name, [[float(v)] for v in new_task])
        episode_tables.append(episodes)
        n_episodes += episodes.num_rows
        n_frames += data.num_rows
    if info0 is None:
        raise DatasetError("merge: expected at least one shard dataset, got none")
    episodes = pa.concat_tables(episode_tables)
    data = pa.concat_tables(data_tables)
    # data files: split at episode boundaries every `file_frames` frames
    lengths = episodes.column("length").to_numpy()
    chunk_size = int(info0.get("chunks_size", 1000))
    files, file_of = [], np.zeros(len(lengths), dtype=np.int64)
    start = count = number = 0
    for i, n in enumerate(lengths):
        if count and count + n > file_frames:
            files.append(_write_data(root, data.slice(start, count), number, chunk_size))
            start, count, number = start + count, 0, number + 1
        file_of[i] = number
        count += int(n)
    files.append(_write_data(root, data.slice(start, count), number, chunk_size))
    episodes = _set(episodes, "data/chunk_index", file_of // chunk_size)
    episodes = _set(episodes, "data/file_index", file_of % chunk_size)
    rel = EPISODES_PATH.format(chunk_index=0, file_index=0)
    write_parquet(episodes, root / rel)
    write_parquet(tasks_table(tasks), root / TASKS_PATH)
    info = dict(info0)
    info.update(
        total_episodes=n_episodes,
        total_frames=n_frames,
        total_tasks=len(tasks),
        splits={"train": f"0:{n_episodes}"},
        data_path=DATA_PATH,
    )
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    stats = _merged_stats(episodes, list(info0["features"]))
    (root / "meta" / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    files += [rel, TASKS_PATH, "meta/info.json", "meta/stats.json"]
    return WriteSummary(root, n_episodes, n_frames, tuple(files))


def _task_index(tasks: list[str], task: str) -> int:
    if task not in tasks:
        tasks.append(task)
    return tasks.index(task)


def _write_data(root: Path, table: pa.Table, number: int, chunk_size: int) -> str:
    rel = DATA_PATH.format(chunk_index=number // chunk_size, file_index=number % chunk_size)
    write_parquet(table, root / rel)
    return rel


def _merged_stats(episodes: pa.Table, keys: list[str]) -> dict:
    """stats.json from the episodes table's per-episode stats (what a single writer computes)."""
    out = {}
    for key in sorted(keys):
        if f"stats/{key}/mean" not in episodes.column_names:
            continue
        out[key] = merged_stats(
            {stat: episodes.column(f"stats/{key}/{stat}").to_pylist() for stat in STATS}
        )
    return out


def merge_robomimic(parts: Sequence[Path], path: Path, *, model_file: str = "") -> WriteSummary:
    """Concatenate robomimic shard files (in order) into `path` (demo groups copied as stored;
    `model_file` set on every demo when given)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    total = n = 0
    env_args = None
    try:
        with h5py.File(tmp, "w", track_order=True) as f:
            data = f.create_group("data", track_order=True)
            for part in parts:
                with h5py.File(part, "r") as src:
                    env_args = env_args or src["data"].attrs["env_args"]
                    demos = sorted(src["data"], key=lambda k: int(k.split("_")[1]))
                    for name in demos:
                        dst = f"demo_{n}"
                        src.copy(src["data"][name], data, name=dst)
                        if model_file:
                            data[dst].attrs.create(
                                "model_file", model_file, dtype=h5py.string_dtype("utf-8")
                            )
                        total += int(src["data"][name].attrs["num_samples"])
                        n += 1
            if n == 0:
                raise DatasetError("merge: expected at least one shard file, got none")
            data.attrs["total"] = np.int64(total)
            data.attrs.create(
                "env_args",
                env_args if isinstance(env_args, str) else dumps({}),
                dtype=h5py.string_dtype("utf-8"),
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return WriteSummary(path, n, total, (path.name,))
