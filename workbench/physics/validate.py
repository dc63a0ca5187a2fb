"""Checks on physics values, run before anything is written to a MuJoCo model.

A value breaking a rule raises ParameterError naming the parameter (and the file, when it came
from one), what was expected and what was found. The rules:

- Values: a real number or a flat list of them, one per element the name addresses. Booleans,
  strings, tables, nested lists, NaN and +-Inf are refused.
- Writable model fields: every real-valued field (`body_mass`, `geom_friction`, `dof_solref`,
  `actuator_gainprm`, ...) except those MuJoCo derives (`DERIVED`: recomputed by mj_setConst),
  plus the integer fields of `INTEGER_FIELDS` (contact dimension, collision bitmasks, priority).
  Every other integer or boolean field (types, ids, addresses, counts, flags: `jnt_type`,
  `jnt_qposadr`, `dof_jntid`, `body_parentid`, `jnt_limited`, ...) is structural: the compiler
  fixed it and the rest of the model depends on it, so it is refused. Sizes (`nq`, `nv`) are not
  addressable at all.
- Options: every real option; integer options only from `ENUM_OPTIONS` (one of the MuJoCo enum's
  values, e.g. `opt.integrator` in mjtIntegrator), `FLAG_OPTIONS` (a sum of the enum's bits) and
  `COUNT_OPTIONS` (integers in a range, e.g. `opt.iterations` >= 1).
- Ranges: `POSITIVE` fields > 0 (`opt.timestep`, `opt.impratio`); `NON_NEGATIVE` fields >= 0
  (masses, inertias, friction, damping, armature, stiffness, margins, sizes, delays, tolerances).
- solref (every field named `*solref*`): MuJoCo reads (time constant, damping ratio) when
  solref[0] > 0 and (-stiffness, -damping) when solref[0] <= 0, so solref[0] > 0 needs
  solref[1] > 0 and solref[0] <= 0 needs solref[1] <= 0; one written component is checked
  against the other's current value.
- solimp (every field named `*solimp*`): dmin and dmax in (0, 1), width >= 0, midpoint in
  (0, 1), power >= 1.
- Unit vectors (`UNIT_NORM`: quaternions and joint axes) are written whole, each with norm 1
  within 1e-6; a single component or a `scale:` factor of them is refused.
- `scale:` factors are >= 0, and the elements they produce obey the rules above.
- Model-dependent: an actuator delay fits the actuator's command history; a simple body's
  centre of mass cannot move; geom/site frames MuJoCo ignores (`*_sameframe`) cannot be
  written; principal inertias obey the triangle inequality (checked where values are applied).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np

from workbench.errors import ParameterError

if TYPE_CHECKING:
    from workbench.physics.names import ParameterAddress

DERIVED = frozenset(
    {
        "actuator_acc0",
        "actuator_length0",
        "body_invweight0",
        "body_margin",
        "body_subtreemass",
        "dof_M0",
        "dof_invweight0",
        "dof_length",
        "flex_vertmetric",
        "geom_aabb",
        "geom_rbound",
        "tendon_invweight0",
        "tendon_length0",
    }
)
_CONDIMS = (1, 3, 4, 6)
_BITMASK = (0, 2**31 - 1)
# writable integer model fields: field -> allowed values (a tuple of choices or an inclusive range)
INTEGER_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "geom_condim": ("choices", _CONDIMS),
    "pair_dim": ("choices", _CONDIMS),
    "geom_contype": ("range", _BITMASK),
    "geom_conaffinity": ("range", _BITMASK),
    "geom_priority": ("range", (-(2**31), 2**31 - 1)),
}
ENUM_OPTIONS = {
    "opt.integrator": mujoco.mjtIntegrator,
    "opt.cone": mujoco.mjtCone,
    "opt.jacobian": mujoco.mjtJacobian,
    "opt.solver": mujoco.mjtSolver,
}
FLAG_OPTIONS = {"opt.disableflags": mujoco.mjtDisableBit, "opt.enableflags": mujoco.mjtEnableBit}
COUNT_OPTIONS: dict[str, tuple[int, int]] = {
    "opt.iterations": (1, 2**31 - 1),
    "opt.ls_iterations": (0, 2**31 - 1),
    "opt.noslip_iterations": (0, 2**31 - 1),
    "opt.ccd_iterations": (0, 2**31 - 1),
    "opt.sdf_iterations": (0, 2**31 - 1),
    "opt.sdf_initpoints": (0, 2**31 - 1),
    "opt.disableactuator": _BITMASK,  # bit i disables actuator group i
}
POSITIVE = frozenset({"opt.timestep", "opt.impratio"})
NON_NEGATIVE = frozenset(
    {
        "actuator_armature",
        "actuator_damping",
        "actuator_delay",
        "body_inertia",
        "body_mass",
        "dof_armature",
        "dof_damping",
        "dof_frictionloss",
        "flex_damping",
        "flex_friction",
        "flex_gap",
        "flex_margin",
        "flex_radius",
        "flex_solmix",
        "geom_friction",
        "geom_gap",
        "geom_margin",
        "geom_size",
        "geom_solmix",
        "jnt_margin",
        "jnt_stiffness",
        "pair_friction",
        "pair_gap",
        "pair_margin",
        "sensor_cutoff",
        "sensor_delay",
        "sensor_noise",
        "tendon_armature",
        "tendon_damping",
        "tendon_frictionloss",
        "tendon_margin",
        "tendon_stiffness",
        "tendon_width",
        "opt.ccd_tolerance",
        "opt.density",
        "opt.ls_tolerance",
        "opt.noslip_tolerance",
        "opt.o_friction",
        "opt.o_margin",
        "opt.sleep_tolerance",
        "opt.tolerance",
        "opt.viscosity",
    }
)
UNIT_NORM = frozenset({"body_quat", "body_iquat", "geom_quat", "site_quat", "jnt_axis"})
_NORM_TOLERANCE = 1e-6
_SOLIMP = ("dmin", "dmax", "width", "midpoint", "power")


def _enum_members(enum) -> dict[str, int]:
    return {k: int(v) for k, v in enum.__members__.items() if not k.startswith("mjN")}


def check_writable(name: str, field: str, dtype: np.dtype, *, where: str = "") -> None:
    """Refuse fields that must never be written at run time (structural or derived)."""
    where = where or f"parameter {name!r}"
    if field in DERIVED:
        raise ParameterError(
            f"{where}: {field} is derived by MuJoCo (recomputed from other fields by "
            "mj_setConst); expected a field it is computed from, e.g. body_mass or dof_armature"
        )
    if np.dtype(dtype).kind not in "iub":
        return
    if field.startswith("opt."):
        known = {**ENUM_OPTIONS, **FLAG_OPTIONS, **COUNT_OPTIONS}
        if field not in known:
            raise ParameterError(
                f"{where}: integer option {field} is not writable here; expected one of "
                f"{sorted(known)} or a real-valued option"
            )
        return
    if field not in INTEGER_FIELDS:
        raise ParameterError(
            f"{where}: {field} is a structural field ({np.dtype(dtype).name}: a type, id, address, "
            "count or flag fixed when the model was compiled; writing it at run time corrupts "
            f"the model); expected a real-valued field or one of {sorted(INTEGER_FIELDS)}; "
            f"change {field} in the MJCF instead"
        )


def as_numbers(value: Any, where: str) -> np.ndarray:
    """A number or a flat list of numbers as a (n,) float array; booleans, strings, tables and
    nested lists are refused."""
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if isinstance(value, np.ndarray) and value.ndim > 1:
        raise ParameterError(f"{where}: expected a flat list of numbers, got shape {value.shape}")
    if not items:
        raise ParameterError(f"{where}: expected a number or a list of numbers, got an empty list")
    for item in items:
        if isinstance(item, (bool, np.bool_)):
            raise ParameterError(f"{where}: expected a number, got a boolean {item!r}")
        if not isinstance(item, (int, float, np.integer, np.floating)):
            kind = "a nested list" if isinstance(item, (list, tuple)) else type(item).__name__
            raise ParameterError(
                f"{where}: expected a number or a flat list of numbers, got {kind} {value!r}"
            )
    out = np.array([float(v) for v in items], dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise ParameterError(f"{where}: expected finite values, got {value!r}")
    return out


def check_elements(
    where: str, field: str, components: Sequence[int], values: np.ndarray, *, integer: bool
) -> None:
    """Per-element rules: integers, enums, flags, ranges and solimp domains; `components` are the
    elements' positions within their row (same length as `values`)."""
    for comp, v in zip(components, values, strict=True):
        if integer and v != math.floor(v):
            raise ParameterError(f"{where}: expected an integer, got {v:.12g}")
        if field in ENUM_OPTIONS:
            members = _enum_members(ENUM_OPTIONS[field])
            if int(v) not in members.values():
                listed = ", ".join(f"{k}={i}" for k, i in members.items())
                raise ParameterError(f"{where}: expected one of {listed}; got {v:.12g}")
        elif field in FLAG_OPTIONS:
            members = _enum_members(FLAG_OPTIONS[field])
            top = sum(members.values())
            if not 0 <= v <= top or int(v) & ~top:
                listed = ", ".join(f"{k}={i}" for k, i in members.items())
                raise ParameterError(
                    f"{where}: expected a sum of {FLAG_OPTIONS[field].__name__} bits "
                    f"(0 to {top}: {listed}); got {v:.12g}"
                )
        elif field in COUNT_OPTIONS:
            lo, hi = COUNT_OPTIONS[field]
            if not lo <= v <= hi:
                raise ParameterError(f"{where}: expected an integer in [{lo}, {hi}], got {v:.12g}")
        elif field in INTEGER_FIELDS:
            kind, allowed = INTEGER_FIELDS[field]
            ok = int(v) in allowed if kind == "choices" else allowed[0] <= v <= allowed[1]
            if not ok:
                shown = f"one of {list(allowed)}" if kind == "choices" else f"in {list(allowed)}"
                raise ParameterError(f"{where}: expected {shown}, got {v:.12g}")
        if field in POSITIVE and not v > 0:
            raise ParameterError(f"{where}: expected > 0, got {v:.12g}")
        if field in NON_NEGATIVE and v < 0:
            raise ParameterError(f"{where}: expected >= 0, got {v:.12g}")
        if "solimp" in field:
            _check_solimp(where, comp % 5, v)


