"""Apply a mapping to recording files and build validated Episodes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.episode import Episode, Signal
from workbench.errors import EpisodeError, MappingError
from workbench.io.mapping import Mapping, load_mapping
from workbench.io.tables import FORMATS, Table, read_table


def recording_files(recordings: str | Path | Sequence[str | Path], mapping: Mapping) -> list[Path]:
    """Expand files, folders (filtered by the mapping's `pattern`) and globs into sorted paths."""
    items = [recordings] if isinstance(recordings, (str, Path)) else list(recordings)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.glob(mapping.pattern)
                if p.is_file() and p.suffix.lower().lstrip(".") in (*FORMATS, "txt")
            )
            if not found:
                raise MappingError(f"{path}: no recording files matching {mapping.pattern!r}")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            matches = sorted(Path().glob(str(item))) if any(c in str(item) for c in "*?[") else []
            if not matches:
                raise MappingError(
                    f"recordings: expected a file, folder or glob, got {str(item)!r}"
                )
            files.extend(matches)
    return files


def parse_selection(selector: str | None, n: int) -> list[int]:
    """Episode indices from "a:b", "a:b:step", "i", "i,j,a:b" (Python slice semantics)."""
    if selector is None or selector.strip() in ("", ":", "all"):
        return list(range(n))
    chosen: list[int] = []
    for part in selector.split(","):
        part = part.strip()
        try:
            bits = [int(b) if b.strip() else None for b in part.split(":")]
        except ValueError:
            bits = []
        if not 1 <= len(bits) <= 3 or (len(bits) == 1 and bits[0] is None):
            raise MappingError(
                f"episodes: expected selectors like '0:50', '3' or '0,4,10:20', got {selector!r}"
            )
        if len(bits) == 1:
            if not -n <= bits[0] < n:
                raise MappingError(f"episodes: index {bits[0]} out of range for {n} episodes")
            chosen.append(bits[0] % n)
        else:
            if len(bits) == 3 and bits[2] == 0:
                raise MappingError(f"episodes: slice step must not be zero, got {part!r}")
            chosen.extend(range(n)[slice(*bits)])
    if not chosen:
        raise MappingError(f"episodes: selection {selector!r} matched none of {n} episodes")
    return list(dict.fromkeys(chosen))


def _row_ranges(table: Table, mapping: Mapping) -> list[tuple[str, np.ndarray]]:
    """(episode id, row indices) for each episode of one table."""
    split, stem, n = mapping.split, table.path.stem, table.num_rows
    if split.offsets_from:
        offsets = np.asarray(table.extra(split.offsets_from, purpose="split.offsets_from"), int)
        if (
            offsets.ndim != 1
            or offsets.size < 2
            or offsets[0] != 0
            or offsets[-1] != n
            or np.any(np.diff(offsets) <= 0)
        ):
            raise MappingError(
                f"{table.path}: split offsets {split.offsets_from!r}: expected increasing values "
                f"from 0 to {n} rows, got {offsets[:3]}...{offsets[-3:]} (len {offsets.size})"
            )
        ids = (
            np.asarray(table.extra(split.ids_from, purpose="split.ids_from"))
            if split.ids_from
            else np.arange(offsets.size - 1)
        )
        if ids.size != offsets.size - 1:
            raise MappingError(
                f"{table.path}: split ids: expected {offsets.size - 1}, got {ids.size}"
            )
        return [
            (
                split.id_format.format(stem=stem, index=i, id=ids[i].item()),
                np.arange(offsets[i], offsets[i + 1]),
            )
            for i in range(ids.size)
        ]
    if split.column:
        key = table.column(split.column, purpose="split.column")
        out = []
        for i, value in enumerate(dict.fromkeys(key.tolist())):
            vid = int(value) if float(value).is_integer() else value
            out.append(
                (split.id_format.format(stem=stem, index=i, id=vid), np.flatnonzero(key == value))
            )
        return out
    return [(stem, np.arange(n))]


def _episode(table: Table, mapping: Mapping, episode_id: str, rows: np.ndarray) -> Episode:
    if rows.size < 2:
        raise EpisodeError(
            f"{table.path}: episode {episode_id!r}: expected at least 2 samples, got {rows.size}"
        )
    if mapping.time.column is not None:
        times = table.column(mapping.time.column, purpose="time")[rows] * mapping.time.scale
    else:
        times = np.arange(rows.size) / mapping.time.rate_hz
    signals = {}
    for sm in mapping.signals:
        raw = np.stack(
            [table.column(c, purpose=f"signal {sm.name!r}")[rows] for c in sm.columns], 1
        )
        values = (raw * np.asarray(sm.scale) + np.asarray(sm.offset)) * sm.unit_factor
        names = list(sm.names)
        if sm.quat_xyzw:  # reorder x, y, z, w -> w, x, y, z in place of the same columns
            x, y, z, w = sm.quat_xyzw
            values[:, [x, y, z, w]] = values[:, [w, x, y, z]]
        signals[sm.name] = Signal(values, tuple(names), sm.unit, sm.frame)
    metadata = {
        **mapping.metadata,
        "file": str(table.path),
        "mapping": mapping.source,
        "rows": [int(rows[0]), int(rows[-1]) + 1],
    }
    try:
        return Episode(episode_id, times, signals, metadata)
    except EpisodeError as exc:
        raise EpisodeError(f"{table.path}: {exc}") from None


def load_episodes(
    recordings: str | Path | Sequence[str | Path],
    mapping: Mapping | str | Path,
    *,
    select: str | None = None,
) -> list[Episode]:
    """Read recordings through a mapping into validated episodes.

    Args:
      recordings: a file, a folder (files matching the mapping's `pattern`) or a list of them.
      mapping: a Mapping or the path of a mapping TOML file.
      select: optional episode selector over all episodes in file order, e.g. "0:50".
    Raises:
      MappingError: a column, key or file the mapping needs is missing or malformed.
      EpisodeError: NaN/Inf values, non-monotonic or duplicate time.
    """
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    plan = []
    for path in recording_files(recordings, mapping):
        table = read_table(
            path, fmt=mapping.format, array=mapping.npz_array, columns_from=mapping.npz_columns_from
        )
        for sm in mapping.signals:  # fail on a missing column before splitting anything
            for c in sm.columns:
                table.column(c, purpose=f"signal {sm.name!r}")
        plan.extend((table, eid, rows) for eid, rows in _row_ranges(table, mapping))
    episodes = [
        _episode(*plan[i][:1], mapping, *plan[i][1:]) for i in parse_selection(select, len(plan))
    ]
    ids = [e.id for e in episodes]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise MappingError(
            f"episode ids: expected unique, got duplicates {dup}; set split.id_format"
        )
    return episodes
