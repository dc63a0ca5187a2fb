"""LeRobot v3.0 datasets written with pyarrow (no LeRobot, torch or pandas needed).

Layout (what LeRobot 0.4's `LeRobotDataset` reads)::

    meta/info.json                              codebase_version "v3.0", fps, totals, features
    meta/stats.json                             min/max/mean/std/count per feature
    meta/tasks.parquet                          task_index, indexed by the task string (pandas)
    meta/episodes/chunk-000/file-000.parquet    one row per episode: length, index ranges,
                                                data file, per-episode stats, provenance
    data/chunk-000/file-000.parquet             one row per frame

Every signal is a float64 feature (values round-trip exactly), named by its columns; `time`
keeps the exact episode time [s] next to LeRobot's float32 `timestamp` (from 0). The episode id,
its metadata and the provenance of each variant are `workbench/...` columns of the episodes table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.datasets.features import TIME_KEY, feature_map
from workbench.datasets.provenance import Provenance, dumps
from workbench.datasets.stats import STATS, episode_stats, merged_stats
from workbench.episode import Episode
from workbench.errors import DatasetError
from workbench.output import check_output_folder, staging_folder, swap_in

CODEBASE_VERSION = "v3.0"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
TASKS_PATH = "meta/tasks.parquet"
Record = tuple[Episode, Provenance | None]


@dataclasses.dataclass(frozen=True)
class WriteSummary:
    """What a writer wrote: `files` relative to the dataset root, in write order."""

    path: Path
    episodes: int
    frames: int
    files: tuple[str, ...]


def _fixed(values: np.ndarray) -> pa.Array:
    """(T, k) float64 -> fixed-size list column (HF datasets' Sequence(length=k)); its child
    is named `element`, as parquet names it, so a column read back from a parquet or an Arrow
    file has the same type (and a merge of either writes the same bytes)."""
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float64).reshape(-1))
    kind = pa.list_(pa.field("element", pa.float64()), values.shape[1])
    return pa.FixedSizeListArray.from_arrays(flat, type=kind)


# encodings: "compact" (parquet, snappy; dictionary pages for the columns that repeat: small
# files), "plain" (parquet, uncompressed, no dictionary: ~2-4x faster to write and read; same
# values) and "arrow" (data files in Arrow IPC, `.arrow`, uncompressed: ~4x faster to write and
# ~6x faster to read than "plain"; for intermediate datasets such as augmentation shards, which
# are merged into "compact" parquet: LeRobot reads parquet only). Float columns get no
# dictionary: recorded signals hardly repeat, and pyarrow building one only to give up on it
# made the write 3.5x slower and the file larger (4.9 vs 4.6 MB, cube tosses).
ENCODINGS = {
    "compact": {"compression": "snappy", "use_dictionary": "repeating"},
    "plain": {"compression": "none", "use_dictionary": False},
    "arrow": {"compression": "none", "use_dictionary": False},  # its meta files: plain parquet
}
ARROW_DATA_PATH = DATA_PATH.removesuffix(".parquet") + ".arrow"


def _repeating(column: pa.DataType) -> bool:
    """Whether a column gets dictionary pages in "compact": integers, strings, lists of them."""
    while pa.types.is_list(column) or pa.types.is_fixed_size_list(column):
        column = column.value_type
    return not pa.types.is_floating(column)


def parquet_options(schema: pa.Schema, encoding: str = "compact") -> dict[str, Any]:
    """pyarrow parquet writer options of one of `ENCODINGS` for a table of `schema`."""
    options = dict(ENCODINGS[encoding])
    if options.get("use_dictionary") == "repeating":
        options["use_dictionary"] = [f.name for f in schema if _repeating(f.type)]
    return options


def write_parquet(table: pa.Table, path: Path, encoding: str = "compact") -> None:
    """Write `table` to `path` (parent folders created) as parquet with one of `ENCODINGS`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **parquet_options(table.schema, encoding))


