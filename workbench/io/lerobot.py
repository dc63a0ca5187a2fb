"""LeRobot datasets (v2.1 and v3.0) as recording input: frames -> Episodes.

Datasets the workbench wrote carry their signal map, units and provenance and read back exactly.
For others, features map to signals by the default names (`observation.state` -> `qpos`,
`observation.velocity` -> `qvel`, `action` -> `ctrl`, `observation.effort` -> `qfrc_actuator`,
`observation.sensor.<s>` -> `sensor:<s>`) or by an explicit {signal: feature} map; columns come
from each feature's `names` (`<feature>[i]` where it has none); times from `timestamp`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.datasets.features import TIME_KEY, inverse_map
from workbench.datasets.lerobot import DATA_PATH, read_data_file
from workbench.datasets.provenance import Provenance
from workbench.episode import Episode, Signal
from workbench.errors import DatasetError, EpisodeError

VERSIONS = ("v2.1", "v3.0")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing (not a LeRobot dataset?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: invalid JSON: {exc}") from None


def _table(path: Path) -> pa.Table:
    """A parquet file, or an Arrow IPC file (`.arrow`: the workbench's intermediate shards)."""
    try:
        return read_data_file(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except (OSError, pa.ArrowException) as exc:
        kind = "Arrow IPC" if path.suffix == ".arrow" else "parquet"
        raise DatasetError(f"{path}: unreadable {kind}: {exc}") from None


def _names(key: str, feature: Mapping[str, Any], width: int) -> tuple[str, ...]:
    names = feature.get("names")
    if isinstance(names, Mapping) and len(names) == 1:  # {"motors": [...]} as older LeRobot wrote
        names = next(iter(names.values()))
    if isinstance(names, list) and len(names) == width and all(isinstance(n, str) for n in names):
        return tuple(names)
    return tuple(f"{key}[{i}]" for i in range(width))


def _matrix(column: pa.ChunkedArray, where: str) -> np.ndarray:
    """A list / fixed-size-list / scalar column as (T, k) float64."""
    col = column.combine_chunks()
    if (
        pa.types.is_list(col.type)
        or pa.types.is_fixed_size_list(col.type)
        or pa.types.is_large_list(col.type)
    ):
        if col.null_count:
            raise DatasetError(f"{where}: null rows")
        flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
        n = len(col)
        if n and flat.size % n:
            raise DatasetError(f"{where}: ragged rows ({flat.size} values in {n} rows)")
        return flat.reshape(n, -1 if n else 0)
    if (
        pa.types.is_integer(col.type)
        or pa.types.is_floating(col.type)
        or pa.types.is_boolean(col.type)
    ):
        return col.to_numpy(zero_copy_only=False).astype(np.float64)[:, None]
    raise DatasetError(f"{where}: expected numbers, got column type {col.type}")


def read_lerobot_records(
    folder: str | Path,
    *,
    signals: Mapping[str, str] | None = None,
    episodes: list[int] | None = None,
) -> list[tuple[Episode, Provenance | None]]:
    """(Episode, Provenance or None) for each episode of a LeRobot v2.1 / v3.0 dataset.

    Args:
      folder: the dataset root (holding `meta/info.json`).
      signals: {signal: feature key}; default: the map the workbench wrote, else the defaults.
      episodes: episode indices to read (default: all).
    Raises:
      DatasetError: not a LeRobot dataset, an unsupported version, a missing feature or file,
        totals that do not match the files.
    """
    root = Path(folder)
    info = _json(root / "meta" / "info.json")
    if not isinstance(info, Mapping) or not isinstance(info.get("features"), Mapping):
        raise DatasetError(f"{root / 'meta/info.json'}: expected a table with 'features'")
    version = info.get("codebase_version")
    if version not in VERSIONS:
        raise DatasetError(
            f"{root / 'meta/info.json'}: codebase_version: expected one of {list(VERSIONS)}, "
            f"got {version!r}"
        )
    features = info["features"]
    written = (info.get("workbench") or {}).get("signals") or {}
    if signals is None and written:
        smap = {v["signal"]: k for k, v in written.items()}
    else:
        smap = inverse_map(features, signals, where=f"{root}: signals")
    rows, frames = _v3(root, info) if version == "v3.0" else _v21(root, info)
    if len(rows) != info.get("total_episodes"):
        raise DatasetError(
            f"{root / 'meta/info.json'}: total_episodes {info.get('total_episodes')} but "
            f"{len(rows)} episodes listed"
        )
    wanted = range(len(rows)) if episodes is None else episodes
    out = []
    for i in wanted:
        if not 0 <= i < len(rows):
            raise DatasetError(f"episodes: index {i} out of range 0..{len(rows) - 1}")
        out.append(_episode(root, rows[i], frames(rows[i]), features, written, smap, info))
    return out


def read_lerobot(folder: str | Path, **kwargs: Any) -> list[Episode]:
    """Episodes of a LeRobot v2.1 / v3.0 dataset (see `read_lerobot_records`)."""
    return [ep for ep, _ in read_lerobot_records(folder, **kwargs)]


def _v3(root: Path, info: Mapping[str, Any]):
    data_path = info.get("data_path") or DATA_PATH
    if not isinstance(data_path, str):
        raise DatasetError(
            f"{root / 'meta/info.json'}: data_path: expected a string, got {data_path!r}"
        )
    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise DatasetError(f"{root / 'meta/episodes'}: no chunk-*/file-*.parquet files")
    rows = [r for f in files for r in _table(f).to_pylist()]
    rows.sort(key=lambda r: r["episode_index"])
    cache: dict[tuple[int, int], pa.Table] = {}

    def frames(row: Mapping[str, Any]) -> pa.Table:
        key = (row["data/chunk_index"], row["data/file_index"])
        if key not in cache:
            cache.clear()
            try:
                rel = data_path.format(chunk_index=key[0], file_index=key[1])
            except (KeyError, IndexError, ValueError) as exc:
                raise DatasetError(
                    f"{root / 'meta/info.json'}: data_path {data_path!r}: expected a template "
                    f"of chunk_index and file_index, got {type(exc).__name__} {exc}"
                ) from None
            path = (root / rel).resolve()
            if not path.is_relative_to(root.resolve()):
                raise DatasetError(
                    f"{root / 'meta/info.json'}: data_path {data_path!r}: expected files inside "
                    f"the dataset folder, got {path}"
                )
            cache[key] = _table(path)
        table = cache[key]
        first = table.column("index")[0].as_py() if "index" in table.column_names else None
        start = row.get("dataset_from_index")
        if first is not None and start is not None:  # an episode's frames are contiguous
            part = table.slice(start - first, row["dataset_to_index"] - start)
            ep = part.column("episode_index").to_numpy()
            if part.num_rows and (ep == row["episode_index"]).all():
                return part
        index = table.column("episode_index").to_numpy()
        return table.take(pa.array(np.flatnonzero(index == row["episode_index"])))

    return rows, frames


def _v21(root: Path, info: Mapping[str, Any]):
    path = root / "meta" / "episodes.jsonl"
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: invalid JSON lines: {exc}") from None
    rows.sort(key=lambda r: r["episode_index"])
    pattern = info.get(
        "data_path", "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
    )
    chunk = int(info.get("chunks_size", 1000))

    def frames(row: Mapping[str, Any]) -> pa.Table:
        i = row["episode_index"]
        return _table(root / pattern.format(episode_chunk=i // chunk, episode_index=i))

    return rows, frames


def _episode(root, row, table, features, written, smap, info) -> tuple[Episode, Provenance | None]:
    n = row["episode_index"]
    where = f"{root}: episode {n}"
    if table.num_rows != row.get("length", table.num_rows):
        raise DatasetError(f"{where}: length {row.get('length')} but {table.num_rows} frames")
    order = (
        np.argsort(table.column("frame_index").to_numpy(), kind="stable")
        if "frame_index" in table.column_names
        else None
    )
    if order is not None:
        table = table.take(pa.array(order))
    if TIME_KEY in table.column_names:
        times = table.column(TIME_KEY).to_numpy()
    elif "timestamp" in table.column_names:
        times = table.column("timestamp").to_numpy().astype(np.float64)
    else:
        raise DatasetError(f"{where}: no 'timestamp' column")
    sigs = {}
    for signal, key in smap.items():
        if key not in table.column_names:
            raise DatasetError(f"{where}: feature {key!r} (signal {signal!r}) has no data column")
        values = _matrix(table.column(key), f"{where}: {key}")
        extra = written.get(key, {})
        sigs[signal] = Signal(
            values,
            _names(key, features.get(key, {}), values.shape[1]),
            extra.get("unit", ""),
            extra.get("frame", ""),
        )
    meta_json = row.get("workbench/metadata")
    metadata = (
        json.loads(meta_json)
        if meta_json
        else {"fps": info.get("fps"), "task": (row.get("tasks") or [""])[0]}
    )
    eid = row.get("workbench/episode_id") or f"episode_{n:06d}"
    try:
        episode = Episode(eid, times, sigs, metadata)
    except EpisodeError as exc:
        raise DatasetError(f"{where}: {exc}") from None
    prov = None
    if row.get("workbench/source_episode"):
        prov = Provenance(
            row["workbench/source_episode"],
            row.get("workbench/variant"),
            row.get("workbench/seed"),
            json.loads(row.get("workbench/transform") or "{}"),
            json.loads(row.get("workbench/params") or "{}"),
        )
    return episode, prov
