"""Merge shard datasets into one by concatenation, streaming, without rebuilding episodes.

LeRobot v3.0 (`LeRobotMerge`): each shard's data table is appended as Arrow columns (values
copied, never converted to Episodes and back) with only the global index columns
(`episode_index`, `index`, `task_index`) shifted or remapped, and written out in row groups of
`GROUP_ROWS` frames as soon as they fill, so the merge holds one row group, not the dataset, in
memory; the episodes tables are shifted likewise (index ranges, data file, per-episode stats of
the shifted columns) and `meta/stats.json` is merged from the per-episode stats at the end.
robomimic (`RobomimicMerge`): demo groups copied with `h5py` (`Group.copy`, no decoding) under
consecutive names.

Row groups and data files are cut at fixed frame counts, so the bytes are a pure function of
the shards' contents in order: the same whichever backend produced the shards, in whatever
order they finished, and with any shard size.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.datasets.lerobot import (
    DATA_PATH,
    EPISODES_PATH,
    TASKS_PATH,
    WriteSummary,
    parquet_options,
    read_data_file,
    tasks_table,
    write_parquet,
)
from workbench.datasets.provenance import dumps
from workbench.datasets.stats import STATS, merged_stats
from workbench.errors import DatasetError, SettingsError
from workbench.execute.ordered import InOrder, add_all
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.output import remove_leftovers, staging_folder, swap_in


@dataclasses.dataclass(frozen=True)
class ShardPart:
    """One shard dataset read into memory (`read_part`): what the merge takes from it."""

    path: Path
    info: dict
    episodes: pa.Table
    tasks: list[str]
    data: pa.Table


def read_part(part: Path) -> ShardPart:
    """Read a LeRobot shard dataset (a DatasetError names the shard if it cannot be read)."""
    part = Path(part)
    try:
        info = json.loads((part / "meta" / "info.json").read_text())
        episodes = pq.read_table(part / EPISODES_PATH.format(chunk_index=0, file_index=0))
        tasks = pq.read_table(part / TASKS_PATH).column("task").to_pylist()
        files = sorted((part / "data").glob("chunk-*/file-*.*"))
        if not files:
            raise FileNotFoundError(f"no data files under {part / 'data'}")
        data = pa.concat_tables([read_data_file(f) for f in files])
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise DatasetError(
            f"{part}: shard dataset unreadable ({type(exc).__name__}: {exc}); delete its shard "
            "folder and run the job again to redo that shard"
        ) from None
    return ShardPart(part, info, episodes, tasks, data)


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


GROUP_ROWS = 1 << 16  # frames per parquet row group of a merged data file


class LeRobotMerge:
    """Concatenate LeRobot v3.0 shard datasets, added in order (`add`), into `folder`.

    Built in a staging folder beside `folder` and swapped in by `finish`, so an earlier dataset
    stays whole until then; `abort` removes the staging folder. Data files roll over at episode
    boundaries every `file_frames` frames.
    """

    def __init__(self, folder: str | Path, *, file_frames: int = 1_000_000) -> None:
        self.folder = Path(folder)
        self.file_frames = file_frames
        self._staged = staging_folder(self.folder)
        self._info0: dict | None = None
        self._tasks: list[str] = []
        self._episodes: list[pa.Table] = []
        self._files: list[str] = []
        self._episodes_n = self._frames_n = 0
        self._writer: pq.ParquetWriter | None = None
        self._file = -1  # number of the data file being written
        self._file_frames = 0  # frames in it so far
        self._rows: list[pa.Table] = []  # frames not yet written (< GROUP_ROWS)
        self._rows_n = 0

    def add(self, part: Path | ShardPart) -> None:
        """Append one shard dataset (a folder, or what `read_part` read from it)."""
        p = part if isinstance(part, ShardPart) else read_part(part)
        if self._info0 is None:
            self._info0 = p.info
        elif p.info["features"] != self._info0["features"] or p.info["fps"] != self._info0["fps"]:
            raise DatasetError(f"{p.path}: features or fps differ from the first shard's")
        remap = np.array([_task_index(self._tasks, t) for t in p.tasks], dtype=np.int64)
        n_ep, n_fr = self._episodes_n, self._frames_n
        data = p.data
        data = _set(data, "episode_index", data.column("episode_index").to_numpy() + n_ep)
        data = _set(data, "index", data.column("index").to_numpy() + n_fr)
        data = _set(data, "task_index", remap[data.column("task_index").to_numpy()])
        episodes = p.episodes
        episodes = _set(
            episodes, "episode_index", episodes.column("episode_index").to_numpy() + n_ep
        )
        for col in ("dataset_from_index", "dataset_to_index"):
            episodes = _set(episodes, col, episodes.column(col).to_numpy() + n_fr)
        episodes = _shift_stats(episodes, "episode_index", n_ep)
        episodes = _shift_stats(episodes, "index", n_fr)
        new_task = [int(remap[p.tasks.index(ts[0])]) for ts in episodes.column("tasks").to_pylist()]
        for stat in ("min", "max", "mean"):
            name = f"stats/task_index/{stat}"
            if name in episodes.column_names:
                episodes = _set(episodes, name, [[float(v)] for v in new_task])
        # place each episode in a data file, then append its frames there
        chunk_size = int(self._info0.get("chunks_size", 1000))
        files = np.empty(episodes.num_rows, dtype=np.int64)
        start = 0
        for i, n in enumerate(episodes.column("length").to_numpy()):
            if self._file < 0 or (self._file_frames and self._file_frames + n > self.file_frames):
                self._next_file(data.schema, chunk_size)
            files[i] = self._file
            self._append(data.slice(start, int(n)))
            self._file_frames += int(n)
            start += int(n)
        episodes = _set(episodes, "data/chunk_index", files // chunk_size)
        episodes = _set(episodes, "data/file_index", files % chunk_size)
        self._episodes.append(episodes)
        self._episodes_n += episodes.num_rows
        self._frames_n += data.num_rows

    def _next_file(self, schema: pa.Schema, chunk_size: int) -> None:
        self._close_file()
        self._file += 1
        self._file_frames = 0
        rel = DATA_PATH.format(
            chunk_index=self._file // chunk_size, file_index=self._file % chunk_size
        )
        path = self._staged / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(path, schema, **parquet_options(schema))
        self._files.append(rel)

    def _append(self, rows: pa.Table) -> None:
        self._rows.append(rows)
        self._rows_n += rows.num_rows
        while self._rows_n >= GROUP_ROWS:
            self._write_rows(GROUP_ROWS)

    def _write_rows(self, n: int) -> None:
        """Write the first `n` pending frames as one row group (chunk layout normalised, so
        the bytes do not depend on how the frames arrived)."""
        pending = pa.concat_tables(self._rows)
        self._writer.write_table(pending.slice(0, n).combine_chunks(), row_group_size=n)
        rest = pending.slice(n)
        self._rows, self._rows_n = ([rest] if rest.num_rows else []), rest.num_rows

    def _close_file(self) -> None:
        if self._writer is None:
            return
        if self._rows_n:
            self._write_rows(self._rows_n)
        self._writer.close()
        self._writer = None

    def finish(self) -> WriteSummary:
        """Write the metadata and swap the dataset in; DatasetError if no shard was added."""
        if self._info0 is None:
            self.abort()
            raise DatasetError("merge: expected at least one shard dataset, got none")
        try:
            self._close_file()
            root, info0 = self._staged, self._info0
            episodes = pa.concat_tables(self._episodes)
            rel = EPISODES_PATH.format(chunk_index=0, file_index=0)
            write_parquet(episodes, root / rel)
            write_parquet(tasks_table(self._tasks), root / TASKS_PATH)
            info = dict(info0)
            info.update(
                total_episodes=self._episodes_n,
                total_frames=self._frames_n,
                total_tasks=len(self._tasks),
                splits={"train": f"0:{self._episodes_n}"},
                data_path=DATA_PATH,
            )
            (root / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
            stats = _merged_stats(episodes, list(info0["features"]))
            (root / "meta" / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        except BaseException:
            self.abort()
            raise
        swap_in(root, self.folder)
        files = (*self._files, rel, TASKS_PATH, "meta/info.json", "meta/stats.json")
        return WriteSummary(self.folder, self._episodes_n, self._frames_n, files)

    def abort(self) -> None:
        """Drop what was written (an earlier dataset at `folder` is untouched)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self._staged, ignore_errors=True)