def _check_solimp(where: str, comp: int, v: float) -> None:
    label = f"solimp[{comp}] ({_SOLIMP[comp]})"
    if comp in (0, 1, 3) and not 0 < v < 1:
        raise ParameterError(f"{where}: {label} expected in (0, 1), got {v:.12g}")
    if comp == 2 and v < 0:
        raise ParameterError(f"{where}: {label} expected >= 0, got {v:.12g}")
    if comp == 4 and v < 1:
        raise ParameterError(f"{where}: {label} expected >= 1, got {v:.12g}")


def check_rows(where: str, field: str, rows: Iterable[np.ndarray]) -> None:
    """Whole-row rules on complete rows (every component): solref sign pairs, unit norms."""
    for row in rows:
        if "solref" in field and row.size == 2:
            first, second = float(row[0]), float(row[1])
            if first > 0 and not second > 0:
                raise ParameterError(
                    f"{where}: solref [{first:.12g}, {second:.12g}]: a time constant solref[0] > 0 "
                    f"expects a damping ratio solref[1] > 0, got {second:.12g}"
                )
            if first <= 0 and second > 0:
                raise ParameterError(
                    f"{where}: solref [{first:.12g}, {second:.12g}]: a direct stiffness solref[0] <= 0 "
                    f"expects a direct damping solref[1] <= 0 (-damping), got {second:.12g}"
                )
        if field in UNIT_NORM:
            norm = float(np.linalg.norm(row))
            if abs(norm - 1) > _NORM_TOLERANCE:
                raise ParameterError(
                    f"{where}: {field} expected a unit vector (norm 1 within "
                    f"{_NORM_TOLERANCE:.12g}), got {row.tolist()} of norm {norm:.9g}"
                )