def _write_data_file(table: pa.Table, path: Path, encoding: str) -> None:
    if encoding != "arrow":
        write_parquet(table, path, encoding)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def read_data_file(path: Path) -> pa.Table:
    """A data file as `write_lerobot` wrote it (parquet, or Arrow IPC for `.arrow`)."""
    if Path(path).suffix == ".arrow":
        with pa.OSFile(str(path), "rb") as source:
            return pa.ipc.open_file(source).read_all()
    return pq.read_table(path)


def tasks_table(tasks: list[str]) -> pa.Table:
    """The tasks table as pandas writes a DataFrame indexed by the task string."""
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": "task",
                "field_name": "task",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    table = pa.table(
        {"task_index": pa.array(range(len(tasks)), pa.int64()), "task": pa.array(tasks)}
    )
    return table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})


class _Layout:
    """Signals, columns and units every episode must share (taken from the first one)."""

    def __init__(self, episode: Episode, features: Mapping[str, str] | None) -> None:
        self.signals = sorted(episode.signals)
        self.keys = feature_map(self.signals, features, where="features")
        self.columns = {s: episode.signals[s].columns for s in self.signals}
        self.units = {s: (episode.signals[s].unit, episode.signals[s].frame) for s in self.signals}

    def check(self, episode: Episode) -> None:
        sig = sorted(episode.signals)
        if sig != self.signals:
            raise DatasetError(
                f"episode {episode.id!r}: signals {sig} differ from the first episode's "
                f"{self.signals}; a dataset holds one set of features"
            )
        for s in self.signals:
            got = episode.signals[s]
            if got.columns != self.columns[s] or (got.unit, got.frame) != self.units[s]:
                raise DatasetError(
                    f"episode {episode.id!r}: signal {s!r} columns/unit/frame "
                    f"{list(got.columns)}/{got.unit!r}/{got.frame!r} differ from the first "
                    f"episode's {list(self.columns[s])}/{self.units[s][0]!r}/{self.units[s][1]!r}"
                )


def _fps(episode: Episode) -> int:
    given = episode.metadata.get("fps")
    if isinstance(given, (int, float)) and not isinstance(given, bool) and given > 0:
        return int(round(given))
    return int(round(1.0 / float(np.median(np.diff(episode.times)))))


def write_lerobot(
    folder: str | Path,
    records: Iterable[Record | Episode],
    *,
    fps: int | None = None,
    task: str | None = None,
    robot_type: str | None = None,
    features: Mapping[str, str] | None = None,
    file_frames: int = 1_000_000,
    chunk_size: int = 1000,
    encoding: str = "compact",
) -> WriteSummary:
    """Write episodes (each optionally with its Provenance) as a LeRobot v3.0 dataset.

    The dataset is built in a staging folder beside `folder` and swapped in whole, so a failed
    write leaves an earlier dataset untouched.

    Args:
      folder: the dataset root.
      records: Episodes or (Episode, Provenance | None) pairs; all with the same signals.
      fps: frames per second (default: the first episode's metadata `fps`, else 1 / median dt).
      task: task string of every episode (default: each episode's metadata `task`, else
        "replay").
      robot_type: `robot_type` in info.json (default: the first episode's metadata `robot`).
      features: {signal: feature key} overrides of the defaults (`qpos` -> `observation.state`,
        `ctrl` -> `action`, ...).
      file_frames: frames per data file before a new file starts.
      chunk_size: files per chunk folder.
      encoding: "compact" (parquet, snappy, dictionary pages), "plain" (parquet, uncompressed:
        faster to write and read back) or "arrow" (data files in Arrow IPC, fastest; for
        datasets merged later, e.g. shards: LeRobot reads parquet only); same values.
    Raises:
      DatasetError: no episodes, or episodes whose signals differ.
      OutputError: `folder` cannot be written.
    """
    if encoding not in ENCODINGS:
        raise DatasetError(f"encoding: expected one of {list(ENCODINGS)}, got {encoding!r}")
    folder = check_output_folder(folder, option="dataset folder")
    staged = staging_folder(folder)
    try:
        summary = _write(
            staged, records, fps, task, robot_type, features, file_frames, chunk_size, encoding
        )
    except BaseException:
        import shutil

        shutil.rmtree(staged, ignore_errors=True)
        raise
    swap_in(staged, folder)
    return dataclasses.replace(summary, path=folder)


