"""Parameter names: `geom_friction[cube][0]`, `dof_damping[joint2]`, `body_mass[link1]`,
`actuator_gainprm[act1][0]`, `opt.timestep`, `opt.gravity[2]`, `scale:body_inertia[link3]`,
parsed and resolved once into flat element indices of an `MjModel` array.

Resolution refuses fields that must never be written at run time (see `workbench.physics.validate`).
"""

from __future__ import annotations

import dataclasses
import re

import mujoco
import numpy as np

from workbench.errors import ParameterError, name_list
from workbench.physics.validate import check_writable

PREFIX_OBJ = {
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
# fields whose change needs mj_setConst (derived masses, inertias, invweights, bounding boxes)
_SETCONST_PREFIXES = ("body_", "dof_armature", "jnt_", "geom_size", "geom_pos", "opt.gravity")
# fields laid out by address rather than one row per object: field -> its start-address field
SEGMENTED = {
    "flex_stiffness": "flex_stiffnessadr",
    "flex_bending": "flex_bendingadr",
}
SCALE_PREFIX = "scale:"
MOMENT_FIELD = "body_mc"  # first moment of mass m * c [kg m], stored as body_ipos = (m c) / m


@dataclasses.dataclass(frozen=True)
class ParameterAddress:
    """A resolved name: `array` is `model.<field>` (or `model.opt.<field>`), `index` flat indices,
    `width` the elements per row (per object; the option's size for `opt.` arrays), so an
    element's component within its row is `index % width`.

    With `base` (a `scale:` name) the value is a factor: the elements become base * factor, base
    being their values when the name was resolved.
    """

    name: str
    field: str
    index: tuple[int, ...]
    base: tuple[float, ...] | None = None
    width: int = 1

    def array(self, model: mujoco.MjModel) -> np.ndarray | None:
        """The model array behind the name; None for a scalar option (`opt.timestep`)."""
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

    def elements(self, value: np.ndarray | float) -> np.ndarray:
        """(len(index),) element values a value stands for (a factor times `base`, or broadcast)."""
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        if self.base is not None:
            return np.asarray(self.base) * value[0]
        return np.broadcast_to(value, (len(self.index),)).astype(np.float64)

    def write(self, model: mujoco.MjModel, values: np.ndarray | float) -> None:
        """Write without checks (see `workbench.physics.validate.check_value`)."""
        arr = self.array(model)
        elements = self.elements(values)
        if arr is None:
            value = elements[0]
            integer = isinstance(getattr(model.opt, self.field[4:]), int)
            setattr(model.opt, self.field[4:], int(value) if integer else float(value))
            return
        flat = arr.reshape(-1)  # a view: MjModel arrays are contiguous
        flat[list(self.index)] = elements

    def is_integer(self, model: mujoco.MjModel) -> bool:
        arr = self.array(model)
        if arr is None:
            return isinstance(getattr(model.opt, self.field[4:]), int)
        return arr.dtype.kind in "iub"

    @property
    def needs_setconst(self) -> bool:
        return self.field.startswith(_SETCONST_PREFIXES)


@dataclasses.dataclass(frozen=True)
class MomentAddress(ParameterAddress):
    """`body_mc[<body>]` / `body_mc[<body>][k]`: the body's first moment of mass m c [kg m]
    (c: centre of mass in the body frame), written as `body_ipos = m c / m` with the body's mass
    at the time of writing. Fitting masses with first moments rather than centres keeps the
    inverse-dynamics regressor linear (mass and CoM do not trade off through a product); writers
    apply `body_mass` before first moments (see `workbench.physics.apply`).

    `index` addresses body_ipos elements; `mass` is the body's mass when the name was resolved
    (used only to check values).
    """

    body: int = -1
    mass: float = 1.0

    def read(self, model: mujoco.MjModel) -> np.ndarray:
        ipos = model.body_ipos.reshape(-1)[list(self.index)].astype(np.float64)
        return ipos * float(model.body_mass[self.body])

    def elements(self, value: np.ndarray | float) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        return np.broadcast_to(value, (len(self.index),)).astype(np.float64) / self.mass

    def write(self, model: mujoco.MjModel, values: np.ndarray | float) -> None:
        value = np.asarray(values, dtype=np.float64).reshape(-1)
        moments = np.broadcast_to(value, (len(self.index),))
        model.body_ipos.reshape(-1)[list(self.index)] = moments / float(model.body_mass[self.body])


def write_order(address: ParameterAddress) -> int:
    """Writers apply first moments after everything else (they divide by the written mass)."""
    return 1 if isinstance(address, MomentAddress) else 0


def _resolve_moment(model: mujoco.MjModel, name: str, parts: list[str]) -> ParameterAddress:
    if not parts or len(parts) > 2:
        raise ParameterError(
            f"parameter {name!r}: expected '{MOMENT_FIELD}[<body>]' or '{MOMENT_FIELD}[<body>][k]' "
            "(k = 0, 1, 2: the x, y, z first moment m c_k [kg m])"
        )
    plain = resolve(model, f"body_ipos[{']['.join(parts)}]")
    body = plain.index[0] // 3
    mass = float(model.body_mass[body])
    if not mass > 0:
        raise ParameterError(
            f"parameter {name!r}: body {parts[0]!r} has mass {mass:.6g}; a first moment m c "
            "needs a body with mass > 0"
        )
    return MomentAddress(name, "body_ipos", plain.index, width=3, body=body, mass=mass)


def parse_name(name: str) -> tuple[str, list[str]]:
    """`'geom_friction[cube][0]'` -> ('geom_friction', ['cube', '0'])."""
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
    Structural and derived fields are refused (`check_writable`).
    """
    if not isinstance(name, str):
        raise ParameterError(f"parameter name: expected a string, got {type(name).__name__}")
    if name.startswith(SCALE_PREFIX):
        return _resolve_scale(model, name)
    field, parts = parse_name(name)
    if field.startswith("opt."):
        return _resolve_option(model, name, field, parts)
    if field == MOMENT_FIELD:
        return _resolve_moment(model, name, parts)
    prefix = field.split("_", 1)[0]
    if prefix not in PREFIX_OBJ or not hasattr(model, field):
        raise ParameterError(
            f"parameter {name!r}: unknown model field {field!r}; expected <object>_<field> with object "
            f"in {sorted(PREFIX_OBJ)} or opt.<field>"
        )
    arr = getattr(model, field)
    check_writable(name, field, arr.dtype)
    obj, count_attr = PREFIX_OBJ[prefix]
    if arr.shape[0] != getattr(model, count_attr):
        raise ParameterError(
            f"parameter {name!r}: {field} is not one row per {prefix} ({arr.shape[0]} rows, "
            f"{getattr(model, count_attr)} {prefix} objects: it is laid out by address)"
            + (f"; scale it with 'scale:{field}[<{prefix}>]'" if field in SEGMENTED else "")
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
    rest = _indices(name, parts[1:])
    if prefix == "dof" and width == 1 and rest:  # select one dof of a multi-dof joint
        if not 0 <= rest[0] < len(rows):
            raise ParameterError(
                f"parameter {name!r}: dof index expected in [0, {len(rows)}), got {rest[0]}"
            )
        rows, rest = [rows[rest[0]]], rest[1:]
    if len(rest) > 1:
        raise ParameterError(f"parameter {name!r}: expected at most one component index")
    if rest:
        if width == 1 or not 0 <= rest[0] < width:
            raise ParameterError(
                f"parameter {name!r}: component index expected in [0, {width}), got {rest[0]}"
            )
        idx = [r * width + rest[0] for r in rows]
    else:
        idx = [r * width + c for r in rows for c in range(width)]
    return ParameterAddress(name, field, tuple(idx), width=width)


def _indices(name: str, parts: list[str]) -> list[int]:
    if not all(p.lstrip("-").isdigit() for p in parts):
        raise ParameterError(f"parameter {name!r}: indices expected integers, got {parts}")
    return [int(p) for p in parts]


def _resolve_option(
    model: mujoco.MjModel, name: str, field: str, parts: list[str]
) -> ParameterAddress:
    attr = field[4:]
    valid = [a for a in dir(model.opt) if not a.startswith("_")]
    if attr not in valid:
        raise ParameterError(
            f"parameter {name!r}: unknown option field {attr!r}; valid: {name_list(valid)}"
        )
    value = getattr(model.opt, attr)
    check_writable(name, field, np.asarray(value).dtype)
    if isinstance(value, np.ndarray):
        idx = _indices(name, parts) if parts else list(range(value.size))
        if len(parts) > 1 or any(not 0 <= i < value.size for i in idx):
            raise ParameterError(
                f"parameter {name!r}: one index expected in [0, {value.size}), got {parts}"
            )
        return ParameterAddress(name, field, tuple(idx), width=value.size)
    if parts:
        raise ParameterError(f"parameter {name!r}: option {attr!r} is a scalar; expected no index")
    return ParameterAddress(name, field, (0,))


def _resolve_scale(model: mujoco.MjModel, name: str) -> ParameterAddress:
    field, parts = parse_name(name[len(SCALE_PREFIX) :])
    if field.startswith("opt.") or len(parts) != 1:
        raise ParameterError(
            f"parameter {name!r}: expected 'scale:<object>_<field>[<object name>]', e.g. "
            "'scale:body_inertia[link3]' or 'scale:flex_stiffness[cloth]'"
        )
    if field in SEGMENTED:
        prefix = field.split("_", 1)[0]
        obj, count_attr = PREFIX_OBJ[prefix]
        oid = mujoco.mj_name2id(model, obj, parts[0])
        if oid < 0:
            valid = [mujoco.mj_id2name(model, obj, i) for i in range(getattr(model, count_attr))]
            raise ParameterError(
                f"parameter {name!r}: unknown {prefix} {parts[0]!r}; valid: {name_list(valid)}"
            )
        starts = getattr(model, SEGMENTED[field])
        if starts[oid] < 0:
            raise ParameterError(f"parameter {name!r}: {prefix} {parts[0]!r} has no {field} data")
        size = getattr(model, field).size
        later = [int(a) for a in starts if a > starts[oid]]
        index = tuple(range(int(starts[oid]), min(later) if later else size))
        address = ParameterAddress(name, field, index)
    else:
        address = dataclasses.replace(resolve(model, f"{field}[{parts[0]}]"), name=name)
    if address.is_integer(model):
        raise ParameterError(f"parameter {name!r}: {field} holds integers; it cannot be scaled")
    base = tuple(float(v) for v in address.read(model))
    if not any(base):
        raise ParameterError(
            f"parameter {name!r}: every element of {field} is 0 here; a factor cannot move it"
        )
    return dataclasses.replace(address, base=base)