def merge_lerobot(
    parts: Sequence[Path | ShardPart], folder: Path, *, file_frames: int = 1_000_000
) -> WriteSummary:
    """Concatenate LeRobot v3.0 shard datasets `parts` (in order; folders, or `read_part`
    results: the same bytes) into `folder` (`LeRobotMerge`)."""
    return add_all(LeRobotMerge(folder, file_frames=file_frames), parts)


def _task_index(tasks: list[str], task: str) -> int:
    if task not in tasks:
        tasks.append(task)
    return tasks.index(task)


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


class RobomimicMerge:
    """Concatenate robomimic shard files, added in order (`add`), into `path` (demo groups
    copied as stored, renumbered; `model_file` set on every demo when given). Written to a
    temporary file beside `path`, renamed into place by `finish`; `abort` removes it."""

    def __init__(self, path: str | Path, *, model_file: str = "") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        os.close(fd)
        self._tmp = Path(tmp)
        self._model_file = model_file
        self._file = h5py.File(self._tmp, "w", track_order=True)
        self._data = self._file.create_group("data", track_order=True)
        self._env_args = None
        self._demos = self._samples = 0

    def add(self, part: str | Path) -> None:
        try:
            src = h5py.File(part, "r")
        except OSError as exc:
            raise DatasetError(
                f"{part}: shard file unreadable ({exc}); delete its shard folder and run the job "
                "again to redo that shard"
            ) from None
        with src:
            self._env_args = self._env_args or src["data"].attrs["env_args"]
            for name in sorted(src["data"], key=lambda k: int(k.split("_")[1])):
                dst = f"demo_{self._demos}"
                src.copy(src["data"][name], self._data, name=dst)
                if self._model_file:
                    self._data[dst].attrs.create(
                        "model_file", self._model_file, dtype=h5py.string_dtype("utf-8")
                    )
                self._samples += int(src["data"][name].attrs["num_samples"])
                self._demos += 1

    def finish(self) -> WriteSummary:
        try:
            if self._demos == 0:
                raise DatasetError("merge: expected at least one shard file, got none")
            self._data.attrs["total"] = np.int64(self._samples)
            self._data.attrs.create(
                "env_args",
                self._env_args if isinstance(self._env_args, str) else dumps({}),
                dtype=h5py.string_dtype("utf-8"),
            )
            self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise
        return WriteSummary(self.path, self._demos, self._samples, (self.path.name,))

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def merge_robomimic(parts: Sequence[Path], path: Path, *, model_file: str = "") -> WriteSummary:
    """Concatenate robomimic shard files (in order) into `path` (`RobomimicMerge`)."""
    return add_all(RobomimicMerge(path, model_file=model_file), parts)


