"""Physics quantities addressed by MuJoCo names, e.g. `geom_friction[cube][0]`, `dof_damping[joint2]`,
`body_mass[link1]`, `actuator_gainprm[act1][0]`, `opt.timestep`, `opt.gravity[2]`.

Names are resolved once into flat element indices of an `MjModel` array; values are written in place.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import weakref
from collections.abc import Iterator, Mapping

import mujoco
import numpy as np

from workbench.errors import ParameterError, name_list

_PREFIX_OBJ = {
    "body": (mujoco.mjtObj.mjOBJ_BODY, "nbody"),
    "jnt": (mujoco.mjtObj.mjOBJ_JOINT, "njnt"),
    "dof": (mujoco.mjtObj.mjOBJ_JOINT, "nv"),  # addressed by joint name
    "geom": (mujoco.mjtObj.mjOBJ_GEOM, "ngeom"),
    "site": (mujoco.mjtObj.mjOBJ_SITE, "nsite"),
    "actuator": (mujoco.mjtObj.mjOBJ_ACTUATOR, "nu"),
    "tendon": (mujoco.mjtObj.mjOBJ_TENDON, "ntendon"),
    "pair": (mujoco.mjtObj.mjOBJ_PAIR, "npair"),
    "flex": (mujoco.mjtObj.mjOBJ_FLEX, "nflex"),
    "eq": (mujoco.mjtObj.mjOBJ_EQUALITY, "neq"),
    "sensor": (mujoco.mjtObj.mjOBJ_SENSOR, "nsensor"),
}
_NAME_RE = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]*)(?P<rest>(\[[^\]]*\])*)$")
# fields whose change needs mj_setConst (derived masses, inertias, invweights)
_NON_NEGATIVE = {
    "actuator_delay",
    "body_mass",
    "body_inertia",
    "dof_armature",
    "dof_damping",
    "dof_frictionloss",
    "geom_friction",
    "pair_friction",
    "jnt_stiffness",
    "geom_size",
    "opt.timestep",
}
_SETCONST_PREFIXES = ("body_", "dof_armature", "jnt_", "geom_size", "geom_pos", "opt.gravity")
# fields laid out by address rather than one row per object: field -> its start-address field
_SEGMENTED = {
    "flex_stiffness": "flex_stiffnessadr",
    "flex_bending": "flex_bendingadr",
}
SCALE_PREFIX = "scale:"


@dataclasses.dataclass(frozen=True)
class ParameterAddress:
    """A resolved name: `array` is `model.<field>` (or `model.opt.<field>`), `index` flat indices.

    With `base` (a `scale:` name) the value is a factor: the elements become base * factor, base
    being their values when the name was resolved.
    """

    name: str
    field: str
    index: tuple[int, ...]
    base: tuple[float, ...] | None = None

    def array(self, model: mujoco.MjModel) -> np.ndarray:
        if self.field.startswith("opt."):
            value = getattr(model.opt, self.field[4:])
            return value if isinstance(value, np.ndarray) else None
        return getattr(model, self.field)

    def read(self, model: mujoco.MjModel) -> np.ndarray:
        """Current values, (len(index),); for a `scale:` name, (1,) the current factor."""
        arr = self.array(model)
        if arr is None:
            return np.array([getattr(model.opt, self.field[4:])], dtype=np.float64)
        values = arr.reshape(-1)[list(self.index)].astype(np.float64)
        if self.base is not None:
            base = np.asarray(self.base)
            k = int(np.argmax(base != 0))
            return np.array([values[k] / base[k] if base[k] else 1.0])
        return values

    def write(self, model: mujoco.MjModel, values: np.ndarray | float) -> None:
        arr = self.array(model)
        values = np.asarray(values, dtype=np.float64)
        if self.base is not None:
            values = np.asarray(self.base) * values.reshape(-1)[0]
        integer = self.is_integer(model)
        if arr is None:
            value = values.reshape(-1)[0]
            setattr(model.opt, self.field[4:], int(value) if integer else float(value))
            return
        flat = arr.reshape(-1)  # a view: MjModel arrays are contiguous
        flat[list(self.index)] = values

    def is_integer(self, model: mujoco.MjModel) -> bool:
        arr = self.array(model)
        if arr is None:
            return isinstance(getattr(model.opt, self.field[4:]), int)
        return arr.dtype.kind in "iu"

    def validate(self, model: mujoco.MjModel, values) -> np.ndarray:
        """Values as float array; raises ParameterError for NaN/Inf, negative values of fields
        that must not be negative, and non-integers for integer fields."""
        value = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(value)):
            raise ParameterError(f"parameter {self.name!r}: expected a finite value, got {value}")
        if (self.field in _NON_NEGATIVE or self.base is not None) and np.any(value < 0):
            raise ParameterError(f"parameter {self.name!r}: expected >= 0, got {value}")
        if self.is_integer(model) and np.any(value != np.round(value)):
            raise ParameterError(f"parameter {self.name!r}: expected an integer, got {value}")
        elements = np.asarray(self.base) * value.reshape(-1)[0] if self.base is not None else value
        if self.field == "actuator_delay":
            for act, delay in zip(
                self.index, np.broadcast_to(elements, len(self.index)), strict=True
            ):
                samples = int(model.actuator_history[act, 0])
                longest = (samples - 1) * model.opt.timestep if samples else 0.0
                if delay > longest + 1e-12:
                    name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, act)
                    need = int(np.ceil(delay / model.opt.timestep)) + 1
                    raise ParameterError(
                        f"parameter {self.name!r}: actuator {name!r} keeps {samples} past commands "
                        f"(nsample), enough for a delay up to {longest:.6g} s, got {delay:.6g} s; "
                        f'compile it with nsample="{need}" or more'
                    )
        if self.field in ("body_ipos", "body_iquat"):
            width = 3 if self.field == "body_ipos" else 4
            for body in sorted({i // width for i in self.index}):
                if model.body_simple[body]:
                    name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body)
                    raise ParameterError(
                        f"parameter {self.name!r}: body {name!r} was compiled as a simple body "
                        "(inertial frame fixed at its joint frame), so its centre of mass cannot "
                        f'move after compiling; add simple="false" to <body name="{name}"> in the MJCF'
                    )
        return value

    @property
    def needs_setconst(self) -> bool:
        return self.field.startswith(_SETCONST_PREFIXES)


def _parse(name: str) -> tuple[str, list[str]]:
    m = _NAME_RE.match(name.strip())
    if not m:
        raise ParameterError(f"parameter name: expected 'field[name][index]', got {name!r}")
    parts = re.findall(r"\[([^\]]*)\]", m.group("rest"))
    return m.group("field"), [p.strip() for p in parts]


def resolve(model: mujoco.MjModel, name: str) -> ParameterAddress:
    """Resolve a parameter name against a model; a wrong name lists the valid ones.

    `scale:<field>[<object>]` is a factor on all of that object's elements of the field (1 = the
    model's current values): e.g. `scale:body_inertia[link3]` (keeps the inertia physical),
    `scale:flex_stiffness[cloth]` (MuJoCo's compiled flex elasticity, linear in Young's modulus).
    """
    if name.startswith(SCALE_PREFIX):
        return _resolve_scale(model, name)
    field, parts = _parse(name)
    if field.startswith("opt."):
        attr = field[4:]
        if not hasattr(model.opt, attr):
            valid = [a for a in dir(model.opt) if not a.startswith("_")]
            raise ParameterError(
                f"parameter {name!r}: unknown option field {attr!r}; valid: {name_list(valid)}"
            )
        value = getattr(model.opt, attr)
        if isinstance(value, np.ndarray):
            idx = [int(parts[0])] if parts else list(range(value.size))
            if any(not 0 <= i < value.size for i in idx):
                raise ParameterError(
                    f"parameter {name!r}: index expected in [0, {value.size}), got {parts}"
                )
            return ParameterAddress(name, field, tuple(idx))
        if parts:
            raise ParameterError(
                f"parameter {name!r}: option {attr!r} is a scalar; expected no index"
            )
        return ParameterAddress(name, field, (0,))
    prefix = field.split("_", 1)[0]
    if prefix not in _PREFIX_OBJ or not hasattr(model, field):
        raise ParameterError(
            f"parameter {name!r}: unknown model field {field!r}; expected <object>_<field> with object "
            f"in {sorted(_PREFIX_OBJ)} or opt.<field>"
        )
    arr = getattr(model, field)
    obj, count_attr = _PREFIX_OBJ[prefix]
    if arr.shape[0] != getattr(model, count_attr):
        raise ParameterError(
            f"parameter {name!r}: {field} is not one row per {prefix} ({arr.shape[0]} rows, "
            f"{getattr(model, count_attr)} {prefix} objects: it is laid out by address)"
            + (f"; scale it with 'scale:{field}[<{prefix}>]'" if field in _SEGMENTED else "")
        )
    if not parts:
        raise ParameterError(f"parameter {name!r}: expected an object name, e.g. {field}[<name>]")
    oid = mujoco.mj_name2id(model, obj, parts[0])
    if oid < 0:
        count = model.njnt if prefix == "dof" else arr.shape[0]
        valid = [mujoco.mj_id2name(model, obj, i) for i in range(count)]
        raise ParameterError(
            f"parameter {name!r}: unknown {obj.name[6:].lower()} {parts[0]!r}; valid: {name_list(valid)}"
        )
    if prefix == "dof":
        nextadr = model.jnt_dofadr[oid + 1] if oid + 1 < model.njnt else model.nv
        rows = list(range(model.jnt_dofadr[oid], nextadr))
    else:
        rows = [oid]
    width = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1
    rest = [int(p) for p in parts[1:]] if all(p.lstrip("-").isdigit() for p in parts[1:]) else None
    if rest is None:
        raise ParameterError(f"parameter {name!r}: indices expected integers, got {parts[1:]}")
    if prefix == "dof" and width == 1 and rest:  # select one dof of a multi-dof joint
        if not 0 <= rest[0] < len(rows):
            raise ParameterError(
                f"parameter {name!r}: dof index expected in [0, {len(rows)}), got {rest[0]}"
            )
        rows, rest = [rows[rest[0]]], rest[1:]
    if rest:
        if width == 1 or not 0 <= rest[0] < width:
            raise ParameterError(
                f"parameter {name!r}: component index expected in [0, {width}), got {rest[0]}"
            )
        idx = [r * width + rest[0] for r in rows]
    else:
        idx = [r * width + c for r in rows for c in range(width)]
    return ParameterAddress(name, field, tuple(idx))


def _resolve_scale(model: mujoco.MjModel, name: str) -> ParameterAddress:
    field, parts = _parse(name[len(SCALE_PREFIX) :])
    if field.startswith("opt.") or len(parts) != 1:
        raise ParameterError(
            f"parameter {name!r}: expected 'scale:<object>_<field>[<object name>]', e.g. "
            "'scale:body_inertia[link3]' or 'scale:flex_stiffness[cloth]'"
        )
    if field in _SEGMENTED:
        prefix = field.split("_", 1)[0]
        obj, count_attr = _PREFIX_OBJ[prefix]
        oid = mujoco.mj_name2id(model, obj, parts[0])
        if oid < 0:
            valid = [mujoco.mj_id2name(model, obj, i) for i in range(getattr(model, count_attr))]
            raise ParameterError(
                f"parameter {name!r}: unknown {prefix} {parts[0]!r}; valid: {name_list(valid)}"
            )
        starts = getattr(model, _SEGMENTED[field])
        if starts[oid] < 0:
            raise ParameterError(f"parameter {name!r}: {prefix} {parts[0]!r} has no {field} data")
        size = getattr(model, field).size
        later = [int(a) for a in starts if a > starts[oid]]
        index = tuple(range(int(starts[oid]), min(later) if later else size))
    else:
        index = resolve(model, f"{field}[{parts[0]}]").index
    address = ParameterAddress(name, field, index)
    if address.is_integer(model):
        raise ParameterError(f"parameter {name!r}: {field} holds integers; it cannot be scaled")
    base = tuple(float(v) for v in address.read(model))
    if not any(base):
        raise ParameterError(
            f"parameter {name!r}: every element of {field} is 0 here; a factor cannot move it"
        )
    return dataclasses.replace(address, base=base)


_SCRATCH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scratch_data(model: mujoco.MjModel) -> mujoco.MjData:
    """A reusable MjData per model for mj_setConst (allocating one costs more than the call)."""
    data = _SCRATCH.get(model)
    if data is None:
        data = _SCRATCH[model] = mujoco.MjData(model)
    return data


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The exact element values behind a `scale:` name, as `set_values` returns them: passing
    them back restores the elements bit for bit (a factor could not)."""

    values: tuple[float, ...]


