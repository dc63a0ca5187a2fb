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
from workbench.datasets.stats import RunningStats
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
    """(T, k) float64 -> fixed-size list column (HF datasets' Sequence(length=k))."""
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float64).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])


# parquet encodings: "compact" (snappy, dictionary pages: small files, LeRobot's choice) and
# "plain" (uncompressed, no dictionary: ~2-4x faster to write and read; same values)
ENCODINGS = {
    "compact": {"compression": "snappy"},
    "plain": {"compression": "none", "use_dictionary": False},
}


def _write_parquet(table: pa.Table, path: Path, encoding: str = "compact") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **ENCODINGS[encoding])


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
      encoding: parquet encoding, "compact" (snappy, dictionary pages) or "plain"
        (uncompressed: faster to write and read back, e.g. shards merged later); same values.
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
    stats: dict[str, RunningStats] = {}
    episode_rows: list[dict[str, Any]] = []
    files: list[str] = []
    pending: list[tuple[Episode, int, int]] = []  # (episode, episode_index, task_index)
    pending_frames = 0
    file_number = 0
    index = 0

    def flush() -> None:
        nonlocal pending, pending_frames, file_number
        if not pending:
            return
        rel = DATA_PATH.format(
            chunk_index=file_number // chunk_size, file_index=file_number % chunk_size
        )
        _write_parquet(_data_table(layout, pending, index - pending_frames), root / rel, encoding)
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
        ep_stats: dict[str, dict] = {}
        for signal in layout.signals:
            key, values = layout.keys[signal], episode.signals[signal].values
            ep_stats[key] = stats.setdefault(key, RunningStats()).add(values)
        times = episode.times
        ep_stats[TIME_KEY] = stats.setdefault(TIME_KEY, RunningStats()).add(times)
        ep_stats["timestamp"] = stats.setdefault("timestamp", RunningStats()).add(
            (times - times[0]).astype(np.float32)
        )
        # the integer columns' stats from exact sums (the floats `add` gives, without arrays)
        for key, first, step in (
            ("frame_index", 0, 1),
            ("episode_index", n, 0),
            ("index", index, 1),
            ("task_index", task_index, 0),
        ):
            ep_stats[key] = stats.setdefault(key, RunningStats()).add_range(first, T, step)
        pending.append((episode, n, task_index))
        pending_frames += T
        row = {
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
        for key, st in ep_stats.items():
            for stat, value in st.items():
                row[f"stats/{key}/{stat}"] = value
        episode_rows.append(row)
        index += T
    if layout is None:
        raise DatasetError("records: expected at least one episode, got none")
    flush()
    _write_parquet(
        _episodes_table(episode_rows),
        root / EPISODES_PATH.format(chunk_index=0, file_index=0),
        encoding,
    )
    _write_parquet(tasks_table(list(tasks)), root / TASKS_PATH, encoding)
    info = _info(
        layout, fps, robot_type, len(episode_rows), index, len(tasks), chunk_size, episode_rows
    )
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    all_stats = {key: st.as_dict() for key, st in sorted(stats.items())}
    (root / "meta" / "stats.json").write_text(json.dumps(all_stats, indent=2) + "\n")
    files += [
        EPISODES_PATH.format(chunk_index=0, file_index=0),
        TASKS_PATH,
        "meta/info.json",
        "meta/stats.json",
    ]
    return WriteSummary(root, len(episode_rows), index, tuple(files))


def _data_table(layout: _Layout, episodes: list[tuple[Episode, int, int]], first: int) -> pa.Table:
    """One data file's frames: (episode, episode_index, task_index) in order, frames numbered
    from `first`; the frame columns one Arrow array each (the values `write_lerobot`
    documents)."""
    lengths = np.array([ep.num_samples for ep, _, _ in episodes], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    for signal in layout.signals:  # per-episode chunks: long episodes are not copied again
        cols[layout.keys[signal]] = pa.chunked_array(
            [_fixed(ep.signals[signal].values) for ep, _, _ in episodes]
        )
    times = [ep.times for ep, _, _ in episodes]
    cols[TIME_KEY] = pa.array(np.concatenate(times), pa.float64())
    stamps = np.concatenate([(t - t[0]).astype(np.float32) for t in times])
    cols["timestamp"] = pa.array(stamps, pa.float32())
    cols["frame_index"] = pa.array(np.arange(total) - np.repeat(starts, lengths), pa.int64())
    ep_index = np.array([e for _, e, _ in episodes], dtype=np.int64)
    cols["episode_index"] = pa.array(np.repeat(ep_index, lengths), pa.int64())
    cols["index"] = pa.array(np.arange(first, first + total), pa.int64())
    task = np.array([t for _, _, t in episodes], dtype=np.int64)
    cols["task_index"] = pa.array(np.repeat(task, lengths), pa.int64())
    return pa.table(cols)


def _episodes_table(rows: list[dict[str, Any]]) -> pa.Table:
    names = list(rows[0])
    types = {
        "tasks": pa.list_(pa.string()),
        "workbench/variant": pa.int64(),
        "workbench/seed": pa.int64(),
        "workbench/source_episode": pa.string(),
        "workbench/transform": pa.string(),
        "workbench/params": pa.string(),
    }
    arrays = {}
    for name in names:
        values = [r[name] for r in rows]
        if name in types:
            arrays[name] = pa.array(values, types[name])
        elif name.startswith("stats/"):
            arrays[name] = pa.array(
                values, pa.list_(pa.float64()) if "count" not in name else pa.list_(pa.int64())
            )
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def _info(layout, fps, robot_type, episodes, frames, ntasks, chunk_size, rows) -> dict[str, Any]:
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