def _write(
    root, records, fps, task, robot_type, features, file_frames, chunk_size, encoding
) -> WriteSummary:
    layout = None
    tasks: dict[str, int] = {}
    episode_rows: list[dict[str, Any]] = []
    stats: dict[str, dict[str, list[np.ndarray]]] = {}  # key -> stat -> per-file (n, k) blocks
    files: list[str] = []
    pending: list[tuple[Episode, int, int]] = []  # (episode, episode_index, task_index)
    pending_frames = 0
    file_number = 0
    index = 0
    data_path = ARROW_DATA_PATH if encoding == "arrow" else DATA_PATH
    meta_encoding = "plain" if encoding == "arrow" else encoding

    def flush() -> None:
        nonlocal pending, pending_frames, file_number
        if not pending:
            return
        rel = data_path.format(
            chunk_index=file_number // chunk_size, file_index=file_number % chunk_size
        )
        table, columns = _data_table(layout, pending, index - pending_frames)
        _write_data_file(table, root / rel, encoding)
        lengths = np.array([ep.num_samples for ep, _, _ in pending], dtype=np.int64)
        for key, values in columns.items():
            block = episode_stats(values, lengths)
            per_stat = stats.setdefault(key, {stat: [] for stat in STATS})
            for stat in STATS:
                per_stat[stat].append(block[stat])
        files.append(rel)
        pending, pending_frames = [], 0
        file_number += 1

    for n, record in enumerate(records):
        episode, prov = (record, None) if isinstance(record, Episode) else record
        if not isinstance(episode, Episode) or not (prov is None or isinstance(prov, Provenance)):
            raise DatasetError(
                f"records[{n}]: expected an Episode or (Episode, Provenance | None), got "
                f"{type(record).__name__}"
            )
        if layout is None:
            layout = _Layout(episode, features)
            fps = fps if fps is not None else _fps(episode)
            robot_type = robot_type or str(episode.metadata.get("robot", "")) or None
        layout.check(episode)
        if pending_frames and pending_frames + episode.num_samples > file_frames:
            flush()
        name = task or str(episode.metadata.get("task", "")) or "replay"
        task_index = tasks.setdefault(name, len(tasks))
        T = episode.num_samples
        pending.append((episode, n, task_index))
        pending_frames += T
        episode_rows.append(
            {
                "episode_index": n,
                "tasks": [name],
                "length": T,
                "data/chunk_index": file_number // chunk_size,
                "data/file_index": file_number % chunk_size,
                "dataset_from_index": index,
                "dataset_to_index": index + T,
                "meta/episodes/chunk_index": 0,
                "meta/episodes/file_index": 0,
                "workbench/episode_id": episode.id,
                "workbench/metadata": dumps(dict(episode.metadata)),
                "workbench/source_episode": prov.source_episode if prov else None,
                "workbench/variant": prov.variant if prov else None,
                "workbench/seed": prov.seed if prov else None,
                "workbench/transform": dumps(dict(prov.transform)) if prov else None,
                "workbench/params": dumps(dict(prov.params)) if prov else None,
            }
        )
        index += T
    if layout is None:
        raise DatasetError("records: expected at least one episode, got none")
    flush()
    per_episode = {
        key: {stat: np.concatenate(blocks) for stat, blocks in per_stat.items()}
        for key, per_stat in stats.items()
    }
    write_parquet(
        _episodes_table(episode_rows, per_episode),
        root / EPISODES_PATH.format(chunk_index=0, file_index=0),
        meta_encoding,
    )
    write_parquet(tasks_table(list(tasks)), root / TASKS_PATH, meta_encoding)
    info = _info(layout, fps, robot_type, len(episode_rows), index, len(tasks), chunk_size)
    info["data_path"] = data_path
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    all_stats = {key: merged_stats(per_episode[key]) for key in sorted(per_episode)}
    (root / "meta" / "stats.json").write_text(json.dumps(all_stats, indent=2) + "\n")
    files += [
        EPISODES_PATH.format(chunk_index=0, file_index=0),
        TASKS_PATH,
        "meta/info.json",
        "meta/stats.json",
    ]
    return WriteSummary(root, len(episode_rows), index, tuple(files))