def set_values(
    model: mujoco.MjModel, values: Mapping[str, float | Snapshot]
) -> dict[str, np.ndarray | Snapshot]:
    """Write values by name in place; returns the previous values (pass them back to restore).

    Calls `mj_setConst` when a changed field feeds derived constants (masses, inertias, armature).
    """
    addrs = []
    for n in values:
        a = resolve(model, n)
        if isinstance(values[n], Snapshot):
            a = dataclasses.replace(a, base=None)  # absolute element values
        addrs.append(a)
    previous = {
        a.name: Snapshot(tuple(a.array(model).reshape(-1)[list(a.index)].tolist()))
        if a.base is not None
        else a.read(model)
        for a in addrs
    }
    raw = {n: (v.values if isinstance(v, Snapshot) else v) for n, v in values.items()}
    checked = [a.validate(model, raw[a.name]) for a in addrs]  # all checks before any write
    for a, value in zip(addrs, checked, strict=True):
        a.write(model, value)
    problem = inertia_violation(model) if any(a.field == "body_inertia" for a in addrs) else None
    if problem:
        for a in addrs:  # leave the model as it was
            before = previous[a.name]
            if isinstance(before, Snapshot):
                dataclasses.replace(a, base=None).write(model, np.asarray(before.values))
            else:
                a.write(model, before)
        raise ParameterError(problem)
    if any(a.needs_setconst for a in addrs):
        mujoco.mj_setConst(model, _scratch_data(model))
    return previous


