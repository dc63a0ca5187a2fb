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

import datetime
import math
from pathlib import Path, PurePath
from typing import Any

import tomllib

from workbench import schema
from workbench.errors import MappingError
from workbench.io.mapping_signal import parse_signal
from workbench.io.mapping_spec import (
    DEFAULT_ID_FORMAT,
    ID_FIELDS,
    RESERVED_METADATA,
    SIGNAL_NAMES,
    SIGNAL_PREFIXES,
    UNIT_FACTORS,
    Mapping,
    SignalMapping,
    SplitMapping,
    TextOptions,
    TimeMapping,
    check_id_format,
    check_signal_name,
)
from workbench.io.tables import MAPPING_FORMATS

__all__ = [
    "DEFAULT_ID_FORMAT",
    "ID_FIELDS",
    "RESERVED_METADATA",
    "SIGNAL_NAMES",
    "SIGNAL_PREFIXES",
    "UNIT_FACTORS",
    "Mapping",
    "SignalMapping",
    "SplitMapping",
    "TextOptions",
    "TimeMapping",
    "check_id_format",
    "check_signal_name",
    "load_mapping",
    "parse_mapping",
]

_TOP_KEYS = ("format", "pattern", "table", "text", "time", "split", "metadata", "signals")
_TEXT_KEYS = ("header", "names", "skip_rows", "skip_until", "drop_empty")
_TABLE_KEYS = ("array", "columns_from")
_TIME_KEYS = ("column", "rate_hz", "rate_from", "scale", "max_gap_s")
_SPLIT_KEYS = ("offsets_from", "ids_from", "column", "id_format")


def _name(spec: dict[str, Any], key: str, where: str) -> str | None:
    """An optional non-empty name (a column or array key)."""
    if key not in spec:
        return None
    return schema.string(spec[key], f"{where}.{key}", MappingError)


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
        signals=tuple(parse_signal(name, spec, source) for name, spec in raw_signals.items()),
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
