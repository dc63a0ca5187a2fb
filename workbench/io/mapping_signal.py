"""One `[signals.<name>]` table of a mapping file -> a `SignalMapping`: columns, names, scale
and offset vectors, units (one or per column), a quaternion stored x, y, z, w, a rotation from
Euler angles or a matrix, unwrapped angle columns."""

from __future__ import annotations

from typing import Any

from workbench import schema
from workbench.errors import MappingError
from workbench.io.mapping_spec import (
    UNIT_FACTORS,
    SignalMapping,
    check_signal_name,
)
from workbench.io.rotations import (
    ANGLE_UNITS,
    DEFAULT_TOLERANCE,
    KINDS,
    LAYOUTS,
    RotationSpec,
    check_order,
    check_sequence,
)

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


def _text(spec: dict[str, Any], key: str, where: str) -> str:
    """An optional free-text string (empty allowed)."""
    value = spec.get(key, "")
    if not isinstance(value, str):
        raise MappingError(
            f"{where}.{key}: expected a string, got {type(value).__name__} {value!r}"
        )
    return value


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


def parse_signal(name: Any, spec: Any, source: str) -> SignalMapping:
    """The SignalMapping of table `spec` under `[signals.<name>]` of mapping `source`; a
    MappingError names the file and key of anything malformed."""
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
