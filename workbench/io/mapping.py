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

import tomllib

from workbench import schema
from workbench.errors import MappingError, name_list
from workbench.io.tables import FORMATS

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

_TOP_KEYS = ("format", "pattern", "table", "time", "split", "metadata", "signals")
_TABLE_KEYS = ("array", "columns_from")
_TIME_KEYS = ("column", "rate_hz", "scale", "max_gap_s")
_SPLIT_KEYS = ("offsets_from", "ids_from", "column", "id_format")
_SIGNAL_KEYS = ("columns", "names", "scale", "offset", "unit", "frame", "from_unit", "quat_xyzw")


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


@dataclasses.dataclass(frozen=True)
class SplitMapping:
    """How one file splits into episodes: by an offsets array, a grouping column, or not at all."""

    offsets_from: str | None = None
    ids_from: str | None = None
    column: str | None = None
    id_format: str = DEFAULT_ID_FORMAT


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


def _signal(name: Any, spec: Any, source: str) -> SignalMapping:
    where = f"{source}: signals.{name}"
    if not isinstance(name, str):
        raise MappingError(f"{source}: signals: expected names as strings, got {name!r}")
    check_signal_name(name, f"{source}: [signals.{name}]")
    spec = schema.table(spec, where, MappingError, allowed=_SIGNAL_KEYS, required=("columns",))
    columns = schema.string_list(spec["columns"], f"{where}.columns", MappingError)
    n = len(columns)
    if "names" in spec:
        names = schema.string_list(spec["names"], f"{where}.names", MappingError)
        if len(names) != n:
            raise MappingError(
                f"{where}.names: expected {n} names (one per column), got {len(names)}: "
                f"{list(names)}"
            )
    else:
        names = columns
    schema.string_list(
        names, f"{where}.{'names' if 'names' in spec else 'columns'}", MappingError, unique=True
    )
    from_unit, unit = _text(spec, "from_unit", where), _text(spec, "unit", where)
    if from_unit and from_unit != unit and (from_unit, unit) not in UNIT_FACTORS:
        known = sorted({f"{a}->{b}" for a, b in UNIT_FACTORS})
        raise MappingError(f"{where}: no conversion {from_unit!r}->{unit!r}; known: {known}")
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
    )


def _time(data: dict[str, Any], source: str) -> TimeMapping:
    where = f"{source}: time"
    if "time" not in data:
        raise MappingError(
            f"{source}: [time]: expected exactly one of `column` or `rate_hz`, got no [time] table"
        )
    time = schema.table(data["time"], where, MappingError, allowed=_TIME_KEYS)
    if ("column" in time) == ("rate_hz" in time):
        raise MappingError(
            f"{source}: [time]: expected exactly one of `column` or `rate_hz`, got {time}"
        )
    rate = None
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
    return TimeMapping(_name(time, "column", where), scale, rate, max_gap)


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


def parse_mapping(data: Any, *, source: str = "<dict>") -> Mapping:
    """Validate a mapping given as a dict (the TOML document).

    Raises:
      MappingError: an unknown key at any level, a value of the wrong type or range, an unknown
        signal name or a malformed `split.id_format`; the message names `source` and the key.
    """
    data = schema.table(data, f"{source}: (top level)", MappingError, allowed=_TOP_KEYS)
    fmt = None
    if "format" in data:
        fmt = schema.string(data["format"], f"{source}: format", MappingError, choices=FORMATS)
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
