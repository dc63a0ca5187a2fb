"""Parameter-value files (`workbench gap --params`): TOML or JSON tables of values by name.

    "dof_damping[shoulder]" = 0.0          # a number
    "geom_friction[cube]" = [0.2, 0.005, 0.0001]   # or one number per element
    "opt.integrator" = 1                   # integer options: see workbench.physics.validate

A JSON file written by calibration (`{"values": {...}}`) is read too. Each value is checked as far
as it can be without a model (type, finiteness, writable field, ranges, enums); the rest when the
values meet a scene (`check_values`, `set_values`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

from workbench.errors import ParameterError
from workbench.physics.names import SCALE_PREFIX, parse_name
from workbench.physics.signal_params import check_signal_value, is_signal_param
from workbench.physics.validate import (
    UNIT_NORM,
    as_numbers,
    check_elements,
    check_rows,
    check_writable,
    template_model,
)

SUFFIXES = (".toml", ".json")


def load_values(path: str | Path) -> dict[str, float | list[float]]:
    """Read a parameter-value file: a TOML or JSON table mapping names to numbers or flat lists.

    Raises ParameterError naming the file, the key, what was expected and what was found.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ParameterError(
            f"params file {str(path)!r}: expected a .toml or .json file, got suffix "
            f"{path.suffix or '(none)'!r}"
        )
    if not path.is_file():
        raise ParameterError(f"params file: expected an existing TOML/JSON file, got {str(path)!r}")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"{path}: cannot parse: {exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(
            f"{path}: expected a table of values by parameter name at the top level, got "
            f"{type(data).__name__} {_short(data)}"
        )
    if isinstance(data.get("values"), dict):  # a calibration result: {"values": {...}}
        extra = sorted(set(data) - {"values"})
        if extra:
            raise ParameterError(
                f"{path}: a file with a 'values' table expected no other keys, got {extra}"
            )
        data = data["values"]
    out: dict[str, Any] = {}
    for name, value in data.items():
        where = f"{path}: parameter {name!r}"
        numbers = as_numbers(value, where)
        check_unbound(name, numbers, where)
        single = (
            not isinstance(value, list) or is_signal_param(name) or name.startswith(SCALE_PREFIX)
        )
        out[name] = float(numbers[0]) if single else numbers.tolist()
    if not out:
        raise ParameterError(f"{path}: expected at least one parameter value, got an empty table")
    return out


def check_unbound(name: str, values: np.ndarray, where: str) -> None:
    """The checks that need no model: signal parameters and `scale:` factors take one number;
    fields must be writable, values within the field's ranges and enums."""
    if is_signal_param(name) or name.startswith(SCALE_PREFIX):
        if values.size != 1:
            raise ParameterError(f"{where}: expected one number, got {values.size}")
        if is_signal_param(name):
            check_signal_value(name, float(values[0]), where=where)
        if name.startswith(SCALE_PREFIX) and values[0] < 0:
            raise ParameterError(f"{where}: a scale factor expected >= 0, got {values[0]:.12g}")
        return
    field, parts = parse_name(name)
    template = template_model()
    if field.startswith("opt."):
        arr = getattr(template.opt, field[4:], None)
        if arr is None:
            return  # an unknown option: resolving it against the scene lists the valid ones
        arr = np.asarray(arr)
        width = max(arr.size, 1)
        index = parts[0:1]
    else:
        arr = getattr(template, field, None)
        if not isinstance(arr, np.ndarray):
            return  # an unknown field: resolving it against the scene explains
        width = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
        per_dof = field.startswith("dof_") and width == 1
        index = [] if per_dof else parts[1:2]
    check_writable(name, field, arr.dtype, where=where)
    if index and index[0].isdigit():
        components = [int(index[0])] * values.size
        if field in UNIT_NORM:
            raise ParameterError(
                f"{where}: {field} is a unit vector of {width} components; expected all of them "
                f"as a list, got component {index[0]} alone"
            )
    else:
        components = [i % width for i in range(values.size)]
    check_elements(where, field, components, values, integer=arr.dtype.kind in "iub")
    if width > 1 and values.size % width == 0 and not index:
        check_rows(where, field, values.reshape(-1, width))


def _short(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 80 else text[:77] + "..."