def inertia_violation(model: mujoco.MjModel) -> str | None:
    """Why some body's principal moments of inertia are not physical, or None when all are."""
    moments = np.sort(model.body_inertia, axis=1)
    bad = np.flatnonzero(moments[:, 0] + moments[:, 1] < moments[:, 2] * (1 - 1e-9))
    if not bad.size:
        return None
    body = int(bad[0])
    name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or f"#{body}"
    small, mid, large = moments[body]
    return (
        f"body_inertia[{name}]: principal moments {model.body_inertia[body].tolist()} violate the "
        f"triangle inequality (not a physical body): expected the two smaller to sum to at least "
        f"the largest, got "
        f"{small:.6g} + {mid:.6g} < {large:.6g}"
    )


def write_unchecked(model: mujoco.MjModel, addresses, values) -> bool:
    """Fast path for optimisers: write one value per address (None entries skipped) and refresh
    derived constants, without bookkeeping; bounds are the caller's job.

    Returns False when the written values make a body's inertia non-physical (the caller should
    score that candidate as infeasible; derived constants are then not refreshed).
    """
    for a, v in zip(addresses, values, strict=True):
        if a is not None:
            a.write(model, v)
    inertia = any(a is not None and a.field == "body_inertia" for a in addresses)
    if inertia and inertia_violation(model):
        return False
    if any(a is not None and a.needs_setconst for a in addresses):
        mujoco.mj_setConst(model, _scratch_data(model))
    return True


@contextlib.contextmanager
def values_applied(model: mujoco.MjModel, values: Mapping[str, float]) -> Iterator[mujoco.MjModel]:
    """Apply values in place for the duration of a `with` block, then restore them exactly."""
    previous = set_values(model, values)
    try:
        yield model
    finally:
        set_values(model, previous)


def load_values(path) -> dict[str, float]:
    """Read a parameter-value file: TOML or JSON mapping names to numbers (or lists).

    A JSON file written by calibration (with a top-level `values` table) is accepted too.
    """
    import json
    from pathlib import Path

    import tomllib

    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"params file: expected an existing TOML/JSON file, got {str(path)!r}")
    text = path.read_text()
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"{path}: cannot parse: {exc}") from exc
    if isinstance(data.get("values"), dict):
        data = data["values"]
    for k, v in data.items():
        if not isinstance(v, (int, float, list)):
            raise ParameterError(f"{path}: parameter {k!r}: expected a number or list, got {v!r}")
    return dict(data)
