"""Checks shared by every configuration file (mappings, scenes, parameter files, spaces) and every
run setting: unknown keys are errors at every level, and each message names where the value came
from (file and key, or option), what was expected and what was found.

Each checker takes the value, `where` (e.g. ``"map.toml: [time].scale"`` or ``"--stride"``) and the
error class to raise, and returns the value converted to a plain Python type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from workbench.errors import WorkbenchError

ErrorType = type[WorkbenchError]


def table(
    value: Any,
    where: str,
    error: ErrorType,
    *,
    allowed: Iterable[str],
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """A table (dict) with no keys outside `allowed` and every key of `required`."""
    if not isinstance(value, Mapping):
        raise error(f"{where}: expected a table, got {type(value).__name__} {value!r}")
    allowed = set(allowed)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise error(f"{where}: unknown keys {unknown}; expected some of {sorted(allowed)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise error(f"{where}: missing keys {missing} (required: {list(required)})")
    return dict(value)


def number(
    value: Any,
    where: str,
    error: ErrorType,
    *,
    lower: float | None = None,
    upper: float | None = None,
    lower_open: bool = False,
    integer: bool = False,
) -> float:
    """A finite real number (booleans and strings refused) within [lower, upper]
    (`lower_open`: strictly above `lower`); with `integer`, returned as int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "an integer" if integer else "a number"
        raise error(f"{where}: expected {kind}, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise error(f"{where}: expected a finite number, got {value!r}")
    if integer and float(value) != int(value):
        raise error(f"{where}: expected an integer, got {value!r}")
    if lower is not None and (value <= lower if lower_open else value < lower):
        raise error(f"{where}: expected {'>' if lower_open else '>='} {lower:g}, got {value!r}")
    if upper is not None and value > upper:
        raise error(f"{where}: expected <= {upper:g}, got {value!r}")
    return int(value) if integer else float(value)


def string(
    value: Any, where: str, error: ErrorType, *, choices: Iterable[str] | None = None
) -> str:
    """A non-empty string, one of `choices` when given."""
    if not isinstance(value, str) or not value:
        raise error(f"{where}: expected a non-empty string, got {type(value).__name__} {value!r}")
    if choices is not None:
        choices = list(choices)
        if value not in choices:
            raise error(f"{where}: expected one of {choices}, got {value!r}")
    return value


def boolean(value: Any, where: str, error: ErrorType) -> bool:
    if not isinstance(value, bool):
        raise error(f"{where}: expected true or false, got {type(value).__name__} {value!r}")
    return value


def string_list(
    value: Any, where: str, error: ErrorType, *, nonempty: bool = True, unique: bool = False
) -> tuple[str, ...]:
    """A list of non-empty strings."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise error(f"{where}: expected a list of non-empty strings, got {value!r}")
    if nonempty and not value:
        raise error(f"{where}: expected at least one name, got an empty list")
    if unique and len(set(value)) != len(value):
        dup = sorted({v for v in value if list(value).count(v) > 1})
        raise error(f"{where}: expected unique names, got duplicates {dup}")
    return tuple(value)


def number_list(
    value: Any, where: str, error: ErrorType, *, length: int | None = None, **bounds: Any
) -> tuple[float, ...]:
    """A list of finite numbers (each checked as `number` with `bounds`), of `length` if given."""
    if not isinstance(value, (list, tuple)):
        raise error(f"{where}: expected a list of numbers, got {type(value).__name__} {value!r}")
    if length is not None and len(value) != length:
        raise error(f"{where}: expected {length} values, got {len(value)}: {list(value)!r}")
    return tuple(number(v, f"{where}[{i}]", error, **bounds) for i, v in enumerate(value))
