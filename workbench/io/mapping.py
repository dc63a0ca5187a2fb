"""Mapping files (TOML): which raw columns become which named episode signals.

Example (a user's own CSV log)::

    format = "csv"                       # csv | tsv | npz | parquet; default from extension
    [time]
    column = "t"                         # or `rate_hz = 500` for time from the row index
    scale = 1.0                          # multiply to get seconds
    max_gap_s = 2.0                      # optional: largest step allowed in the time axis
    [split]                              # optional: several episodes per file
    column = "episode"                   # rows grouped by this column's value
    [metadata]
    robot = "my_arm"
    [signals.qpos]
    columns = ["q1", "q2"]               # raw column names
    names = ["joint1", "joint2"]         # model addresses (default: the raw names)
    from_unit = "deg"                    # converted to `unit` (deg->rad, mm->m, ...)
    unit = "rad"

Every key is checked when the file is read: unknown keys at any level, wrong types, unknown
signal names and malformed `id_format` strings are `MappingError`s naming the file and key.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import tomllib

from workbench import schema
from workbench.errors import MappingError, name_list
from workbench.io.rotations import (
    ANGLE_UNITS,
    DEFAULT_TOLERANCE,
    KINDS,
    LAYOUTS,
    RotationSpec,
    check_order,
    check_sequence,
)
from workbench.io.tables import MAPPING_FORMATS

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

_TOP_KEYS = ("format", "pattern", "table", "text", "time", "split", "metadata", "signals")
_TEXT_KEYS = ("header", "names", "skip_rows", "skip_until", "drop_empty")
_ROTATION_KEYS = (
    "kind",
    "columns",
    "sequence",
    "intrinsic",
    "angle_unit",
    "layout",
    "order",
    "tolerance",
)
_TABLE_KEYS = ("array", "columns_from")
_TIME_KEYS = ("column", "rate_hz", "rate_from", "scale", "max_gap_s")
_SPLIT_KEYS = ("offsets_from", "ids_from", "column", "id_format")
_SIGNAL_KEYS = (
    "columns",
    "names",
    "scale",
    "offset",
    "unit",
    "frame",
    "from_unit",
    "quat_xyzw",
    "rotation",
    "unwrap",
)


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


def _text(spec: dict[str, Any], key: str, where: str) -> str:
    """An optional free-text string (empty allowed)."""
    value = spec.get(key, "")
    if not isinstance(value, str):
        raise MappingError(
            f"{where}.{key}: expected a string, got {type(value).__name__} {value!r}"
        )
    return value


def _name(spec: dict[str, Any], key: str, where: str) -> str | None:
    """An optional non-empty name (a column or array key)."""
    if key not in spec:
        return None
    return schema.string(spec[key], f"{where}.{key}", MappingError)


def _vector(
    spec: dict[str, Any], key: str, n: int, where: str, default: float
) -> tuple[float, ...]:
    """A number, or a list of 1 or n numbers (one per column), as n floats."""
    if key not in spec:
        return (default,) * n
    value, field = spec[key], f"{where}.{key}"
    if not isinstance(value, (list, tuple)):
        return (schema.number(value, field, MappingError),) * n
    values = schema.number_list(value, field, MappingError)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise MappingError(
            f"{field}: expected 1 or {n} values (one per column), got {len(values)}: {list(values)}"
        )
    return values


def _quaternion(spec: dict[str, Any], n: int, where: str) -> tuple[int, ...]:
    if "quat_xyzw" not in spec:
        return ()
    value, field = spec["quat_xyzw"], f"{where}.quat_xyzw"
    expected = f"expected 4 column positions in [0, {n}) (a list of 4 distinct integers)"
    if not isinstance(value, list) or len(value) != 4:
        raise MappingError(f"{field}: {expected}, got {type(value).__name__} {value!r}")
    quat = tuple(
        schema.number(v, f"{field}[{i}]", MappingError, integer=True) for i, v in enumerate(value)
    )
    if not all(0 <= i < n for i in quat) or len(set(quat)) != 4:
        raise MappingError(f"{field}: {expected}, got {list(quat)}")
    return quat


def _units(
    spec: dict[str, Any], n: int, where: str
) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """(from_unit, unit, from_units, units): one unit for the signal, or one per column (lists)."""
    per_column = isinstance(spec.get("from_unit"), list) or isinstance(spec.get("unit"), list)
    if not per_column:
        return _text(spec, "from_unit", where), _text(spec, "unit", where), (), ()

    def column_list(key: str) -> tuple[str, ...]:
        value = spec.get(key, "")
        if isinstance(value, str):
            return (value,) * n
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MappingError(
                f"{where}.{key}: expected a string or a list of {n} strings (one per column), "
                f"got {value!r}"
            )
        if len(value) != n:
            raise MappingError(
                f"{where}.{key}: expected {n} units (one per column), got {len(value)}: {value}"
            )
        return tuple(value)

    from_units, units = column_list("from_unit"), column_list("unit")
    for col, f, u in zip(spec["columns"], from_units, units, strict=True):
        if f and f != u and (f, u) not in UNIT_FACTORS:
            known = sorted({f"{a}->{b}" for a, b in UNIT_FACTORS})
            raise MappingError(
                f"{where}: column {col!r}: no conversion {f!r}->{u!r}; known: {known}"
            )
    label = ", ".join(dict.fromkeys(u for u in units if u))
    return "", label, from_units, units if isinstance(spec.get("unit"), list) else ()


def _rotation(spec: dict[str, Any], where: str) -> RotationSpec | None:
    """The optional `rotation` table of a signal (see RotationSpec)."""
    if "rotation" not in spec:
        return None
    where = f"{where}.rotation"
    rot = schema.table(
        spec["rotation"], where, MappingError, allowed=_ROTATION_KEYS, required=("kind", "columns")
    )
    kind = schema.string(rot["kind"], f"{where}.kind", MappingError, choices=KINDS)
    width = {"euler": 3, "matrix": 9, "quaternion": 4}[kind]
    columns = schema.string_list(rot["columns"], f"{where}.columns", MappingError, unique=True)
    if len(columns) != width:
        raise MappingError(
            f"{where}.columns: a {kind} rotation expects {width} columns, got {len(columns)}: "
            f"{list(columns)}"
        )
    only = {
        "sequence": "euler",
        "intrinsic": "euler",
        "angle_unit": "euler",
        "layout": "matrix",
        "order": "quaternion",
    }
    for key, owner in only.items():
        if key in rot and owner != kind:
            raise MappingError(
                f"{where}.{key}: applies to kind = {owner!r} only, got kind = {kind!r}"
            )
    out: dict[str, Any] = {"kind": kind, "columns": columns}
    if kind == "euler":
        for key in ("sequence", "intrinsic", "angle_unit"):
            if key not in rot:
                raise MappingError(
                    f"{where}: kind = 'euler' needs `sequence` (e.g. 'XYZ'), `intrinsic` (true: "
                    f"moving axes, false: fixed axes) and `angle_unit` ('deg' or 'rad'); "
                    f"missing {key!r}"
                )
        out["sequence"] = check_sequence(rot["sequence"], f"{where}.sequence")
        out["intrinsic"] = schema.boolean(rot["intrinsic"], f"{where}.intrinsic", MappingError)
        out["angle_unit"] = schema.string(
            rot["angle_unit"], f"{where}.angle_unit", MappingError, choices=ANGLE_UNITS
        )
    elif kind == "matrix":
        if "layout" not in rot:
            raise MappingError(
                f"{where}: kind = 'matrix' needs `layout`: 'row' (R00 R01 R02 R10 ...) or "
                f"'column' (R00 R10 R20 R01 ...)"
            )
        out["layout"] = schema.string(
            rot["layout"], f"{where}.layout", MappingError, choices=LAYOUTS
        )
    else:
        out["order"] = check_order(rot.get("order", "wxyz"), f"{where}.order")
    out["tolerance"] = schema.number(
        rot.get("tolerance", DEFAULT_TOLERANCE),
        f"{where}.tolerance",
        MappingError,
        lower=0,
        lower_open=True,
        upper=0.5,
    )
    return RotationSpec(**out)


def _unwrap(spec: dict[str, Any], columns: tuple[str, ...], where: str) -> tuple[str, ...]:
    if "unwrap" not in spec:
        return ()
    value = spec["unwrap"]
    if value is True:
        return columns
    if value is False:
        return ()
    names = schema.string_list(value, f"{where}.unwrap", MappingError, unique=True)
    unknown = [c for c in names if c not in columns]
    if unknown:
        raise MappingError(
            f"{where}.unwrap: expected true, false or some of the signal's columns "
            f"{list(columns)}, got unknown {unknown}"
        )
    return names


_POSE_NAMES = ("x", "y", "z", "qw", "qx", "qy", "qz")


def _signal(name: Any, spec: Any, source: str) -> SignalMapping:
    where = f"{source}: signals.{name}"
    if not isinstance(name, str):
        raise MappingError(f"{source}: signals: expected names as strings, got {name!r}")
    check_signal_name(name, f"{source}: [signals.{name}]")
    spec = schema.table(spec, where, MappingError, allowed=_SIGNAL_KEYS, required=("columns",))
    rotation = _rotation(spec, where)
    columns = schema.string_list(
        spec["columns"], f"{where}.columns", MappingError, nonempty=rotation is None
    )
    n = len(columns)
    width = n + (4 if rotation is not None else 0)
    if "names" in spec:
        names = schema.string_list(spec["names"], f"{where}.names", MappingError)
        if len(names) != width:
            what = "one per column" + (", then qw qx qy qz of the rotation" if rotation else "")
            raise MappingError(
                f"{where}.names: expected {width} names ({what}), got {len(names)}: {list(names)}"
            )
    elif rotation is not None:
        names = _POSE_NAMES if n == 3 else (*columns, "qw", "qx", "qy", "qz")
    else:
        names = columns
    schema.string_list(
        names, f"{where}.{'names' if 'names' in spec else 'columns'}", MappingError, unique=True
    )
    from_unit, unit, from_units, units = _units(spec, n, where)
    if from_unit and from_unit != unit and (from_unit, unit) not in UNIT_FACTORS:
        known = sorted({f"{a}->{b}" for a, b in UNIT_FACTORS})
        raise MappingError(f"{where}: no conversion {from_unit!r}->{unit!r}; known: {known}")
    if rotation is not None and "quat_xyzw" in spec:
        raise MappingError(
            f"{where}: quat_xyzw and rotation: use one (rotation kind = 'quaternion' with "
            f"order = 'xyzw' replaces quat_xyzw)"
        )
    return SignalMapping(
        name=name,
        columns=columns,
        names=names,
        scale=_vector(spec, "scale", n, where, 1.0),
        offset=_vector(spec, "offset", n, where, 0.0),
        unit=unit,
        frame=_text(spec, "frame", where),
        from_unit=from_unit,
        quat_xyzw=_quaternion(spec, n, where),
        from_units=from_units,
        units=units,
        rotation=rotation,
        unwrap=_unwrap(spec, columns, where),
    )


def _time(data: dict[str, Any], source: str) -> TimeMapping:
    where = f"{source}: time"
    if "time" not in data:
        raise MappingError(
            f"{source}: [time]: expected exactly one of `column` or `rate_hz`, got no [time] table"
        )
    time = schema.table(data["time"], where, MappingError, allowed=_TIME_KEYS)
    if sum(k in time for k in ("column", "rate_hz", "rate_from")) != 1:
        raise MappingError(
            f"{source}: [time]: expected exactly one of `column` or `rate_hz` (or `rate_from`, "
            f"a rate in the file's header, e.g. QTM's 'FREQUENCY'), got {time}"
        )
    rate = None
    if "rate_from" in time and "scale" in time:
        raise MappingError(
            f"{where}.scale: applies to `time.column` only; with rate_from remove it "
            f"(got scale = {time['scale']!r})"
        )
    if "rate_hz" in time:
        rate = schema.number(
            time["rate_hz"], f"{where}.rate_hz", MappingError, lower=0, lower_open=True
        )
        if "scale" in time:
            raise MappingError(
                f"{where}.scale: applies to `time.column` only; with rate_hz = {rate:g} remove it "
                f"(got scale = {time['scale']!r})"
            )
    scale = time.get("scale", 1.0)
    scale = schema.number(scale, f"{where}.scale", MappingError, lower=0, lower_open=True)
    max_gap = time.get("max_gap_s")
    if max_gap is not None:
        max_gap = schema.number(
            max_gap, f"{where}.max_gap_s", MappingError, lower=0, lower_open=True
        )
    return TimeMapping(
        _name(time, "column", where), scale, rate, max_gap, _name(time, "rate_from", where)
    )


def _split(data: dict[str, Any], source: str) -> SplitMapping:
    where = f"{source}: split"
    split = schema.table(data.get("split", {}), where, MappingError, allowed=_SPLIT_KEYS)
    if "offsets_from" in split and "column" in split:
        raise MappingError(
            f"{source}: [split]: expected one of `offsets_from` or `column`, got {split}"
        )
    for key in ("ids_from", "id_format"):
        if key in split and "offsets_from" not in split and "column" not in split:
            needs = "offsets_from" if key == "ids_from" else "offsets_from or column"
            raise MappingError(
                f"{where}.{key}: used only with split.{needs}, which is not set "
                f"(got {key} = {split[key]!r})"
            )
    if "ids_from" in split and "column" in split:
        raise MappingError(
            f"{where}.ids_from: used only with split.offsets_from (a split by column takes the "
            f"column's values as ids); got ids_from = {split['ids_from']!r}"
        )
    id_format = DEFAULT_ID_FORMAT
    if "id_format" in split:
        id_format = schema.string(split["id_format"], f"{where}.id_format", MappingError)
        check_id_format(id_format, f"{where}.id_format")
    return SplitMapping(
        _name(split, "offsets_from", where),
        _name(split, "ids_from", where),
        _name(split, "column", where),
        id_format,
    )


def _metadata(data: dict[str, Any], source: str) -> dict[str, Any]:
    where = f"{source}: metadata"
    meta = data.get("metadata", {})
    if not isinstance(meta, dict):
        raise MappingError(
            f"{where}: expected a table [metadata], got {type(meta).__name__} {meta!r}"
        )
    reserved = sorted(set(meta) & set(RESERVED_METADATA))
    if reserved:
        raise MappingError(
            f"{where}: keys {reserved} are written by the loader; reserved keys are "
            f"{list(RESERVED_METADATA)}"
        )

    def plain(value: Any, key: str) -> None:  # JSON-serialisable: episodes.jsonl stores it
        if isinstance(value, (datetime.date, datetime.time)):
            raise MappingError(
                f"{where}.{key}: expected a string, number, boolean, list or table, got "
                f"{type(value).__name__} {value!r} (quote dates as strings)"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise MappingError(f"{where}.{key}: expected a finite number, got {value!r}")
        for i, v in enumerate(value) if isinstance(value, list) else ():
            plain(v, f"{key}[{i}]")
        for k, v in value.items() if isinstance(value, dict) else ():
            plain(v, f"{key}.{k}")

    for key, value in meta.items():
        plain(value, key)
    return meta


def _text_options(data: dict[str, Any], fmt: str | None, source: str) -> TextOptions:
    where = f"{source}: text"
    if "text" not in data:
        return TextOptions()
    text = schema.table(data["text"], where, MappingError, allowed=_TEXT_KEYS)
    if fmt not in (None, "csv", "tsv"):
        raise MappingError(
            f"{source}: [text]: applies to csv/tsv recordings only, but format = {fmt!r} "
            f"(got keys {sorted(text)})"
        )
    if "skip_rows" in text and "skip_until" in text:
        raise MappingError(
            f"{source}: [text]: expected one of `skip_rows` or `skip_until`, got both"
        )
    header = schema.boolean(text.get("header", True), f"{where}.header", MappingError)
    names: tuple[str, ...] = ()
    if "names" in text:
        if header:
            raise MappingError(
                f"{where}.names: names the columns of a headerless file; set header = false "
                f"(got header = true)"
            )
        names = schema.string_list(text["names"], f"{where}.names", MappingError, unique=True)
    skip_until = None
    if "skip_until" in text:
        skip_until = schema.string(text["skip_until"], f"{where}.skip_until", MappingError)
    return TextOptions(
        header=header,
        names=names,
        skip_rows=schema.number(
            text.get("skip_rows", 0), f"{where}.skip_rows", MappingError, lower=0, integer=True
        ),
        skip_until=skip_until,
        drop_empty=schema.boolean(
            text.get("drop_empty", True), f"{where}.drop_empty", MappingError
        ),
    )


def parse_mapping(data: Any, *, source: str = "<dict>") -> Mapping:
    """Validate a mapping given as a dict (the TOML document).

    Raises:
      MappingError: an unknown key at any level, a value of the wrong type or range, an unknown
        signal name or a malformed `split.id_format`; the message names `source` and the key.
    """
    data = schema.table(data, f"{source}: (top level)", MappingError, allowed=_TOP_KEYS)
    fmt = None
    if "format" in data:
        fmt = schema.string(
            data["format"], f"{source}: format", MappingError, choices=MAPPING_FORMATS
        )
    pattern = schema.string(data.get("pattern", "*"), f"{source}: pattern", MappingError)
    if PurePath(pattern).is_absolute() or ".." in PurePath(pattern).parts:
        raise MappingError(
            f"{source}: pattern: expected a glob relative to the recordings folder "
            f"(e.g. 'run_*.csv'), got {pattern!r}"
        )
    table = schema.table(
        data.get("table", {}), f"{source}: table", MappingError, allowed=_TABLE_KEYS
    )
    if table and fmt not in (None, "npz"):
        raise MappingError(
            f"{source}: [table]: applies to npz recordings only, but format = {fmt!r} "
            f"(got keys {sorted(table)})"
        )
    if "columns_from" in table and "array" not in table:
        raise MappingError(
            f"{source}: table.columns_from: names the columns of table.array, which is not set "
            f"(got columns_from = {table['columns_from']!r})"
        )
    text = _text_options(data, fmt, source)
    time, split = _time(data, source), _split(data, source)  # checked in file order
    raw_signals = data.get("signals")
    if not isinstance(raw_signals, dict) or not raw_signals:
        raise MappingError(
            f"{source}: [signals]: expected at least one [signals.<name>] table, got {raw_signals!r}"
        )
    return Mapping(
        signals=tuple(_signal(name, spec, source) for name, spec in raw_signals.items()),
        time=time,
        split=split,
        format=fmt,
        npz_array=_name(table, "array", f"{source}: table"),
        npz_columns_from=_name(table, "columns_from", f"{source}: table"),
        pattern=pattern,
        metadata=_metadata(data, source),
        source=source,
        text=text,
    )


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping TOML file."""
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"mapping file: expected an existing TOML file, got {str(path)!r}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: invalid TOML: {exc}") from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc}") from exc
    return parse_mapping(data, source=str(path))
