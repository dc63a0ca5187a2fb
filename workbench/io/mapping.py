"""Mapping files (TOML): which raw columns become which named episode signals.

Example (a user's own CSV log)::

    format = "csv"                       # csv | tsv | npz | parquet; default from extension
    [time]
    column = "t"                         # or `rate_hz = 500` for time from the row index
    scale = 1.0                          # multiply to get seconds
    [split]                              # optional: several episodes per file
    column = "episode"                   # rows grouped by this column's value
    [metadata]
    robot = "my_arm"
    [signals.qpos]
    columns = ["q1", "q2"]               # raw column names
    names = ["joint1", "joint2"]         # model addresses (default: the raw names)
    from_unit = "deg"                    # converted to `unit` (deg->rad, mm->m, ...)
    unit = "rad"
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tomllib

from workbench.errors import MappingError

# factor to convert `from_unit` into `unit`
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("deg", "rad"): 3.141592653589793 / 180.0,
    ("rad", "deg"): 180.0 / 3.141592653589793,
    ("deg/s", "rad/s"): 3.141592653589793 / 180.0,
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
        return UNIT_FACTORS[(self.from_unit, self.unit)]


@dataclasses.dataclass(frozen=True)
class TimeMapping:
    column: str | None = None
    scale: float = 1.0
    rate_hz: float | None = None


@dataclasses.dataclass(frozen=True)
class SplitMapping:
    """How one file splits into episodes: by an offsets array, a grouping column, or not at all."""

    offsets_from: str | None = None
    ids_from: str | None = None
    column: str | None = None
    id_format: str = "{stem}_{index:03d}"


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


_TOP_KEYS = {"format", "table", "time", "split", "metadata", "signals", "pattern"}
_SIGNAL_KEYS = {"columns", "names", "scale", "offset", "unit", "frame", "from_unit", "quat_xyzw"}


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MappingError(f"{field}: expected a number, got {value!r}")
    return float(value)


def _vector(value: Any, n: int, field: str, default: float) -> tuple[float, ...]:
    if value is None:
        return (default,) * n
    if not isinstance(value, list):
        return (_number(value, field),) * n
    values = tuple(_number(v, field) for v in value)
    if len(values) != n:
        raise MappingError(f"{field}: expected 1 or {n} values (one per column), got {len(values)}")
    return values


def parse_mapping(data: dict[str, Any], *, source: str = "<dict>") -> Mapping:
    """Validate a mapping given as a dict (the TOML document)."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise MappingError(
            f"{source}: unknown keys {sorted(unknown)}; expected {sorted(_TOP_KEYS)}"
        )
    raw_signals = data.get("signals")
    if not isinstance(raw_signals, dict) or not raw_signals:
        raise MappingError(f"{source}: [signals]: expected at least one [signals.<name>] table")
    signals = []
    for name, spec in raw_signals.items():
        field = f"{source}: signals.{name}"
        if not isinstance(spec, dict):
            raise MappingError(f"{field}: expected a table [signals.{name}], got {spec!r}")
        unknown = set(spec) - _SIGNAL_KEYS
        if unknown:
            raise MappingError(
                f"{field}: unknown keys {sorted(unknown)}; expected {sorted(_SIGNAL_KEYS)}"
            )
        columns = spec.get("columns")
        if not columns or not all(isinstance(c, str) for c in columns):
            raise MappingError(
                f"{field}.columns: expected a non-empty list of column names, got {columns!r}"
            )
        n = len(columns)
        names = tuple(spec.get("names", columns))
        if len(names) != n:
            raise MappingError(
                f"{field}.names: expected {n} names (one per column), got {len(names)}"
            )
        from_unit, unit = spec.get("from_unit", ""), spec.get("unit", "")
        if from_unit and from_unit != unit and (from_unit, unit) not in UNIT_FACTORS:
            known = sorted({f"{a}->{b}" for a, b in UNIT_FACTORS})
            raise MappingError(f"{field}: no conversion {from_unit!r}->{unit!r}; known: {known}")
        quat = tuple(int(i) for i in spec.get("quat_xyzw", ()))
        if quat and (len(quat) != 4 or not all(0 <= i < n for i in quat)):
            raise MappingError(
                f"{field}.quat_xyzw: expected 4 column positions in [0, {n}), got {list(quat)}"
            )
        signals.append(
            SignalMapping(
                name=name,
                columns=tuple(columns),
                names=names,
                scale=_vector(spec.get("scale"), n, f"{field}.scale", 1.0),
                offset=_vector(spec.get("offset"), n, f"{field}.offset", 0.0),
                unit=unit,
                frame=spec.get("frame", ""),
                from_unit=from_unit,
                quat_xyzw=quat,
            )
        )
    time = data.get("time", {})
    if not isinstance(time, dict) or ("column" in time) == ("rate_hz" in time):
        raise MappingError(
            f"{source}: [time]: expected exactly one of `column` or `rate_hz`, got {time}"
        )
    rate = _number(time["rate_hz"], f"{source}: time.rate_hz") if "rate_hz" in time else None
    if rate is not None and not rate > 0:
        raise MappingError(f"{source}: time.rate_hz: expected > 0, got {rate}")
    time_scale = _number(time.get("scale", 1.0), f"{source}: time.scale")
    split = data.get("split", {})
    if sum(k in split for k in ("offsets_from", "column")) > 1:
        raise MappingError(
            f"{source}: [split]: expected one of `offsets_from` or `column`, got {split}"
        )
    table = data.get("table", {})
    return Mapping(
        signals=tuple(signals),
        time=TimeMapping(time.get("column"), time_scale, rate),
        split=SplitMapping(
            split.get("offsets_from"),
            split.get("ids_from"),
            split.get("column"),
            split.get("id_format", "{stem}_{index:03d}"),
        ),
        format=data.get("format"),
        npz_array=table.get("array"),
        npz_columns_from=table.get("columns_from"),
        pattern=data.get("pattern", "*"),
        metadata=dict(data.get("metadata", {})),
        source=source,
    )


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping TOML file."""
    path = Path(path)
    if not path.is_file():
        raise MappingError(f"mapping file: expected an existing TOML file, got {str(path)!r}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: invalid TOML: {exc}") from exc
    return parse_mapping(data, source=str(path))
