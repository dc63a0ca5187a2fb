"""Apply a mapping to recording files and build validated Episodes."""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workbench.episode import Episode, Signal
from workbench.errors import EpisodeError, MappingError
from workbench.io.checks import check_finite, check_quaternions, check_times
from workbench.io.mapping import Mapping, SignalMapping, load_mapping
from workbench.io.rotations import to_mujoco_quaternions, unwrap_angles
from workbench.io.tables import FORMATS, Table, read_table

_SELECTOR_HELP = (
    "selectors like '0:50', '3', '-1' or '0,4,10:20' (Python slices; empty: not allowed)"
)


def recording_files(recordings: str | Path | Sequence[str | Path], mapping: Mapping) -> list[Path]:
    """Expand files, folders (filtered by the mapping's `pattern`) and globs into sorted paths."""
    if isinstance(recordings, (str, Path)):
        items = [recordings]
    elif isinstance(recordings, (list, tuple)):
        items = list(recordings)
    else:
        raise MappingError(
            f"recordings: expected a file, folder, glob or a list of them, got "
            f"{type(recordings).__name__} {recordings!r}"
        )
    if not items:
        raise MappingError("recordings: expected at least one file, folder or glob, got none")
    files: list[Path] = []
    for item in items:
        if not isinstance(item, (str, Path)) or not str(item):
            raise MappingError(f"recordings: expected a file, folder or glob, got {item!r}")
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.glob(mapping.pattern)
                if p.is_file() and p.suffix.lower().lstrip(".") in (*FORMATS, "txt")
            )
            if not found:
                raise MappingError(
                    f"{path}: no recording files matching pattern {mapping.pattern!r} "
                    f"(from {mapping.source}; extensions {list(FORMATS)} or txt)"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            matches = []
            if any(c in str(item) for c in "*?["):  # a glob, relative or absolute
                matches = sorted(Path(p) for p in glob.glob(str(item)) if Path(p).is_file())
            if not matches:
                raise MappingError(
                    f"recordings: expected a file, folder or glob, got {str(item)!r}"
                )
            files.extend(matches)
    return files


def parse_selection(selector: str | None, n: int) -> list[int]:
    """Episode indices from "a:b", "a:b:step", "i", "i,j,a:b" (Python slice semantics) over `n`
    episodes; None, ":" and "all" select every episode, an empty string is an error."""
    if selector is None:
        return list(range(n))
    if not isinstance(selector, str):
        raise MappingError(
            f"episodes: expected {_SELECTOR_HELP} or None for all {n} episodes, got "
            f"{type(selector).__name__} {selector!r}"
        )
    if selector.strip() in (":", "all"):
        return list(range(n))
    if not selector.strip():
        raise MappingError(
            f"episodes: expected {_SELECTOR_HELP} over {n} episodes, got an empty selection "
            f"{selector!r} (omit the option, or use ':' or 'all', for every episode)"
        )
    chosen: list[int] = []
    for part in selector.split(","):
        part = part.strip()
        try:
            bits = [int(b) if b.strip() else None for b in part.split(":")]
        except ValueError:
            bits = []
        if not 1 <= len(bits) <= 3 or (len(bits) == 1 and bits[0] is None):
            raise MappingError(
                f"episodes: expected {_SELECTOR_HELP} over {n} episodes, got {selector!r} "
                f"(bad part {part!r})"
            )
        if len(bits) == 1:
            if not -n <= bits[0] < n:
                raise MappingError(
                    f"episodes: index {bits[0]} out of range for {n} episodes "
                    f"(valid: 0..{n - 1} or -{n}..-1), in {selector!r}"
                )
            chosen.append(bits[0] % n)
        else:
            if len(bits) == 3 and bits[2] == 0:
                raise MappingError(f"episodes: slice step must not be zero, got {part!r}")
            chosen.extend(range(n)[slice(*bits)])
    if not chosen:
        raise MappingError(f"episodes: selection {selector!r} matched none of {n} episodes")
    return list(dict.fromkeys(chosen))


def _episode_id(table: Table, mapping: Mapping, index: int, value: object) -> str:
    fmt = mapping.split.id_format
    try:
        return fmt.format(stem=table.path.stem, index=index, id=value)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise MappingError(
            f"{table.path}: split.id_format {fmt!r} (from {mapping.source}) cannot format "
            f"episode {index} with id {value!r}: {exc}"
        ) from None


def _offsets(table: Table, mapping: Mapping) -> np.ndarray:
    split, n = mapping.split, table.num_rows
    raw = np.asarray(table.extra(split.offsets_from, purpose="split.offsets_from"))
    integral = raw.dtype.kind in "iu" or (
        raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
    )
    offsets = raw.astype(np.int64) if integral and raw.size else np.zeros(0, np.int64)
    if (
        not integral
        or offsets.ndim != 1
        or offsets.size < 2
        or offsets[0] != 0
        or offsets[-1] != n
        or np.any(np.diff(offsets) <= 0)
    ):
        flat = raw.reshape(-1)
        raise MappingError(
            f"{table.path}: split offsets {split.offsets_from!r}: expected increasing integers "
            f"from 0 to {n} rows, got {flat[:3]}...{flat[-3:]} (dtype {raw.dtype}, shape "
            f"{raw.shape})"
        )
    return offsets


def row_ranges(table: Table, mapping: Mapping) -> list[tuple[str, np.ndarray]]:
    """(episode id, row indices) for each episode of one table."""
    split, n = mapping.split, table.num_rows
    if split.offsets_from:
        offsets = _offsets(table, mapping)
        ids = (
            np.asarray(table.extra(split.ids_from, purpose="split.ids_from")).reshape(-1)
            if split.ids_from
            else np.arange(offsets.size - 1)
        )
        if ids.size != offsets.size - 1:
            raise MappingError(
                f"{table.path}: split ids {split.ids_from!r}: expected {offsets.size - 1} "
                f"(one per episode), got {ids.size}"
            )
        return [
            (_episode_id(table, mapping, i, ids[i].item()), np.arange(offsets[i], offsets[i + 1]))
            for i in range(ids.size)
        ]
    if split.column:
        key = table.column(split.column, purpose="split.column")
        bad = np.flatnonzero(~np.isfinite(key))
        if bad.size:
            raise EpisodeError(
                f"{table.path}: split column {split.column!r}: expected finite values, got "
                f"{key[bad[0]]} at row {bad[0]}"
            )
        out = []
        for i, value in enumerate(dict.fromkeys(key.tolist())):
            vid = int(value) if float(value).is_integer() else value
            out.append((_episode_id(table, mapping, i, vid), np.flatnonzero(key == value)))
        return out
    return [(table.path.stem, np.arange(n))]


def file_rate(table: Table, key: str) -> float:
    """A sampling rate [Hz] from a file header value (e.g. QTM's FREQUENCY)."""
    value = np.asarray(table.extra(key, purpose="time.rate_from"))
    if value.size != 1 or not np.isfinite(value).all() or float(value.reshape(-1)[0]) <= 0:
        raise MappingError(
            f"{table.path}: time.rate_from {key!r}: expected one number > 0 [Hz], got "
            f"{value.reshape(-1)[:3].tolist()}"
        )
    return float(value.reshape(-1)[0])


def _times(table: Table, mapping: Mapping, rows: np.ndarray, where: str) -> np.ndarray:
    """(T,) seconds of an episode's rows, checked (finite, bounded, increasing, no jumps)."""
    tm = mapping.time
    if tm.column is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            times = table.column(tm.column, purpose="time")[rows] * tm.scale
        source = f"column {tm.column!r}" + (f" * {tm.scale:g}" if tm.scale != 1.0 else "")
    else:
        rate = tm.rate_hz if tm.rate_hz is not None else file_rate(table, tm.rate_from)
        times = np.arange(rows.size) / rate
        source = f"rate_hz = {rate:g}" + (f" (from {tm.rate_from})" if tm.rate_from else "")
    check_times(
        times, rows, where=where, source=source, max_gap_s=tm.max_gap_s, mapping=mapping.source
    )
    return times


def _signal(
    table: Table, sm: SignalMapping, rows: np.ndarray, times: np.ndarray, where: str
) -> Signal:
    """One converted signal, checked (finite values, unit-norm quaternions)."""
    raw = np.zeros((rows.size, len(sm.columns)))
    for k, c in enumerate(sm.columns):
        raw[:, k] = table.column(c, purpose=f"signal {sm.name!r}")[rows]
    with np.errstate(over="ignore", invalid="ignore"):
        values = (raw * np.asarray(sm.scale) + np.asarray(sm.offset)) * sm.column_factors
    kw = {"where": where, "signal": sm.name}
    check_finite(values, raw, rows, times, names=sm.names, columns=sm.columns, **kw)
    if sm.unwrap:
        values = _unwrapped(sm, values)
    if sm.rotation is not None:
        quats = _rotation_columns(table, sm, rows, times, where)
        values = np.concatenate([values, quats], axis=1)
    if sm.quat_xyzw:  # reorder x, y, z, w -> w, x, y, z in place of the same columns
        x, y, z, w = sm.quat_xyzw
        values[:, [x, y, z, w]] = values[:, [w, x, y, z]]
        check_quaternions(values, sm.quat_xyzw, rows, times, columns=sm.columns, **kw)
    return Signal(values, sm.names, sm.unit, sm.frame)


def _unwrapped(sm: SignalMapping, values: np.ndarray) -> np.ndarray:
    """Unwrap the `sm.unwrap` columns (angles in their converted unit) along time."""
    units = sm.units or (sm.unit,) * len(sm.columns)
    out = values.copy()
    for k, col in enumerate(sm.columns):
        if col in sm.unwrap:
            unit = "deg" if "deg" in units[k] else "rad"
            out[:, k] = unwrap_angles(values[:, [k]], unit)[:, 0]
    return out


def _rotation_columns(
    table: Table, sm: SignalMapping, rows: np.ndarray, times: np.ndarray, where: str
) -> np.ndarray:
    """(T, 4) w-x-y-z quaternions of the signal's `rotation` columns (checked, sign-continuous)."""
    spec = sm.rotation
    raw = np.stack(
        [table.column(c, purpose=f"signal {sm.name!r} rotation") for c in spec.columns], 1
    )[rows]
    check_finite(
        raw,
        raw,
        rows,
        times,
        names=spec.columns,
        columns=spec.columns,
        where=where,
        signal=f"{sm.name} rotation",
    )
    return to_mujoco_quaternions(raw, spec, rows=rows, where=f"{where}: signal {sm.name!r}")


def _episode(table: Table, mapping: Mapping, episode_id: str, rows: np.ndarray) -> Episode:
    where = f"{table.path}: episode {episode_id!r}"
    if rows.size < 2:
        raise EpisodeError(f"{where}: expected at least 2 samples, got {rows.size}")
    times = _times(table, mapping, rows, where)
    signals = {sm.name: _signal(table, sm, rows, times, where) for sm in mapping.signals}
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
      select: optional episode selector over all episodes in file order, e.g. "0:50";
        None selects all, an empty string is an error.
    Raises:
      MappingError: a column, key or file the mapping needs is missing or malformed; a corrupt
        file; a bad selector.
      EpisodeError: NaN/Inf values, a non-monotonic, duplicate, implausible or jumping time
        axis, a quaternion off unit norm.
    """
    if not isinstance(mapping, Mapping):
        if not isinstance(mapping, (str, Path)):
            raise MappingError(
                f"mapping: expected a Mapping or the path of a TOML file, got "
                f"{type(mapping).__name__} {mapping!r}"
            )
        mapping = load_mapping(mapping)
    plan = []
    for path in recording_files(recordings, mapping):
        table = read_table(
            path,
            fmt=mapping.format,
            array=mapping.npz_array,
            columns_from=mapping.npz_columns_from,
            text=mapping.text,
        )
        if table.num_rows == 0:
            raise EpisodeError(
                f"{path}: expected data rows, got none (columns {list(table.columns)[:10]})"
            )
        for sm in mapping.signals:  # fail on a missing column before splitting anything
            for c in sm.columns:
                table.column(c, purpose=f"signal {sm.name!r}")
            for c in sm.rotation.columns if sm.rotation is not None else ():
                table.column(c, purpose=f"signal {sm.name!r} rotation")
        if mapping.time.column is not None:
            table.column(mapping.time.column, purpose="time")
        plan.extend((table, eid, rows) for eid, rows in row_ranges(table, mapping))
    episodes = [
        _episode(plan[i][0], mapping, plan[i][1], plan[i][2])
        for i in parse_selection(select, len(plan))
    ]
    counts = Counter(e.id for e in episodes)
    if len(counts) != len(episodes):
        dup = sorted(i for i, k in counts.items() if k > 1)[:5]
        raise MappingError(
            f"episode ids: expected unique, got duplicates {dup}; set split.id_format"
        )
    return episodes
