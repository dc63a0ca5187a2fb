"""Recordings read through a mapping WITHOUT the episode checks, for inspection.

`load_episodes` refuses NaN values, clock jumps or quaternions off unit norm; `workbench inspect`
must instead find and locate them. `read_raw` applies the same mapping (files, split, units,
quaternion order) and checks only what it needs to build arrays: the files and columns exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.io.load import parse_selection, recording_files, row_ranges
from workbench.io.mapping import Mapping, load_mapping
from workbench.io.tables import read_table


@dataclasses.dataclass(frozen=True)
class RawSignal:
    values: np.ndarray  # (T, k) converted to the mapping's unit; may hold NaN
    columns: tuple[str, ...]  # k model-side names (the mapping's `names`)
    unit: str = ""


@dataclasses.dataclass(frozen=True)
class RawEpisode:
    """An episode as recorded: `times` (T,) [s] unchecked (may be irregular or non-monotonic)."""

    id: str
    times: np.ndarray
    signals: dict[str, RawSignal]
    metadata: dict[str, Any]


def read_raw(
    recordings: str | Path | Sequence[str | Path],
    mapping: Mapping | str | Path,
    *,
    select: str | None = None,
) -> list[RawEpisode]:
    """Episodes of `recordings` through `mapping`, values converted but not validated."""
    if not isinstance(mapping, Mapping):
        mapping = load_mapping(mapping)
    plan = []
    for path in recording_files(recordings, mapping):
        table = read_table(
            path, fmt=mapping.format, array=mapping.npz_array, columns_from=mapping.npz_columns_from
        )
        for sm in mapping.signals:
            for c in sm.columns:
                table.column(c, purpose=f"signal {sm.name!r}")
        plan.extend((table, eid, rows) for eid, rows in row_ranges(table, mapping))
    out = []
    for i in parse_selection(select, len(plan)):
        table, eid, rows = plan[i]
        tm = mapping.time
        with np.errstate(all="ignore"):
            if tm.column is not None:
                times = table.column(tm.column, purpose="time")[rows] * tm.scale
            else:
                times = np.arange(rows.size) / tm.rate_hz
            signals = {}
            for sm in mapping.signals:
                raw = np.stack([table.column(c, purpose=sm.name)[rows] for c in sm.columns], 1)
                values = (raw * np.asarray(sm.scale) + np.asarray(sm.offset)) * sm.unit_factor
                if sm.quat_xyzw:
                    x, y, z, w = sm.quat_xyzw
                    values[:, [x, y, z, w]] = values[:, [w, x, y, z]]
                signals[sm.name] = RawSignal(values.astype(float), tuple(sm.names), sm.unit)
        meta = {
            **mapping.metadata,
            "file": str(table.path),
            "rows": [int(rows[0]), int(rows[-1]) + 1],
        }
        out.append(RawEpisode(eid, np.asarray(times, float), signals, meta))
    return out
