"""The parsed mapping (`workbench.io.mapping`): its types, signal vocabulary and unit factors.

`SignalMapping` (one signal from raw columns), `TimeMapping`, `SplitMapping`, `TextOptions` and
`Mapping` (a whole file); `check_signal_name`, `check_id_format`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any

import numpy as np

from workbench.errors import MappingError, name_list
from workbench.io.rotations import (
    RotationSpec,
)

# factor to convert `from_unit` into `unit`
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("deg", "rad"): math.pi / 180.0,
    ("rad", "deg"): 180.0 / math.pi,
    ("deg/s", "rad/s"): math.pi / 180.0,
    ("mm", "m"): 1e-3,
    ("cm", "m"): 1e-2,
    ("mm/s", "m/s"): 1e-3,
    ("cm/s", "m/s"): 1e-2,
    ("N mm", "N m"): 1e-3,
    ("g", "kg"): 1e-3,
    ("ms", "s"): 1e-3,
    ("us", "s"): 1e-6,
    ("ns", "s"): 1e-9,
}

# Signal names the model binding understands; `sensor:` and `body_pose:` take a MuJoCo name.
SIGNAL_NAMES = ("qpos", "qvel", "ctrl", "qfrc_actuator")
SIGNAL_PREFIXES = ("sensor:", "body_pose:")
SIGNAL_PREFIXES += ("marker:",)  # x, y, z [m] of a scene marker (workbench.scenes.markers)
ID_FIELDS = ("stem", "index", "id")
DEFAULT_ID_FORMAT = "{stem}_{index:03d}"
# keys the loader writes into every episode's metadata
RESERVED_METADATA = ("file", "mapping", "rows")


@dataclasses.dataclass(frozen=True)
class SignalMapping:
    """How raw columns become one named signal: values = (raw * scale + offset) * unit factor."""

    name: str
    columns: tuple[str, ...]
    names: tuple[str, ...]
    scale: tuple[float, ...]
    offset: tuple[float, ...]
    unit: str = ""
    frame: str = ""
    from_unit: str = ""
    quat_xyzw: tuple[int, ...] = ()  # column positions of a quaternion stored x, y, z, w
    # per-column units (from a list `from_unit`/`unit`); empty: `from_unit`/`unit` for all
    from_units: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    # a rotation from other raw columns, appended as 4 columns (w, x, y, z) after `columns`
    rotation: RotationSpec | None = None
    unwrap: tuple[str, ...] = ()  # raw columns (angles) unwrapped along time after conversion

    @property
    def column_factors(self) -> np.ndarray:
        """(k,) factor converting each raw column's unit (per-column lists or the signal's)."""
        if not self.from_units:
            return np.full(len(self.columns), self.unit_factor)
        units = self.units or (self.unit,) * len(self.columns)
        return np.array(
            [
                1.0 if not f or f == u else UNIT_FACTORS[(f, u)]
                for f, u in zip(self.from_units, units, strict=True)
            ]
        )

    @property
    def unit_factor(self) -> float:
        if not self.from_unit or self.from_unit == self.unit:
            return 1.0
        try:
            return UNIT_FACTORS[(self.from_unit, self.unit)]
        except KeyError:
            known = sorted({f"{a}->{b}" for a, b in UNIT_FACTORS})
            raise MappingError(
                f"signals.{self.name}: no conversion {self.from_unit!r}->{self.unit!r}; "
                f"known: {known}"
            ) from None


@dataclasses.dataclass(frozen=True)
class TimeMapping:
    """The time axis: a column times `scale` [s], or the row index over `rate_hz` [Hz].

    `max_gap_s`: largest step [s] allowed between samples; None: the default rule of
    `workbench.io.checks.default_max_gap`.
    """

    column: str | None = None
    scale: float = 1.0
    rate_hz: float | None = None
    max_gap_s: float | None = None
    rate_from: str | None = None  # a header value of the file holding the rate [Hz] (QTM)


@dataclasses.dataclass(frozen=True)
class SplitMapping:
    """How one file splits into episodes: by an offsets array, a grouping column, or not at all."""

    offsets_from: str | None = None
    ids_from: str | None = None
    column: str | None = None
    id_format: str = DEFAULT_ID_FORMAT


@dataclasses.dataclass(frozen=True)
class TextOptions:
    """How a CSV/TSV file is laid out (the `[text]` table): `header` (a header row names the
    columns), `names` (names of the non-empty columns of a headerless file, in order; default
    `c<position>`), `skip_rows` (lines before the header/data) or `skip_until` (skip lines up to
    and including the first one starting with this marker), `drop_empty` (drop columns with
    no values, e.g. separators and a trailing delimiter)."""

    header: bool = True
    names: tuple[str, ...] = ()
    skip_rows: int = 0
    skip_until: str | None = None
    drop_empty: bool = True

    @property
    def plain(self) -> bool:
        """Whether the file is a plain header-first table (the default reader handles it)."""
        return self == TextOptions()


@dataclasses.dataclass(frozen=True)
class Mapping:
    """A parsed mapping file."""

    signals: tuple[SignalMapping, ...]
    time: TimeMapping
    split: SplitMapping = SplitMapping()
    format: str | None = None
    npz_array: str | None = None
    npz_columns_from: str | None = None
    pattern: str = "*"
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    source: str = "<python>"
    text: TextOptions = TextOptions()

    def signal_names(self) -> list[str]:
        return [s.name for s in self.signals]


def check_signal_name(name: str, where: str) -> str:
    """`name` if the model binding knows it (see SIGNAL_NAMES, SIGNAL_PREFIXES), else MappingError."""
    for prefix in SIGNAL_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name
    if name in SIGNAL_NAMES:
        return name
    valid = [*SIGNAL_NAMES, *(f"{p}<name>" for p in SIGNAL_PREFIXES)]
    close = difflib.get_close_matches(name, [*SIGNAL_NAMES, *SIGNAL_PREFIXES], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise MappingError(
        f"{where}: unknown signal name {name!r}{hint}; expected one of {name_list(valid)}"
    )


def check_id_format(id_format: str, where: str) -> str:
    """`id_format` if it formats with the fields stem, index and id, else MappingError."""
    try:
        id_format.format(stem="stem", index=0, id=0)
    except KeyError as exc:
        raise MappingError(
            f"{where}: unknown field {{{exc.args[0]}}} in {id_format!r}; allowed fields are "
            f"{name_list(ID_FIELDS)} (e.g. {DEFAULT_ID_FORMAT!r})"
        ) from None
    except IndexError:
        raise MappingError(
            f"{where}: positional field {{}} in {id_format!r}; use named fields "
            f"{name_list(ID_FIELDS)} (e.g. {DEFAULT_ID_FORMAT!r})"
        ) from None
    except (ValueError, AttributeError, TypeError) as exc:
        raise MappingError(
            f"{where}: invalid format string {id_format!r} ({exc}); allowed fields are "
            f"{name_list(ID_FIELDS)} (e.g. {DEFAULT_ID_FORMAT!r})"
        ) from None
    return id_format