def check_value(model: mujoco.MjModel, address: ParameterAddress, value: Any) -> np.ndarray:
    """Every rule for writing `value` at `address` in `model`; returns it as a float array (what
    `ParameterAddress.write` takes). Nothing is written."""
    where = f"parameter {address.name!r}"
    values = as_numbers(value, where)
    count = 1 if address.base is not None else len(address.index)
    if values.size not in (1, count):
        expected = "one value" if count == 1 else f"one value or {count} (one per element)"
        raise ParameterError(f"{where}: expected {expected}, got {values.size}: {values.tolist()}")
    if address.base is not None:
        if values[0] < 0:
            raise ParameterError(f"{where}: a scale factor expected >= 0, got {values[0]:.12g}")
        if address.field in UNIT_NORM:
            raise ParameterError(
                f"{where}: {address.field} holds unit vectors; a factor would change their norm"
            )
    elements = address.elements(values)
    width = address.width
    components = [i % width for i in address.index]
    check_elements(where, address.field, components, elements, integer=address.is_integer(model))
    rows = sorted({i // width for i in address.index})
    if address.field in UNIT_NORM and len(address.index) != len(rows) * width:
        raise ParameterError(
            f"{where}: {address.field} is a unit vector of {width} components; expected all of "
            f"them as a list (e.g. '{address.field}[<name>]' = [...]), got component "
            f"{components[0]} alone"
        )
    arr = address.array(model)
    if arr is not None and width > 1:  # the touched rows as they would be after the write
        flat = arr.reshape(-1)
        after = {r: flat[r * width : (r + 1) * width].astype(np.float64) for r in rows}
        for i, v in zip(address.index, elements, strict=True):
            after[i // width][i % width] = v
        check_rows(where, address.field, after.values())
    _check_model_specific(model, address, elements, where)
    return values


def _check_model_specific(
    model: mujoco.MjModel, address: ParameterAddress, elements: np.ndarray, where: str
) -> None:
    field = address.field
    if field == "actuator_delay":
        for act, delay in zip(address.index, elements, strict=True):
            samples = int(model.actuator_history[act, 0])
            longest = (samples - 1) * model.opt.timestep if samples else 0.0
            if delay > longest + 1e-12:
                name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, act)
                need = int(np.ceil(delay / model.opt.timestep)) + 1
                raise ParameterError(
                    f"{where}: actuator {name!r} keeps {samples} past commands "
                    f"(nsample), enough for a delay up to {longest:.6g} s, got {delay:.6g} s; "
                    f'compile it with nsample="{need}" or more'
                )
    if field in ("body_ipos", "body_iquat"):
        for body in sorted({i // address.width for i in address.index}):
            if model.body_simple[body]:
                name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body)
                raise ParameterError(
                    f"{where}: body {name!r} was compiled as a simple body "
                    "(inertial frame fixed at its joint frame), so its centre of mass cannot "
                    f'move after compiling; add simple="false" to <body name="{name}"> in the MJCF'
                )
    kind, _, part = field.partition("_")
    if kind in ("geom", "site") and part in ("pos", "quat"):
        sameframe = getattr(model, f"{kind}_sameframe")
        ignored = (1, 2) if part == "pos" else (1, 2, 3, 4)  # mjtSameFrame values
        for row in sorted({i // address.width for i in address.index}):
            if int(sameframe[row]) in ignored:
                obj = mujoco.mjtObj.mjOBJ_GEOM if kind == "geom" else mujoco.mjtObj.mjOBJ_SITE
                name = mujoco.mj_id2name(model, obj, row) or f"#{row}"
                raise ParameterError(
                    f"{where}: {kind} {name!r} was compiled in its body's frame "
                    f"({kind}_sameframe = {int(sameframe[row])}), so MuJoCo ignores its {part}; "
                    f"expected a {kind} with its own frame (give it a non-zero pos/quat in the MJCF)"
                )


@functools.cache
def template_model() -> mujoco.MjModel:
    """An empty model: field dtypes and row widths without a scene."""
    return mujoco.MjModel.from_xml_string("<mujoco/>")