class ShardsMerger:
    """`run_job`'s merger of augmentation shards (`AugmentTask.merger`): each finished shard's
    dataset is appended, in shard order (`workbench.execute.ordered.InOrder`), to the merged
    LeRobot folder or robomimic file at `final` while later shards still run.

    Args:
      out: the job folder (shard files are under `out/shards/<name>/`).
      final: the merged dataset (`out/dataset` or `out/dataset.hdf5`).
      fmt: "lerobot" or "robomimic"; model_file: gives the robomimic demos' `model_file`.
    """

    def __init__(
        self,
        out: Path,
        final: Path,
        fmt: str,
        shards: Sequence[ShardSpec],
        *,
        model_file: Callable[[], str] = str,
    ) -> None:
        self._out, self._final = Path(out), Path(final)
        self._fmt, self._model_file = fmt, model_file
        remove_leftovers(self._final)  # of a run killed while merging (a job is one process's)
        self._order = InOrder(shards, self._take)
        self._merge: LeRobotMerge | RobomimicMerge | None = None

    def _take(self, result: ShardResult) -> None:
        for name in result.files:
            if self._merge is None:
                if self._fmt == "lerobot":
                    self._merge = LeRobotMerge(self._final)
                else:
                    self._merge = RobomimicMerge(self._final, model_file=self._model_file())
            self._merge.add(self._out / "shards" / result.shard.name / name)

    def add(self, result: ShardResult) -> None:
        self._order.add(result)

    def finish(self) -> dict[str, Any]:
        if not self._order.complete:
            raise SettingsError("merge: finish() before every shard was added")
        if self._merge is None:
            return {"path": None, "episodes": 0, "note": "no variant accepted"}
        summary = self._merge.finish()
        return {
            "path": str(self._final.relative_to(self._out)),
            "format": self._fmt,
            "episodes": summary.episodes,
            "frames": summary.frames,
        }

    def abort(self) -> None:
        if self._merge is not None:
            self._merge.abort()