def _data_table(
    layout: _Layout, episodes: list[tuple[Episode, int, int]], first: int
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """One data file's frames: (episode, episode_index, task_index) in order, frames numbered
    from `first`; the frame columns one Arrow array each (the values `write_lerobot`
    documents). Also every column's values by feature key, (N, k) or (N,), for its stats."""
    lengths = np.array([ep.num_samples for ep, _, _ in episodes], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    values: dict[str, np.ndarray] = {}
    for signal in layout.signals:
        key = layout.keys[signal]
        values[key] = np.concatenate([ep.signals[signal].values for ep, _, _ in episodes])
        cols[key] = _fixed(values[key])
    times = [ep.times for ep, _, _ in episodes]
    values[TIME_KEY] = np.concatenate(times)
    values["timestamp"] = np.concatenate([(t - t[0]).astype(np.float32) for t in times])
    values["frame_index"] = np.arange(total) - np.repeat(starts, lengths)
    ep_index = np.array([e for _, e, _ in episodes], dtype=np.int64)
    values["episode_index"] = np.repeat(ep_index, lengths)
    values["index"] = np.arange(first, first + total, dtype=np.int64)
    task = np.array([t for _, _, t in episodes], dtype=np.int64)
    values["task_index"] = np.repeat(task, lengths)
    cols[TIME_KEY] = pa.array(values[TIME_KEY], pa.float64())
    cols["timestamp"] = pa.array(values["timestamp"], pa.float32())
    for key in ("frame_index", "episode_index", "index", "task_index"):
        cols[key] = pa.array(values[key], pa.int64())
    return pa.table(cols), values


_ROW_TYPES = {
    "tasks": pa.list_(pa.string()),
    "workbench/variant": pa.int64(),
    "workbench/seed": pa.int64(),
    "workbench/source_episode": pa.string(),
    "workbench/transform": pa.string(),
    "workbench/params": pa.string(),
}


def _rows_of(block: np.ndarray, value_type: pa.DataType) -> pa.Array:
    """(n, k) array -> n list<value_type> rows of k values each."""
    n, k = block.shape
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32), pa.int32())
    return pa.ListArray.from_arrays(offsets, pa.array(block.reshape(-1), value_type))


def _episodes_table(
    rows: list[dict[str, Any]], per_episode: Mapping[str, Mapping[str, np.ndarray]]
) -> pa.Table:
    """The episodes table: `rows` (one per episode) and per feature `stats/<key>/<stat>`."""
    arrays = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        arrays[name] = pa.array(values, _ROW_TYPES.get(name))
    for key, per_stat in per_episode.items():
        for stat in STATS:
            value_type = pa.int64() if stat == "count" else pa.float64()
            arrays[f"stats/{key}/{stat}"] = _rows_of(per_stat[stat], value_type)
    return pa.table(arrays)


def _info(layout, fps, robot_type, episodes, frames, ntasks, chunk_size) -> dict[str, Any]:
    features: dict[str, Any] = {}
    signals: dict[str, Any] = {}
    for signal in layout.signals:
        key = layout.keys[signal]
        cols = layout.columns[signal]
        features[key] = {"dtype": "float64", "shape": [len(cols)], "names": list(cols)}
        unit, frame = layout.units[signal]
        signals[key] = {"signal": signal, "unit": unit, "frame": frame}
    features[TIME_KEY] = {"dtype": "float64", "shape": [1], "names": None}
    features["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
    for key in ("frame_index", "episode_index", "index", "task_index"):
        features[key] = {"dtype": "int64", "shape": [1], "names": None}
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": episodes,
        "total_frames": frames,
        "total_tasks": ntasks,
        "chunks_size": chunk_size,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 500,
        "fps": fps,
        "splits": {"train": f"0:{episodes}"},
        "data_path": DATA_PATH,
        "video_path": None,
        "features": features,
        "workbench": {"signals": signals},
    }
