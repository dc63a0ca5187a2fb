"""Scene builders: functions `builder(folder, **builder_args) -> mujoco.MjSpec` for a scene folder.

A scene.toml names one with `builder = "<name>"`: a shipped builder (`BUILDERS`) or one another
package registers as an entry point in group `workbench.builders`, e.g. in its pyproject.toml::

    [project.entry-points."workbench.builders"]
    my_robot = "my_package.scenes:build_my_robot"

`[builder_args]` are checked against the builder's keyword arguments. Arguments annotated
`SceneFile` (or `MjcfFile`) are file paths relative to the scene folder, confined like every file
a scene reads (see `workbench.scenes.confine`); an `MjcfFile`'s includes and assets are confined too.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
from collections.abc import Callable
from pathlib import Path

import mujoco
import yaml

from workbench import schema
from workbench.errors import SceneError, name_list
from workbench.scenes.actuation import torque_motors

ENTRY_POINT_GROUP = "workbench.builders"


class SceneFile(str):
    """Annotation for a builder argument naming a file relative to the scene folder."""


class MjcfFile(SceneFile):
    """Annotation for a builder argument naming an MJCF file relative to the scene folder."""


DOUBLE_PENDULUM_KEYS = (
    "m1",
    "m2",
    "l1",
    "l2",
    "r1",
    "r2",
    "I1",
    "I2",
    "Ir",
    "gr",
    "b1",
    "b2",
    "cf1",
    "cf2",
    "g",
    "tl1",
    "tl2",
)


def read_double_pendulum_parameters(path: str | Path) -> dict[str, float]:
    """Read an identified-parameter YAML file of the dfki double pendulum (SI units)."""
    path = Path(path)
    if not path.is_file():
        raise SceneError(
            f"double pendulum parameters: expected an existing YAML file, got {str(path)!r}"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SceneError(f"{path}: cannot read YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SceneError(
            f"{path}: expected a YAML mapping of parameters, got {type(data).__name__}"
        )
    missing = [k for k in DOUBLE_PENDULUM_KEYS if k not in data]
    if missing:
        raise SceneError(f"{path}: expected keys {list(DOUBLE_PENDULUM_KEYS)}; missing {missing}")
    return {k: schema.number(data[k], f"{path}: {k}", SceneError) for k in DOUBLE_PENDULUM_KEYS}


def double_pendulum_spec(params: dict[str, float]) -> mujoco.MjSpec:
    """Two hinge links swinging about +x, q = 0 hanging down, both torque-driven.

    Joint-axis inertias I are converted to centre-of-mass inertias I - m r^2; the rotor's reflected
    inertia gr^2 Ir becomes joint armature; b is viscous damping [N m s/rad]; cf Coulomb friction
    [N m] becomes MuJoCo's frictionloss (a soft dry-friction constraint); tl the torque limit [N m].
    """
    spec = mujoco.MjSpec()
    spec.modelname = "double_pendulum"
    spec.option.gravity = [0.0, 0.0, -params["g"]]
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_RK4
    spec.option.timestep = 0.001
    parent = spec.worldbody
    parent.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER,
        size=[0.03, 0.02, 0],
        pos=[-0.04, 0, 0],
        quat=[math.sqrt(0.5), 0, math.sqrt(0.5), 0],
        contype=0,
        conaffinity=0,
        rgba=[0.2, 0.2, 0.2, 1],
    )
    armature = params["gr"] ** 2 * params["Ir"]
    pos = [0.0, 0.0, 0.0]
    for i, name in ((1, "shoulder"), (2, "elbow")):
        m, r, length = params[f"m{i}"], params[f"r{i}"], params[f"l{i}"]
        i_cm = params[f"I{i}"] - m * r * r
        if i_cm <= 0:
            raise SceneError(
                f"double pendulum I{i}: expected joint-axis inertia > m{i} r{i}^2 = {m * r * r:.6g}, "
                f"got {params[f'I{i}']:.6g} (centre-of-mass inertia would be {i_cm:.6g})"
            )
        body = parent.add_body(name=f"link{i}", pos=pos)
        body.mass = m
        body.ipos = [0.0, 0.0, -r]
        body.inertia = [i_cm, i_cm, i_cm]
        body.explicitinertial = True
        body.add_joint(
            name=name,
            type=mujoco.mjtJoint.mjJNT_HINGE,
            axis=[1, 0, 0],
            armature=armature,
            damping=params[f"b{i}"],
            frictionloss=params[f"cf{i}"],
        )
        body.add_geom(
            type=mujoco.mjtGeom.mjGEOM_CAPSULE,
            fromto=[0, 0, 0, 0, 0, -length],
            size=[0.015, 0, 0],
            contype=0,
            conaffinity=0,
            density=0,
            rgba=[0.8, 0.3 * i, 0.2, 1],
        )
        limit = params[f"tl{i}"]
        spec.add_actuator(
            name=name,
            target=name,
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            ctrllimited=True,
            ctrlrange=[-limit, limit],
        )
        parent, pos = body, [0.0, 0.0, -length]
    return spec


def build_double_pendulum(folder: Path, *, parameters: SceneFile) -> mujoco.MjSpec:
    """The dfki double pendulum from an identified-parameter YAML file (see `double_pendulum_spec`)."""
    return double_pendulum_spec(read_double_pendulum_parameters(folder / parameters))


def build_torque_actuated(
    folder: Path, *, mjcf: MjcfFile, friction_impedance: float | None = None
) -> mujoco.MjSpec:
    """Load an MJCF and replace its actuators by one joint-torque motor per actuated joint.

    The motor keeps the actuator's name and uses its force range as control range (else the
    joint's actuatorfrcrange); a file without actuators gets a motor per hinge/slide joint
    (`workbench.scenes.actuation.torque_motors`).
    `friction_impedance` (0 < d < 1), when given, makes every joint's dry friction smooth: its
    friction-loss constraint gets impedance d (`solimp_friction = d d ...`), so the friction force
    grows linearly with velocity up to `frictionloss` instead of jumping, with a slope set by the
    joint's `solref_friction[0]` (`dof_solref[<joint>][0]`, larger = smoother; see
    `smooth_friction_width`). Forward and inverse dynamics use the same law.
    """
    path = folder / mjcf
    if not path.is_file():
        raise SceneError(f"torque_actuated: mjcf: expected an existing file, got {str(path)!r}")
    if friction_impedance is not None:
        where = "torque_actuated: friction_impedance"
        schema.number(friction_impedance, where, SceneError)
        if not 0 < friction_impedance < 1:
            raise SceneError(f"{where}: expected a value in (0, 1), got {friction_impedance}")
    try:
        spec = mujoco.MjSpec.from_file(str(path))
    except ValueError as exc:
        raise SceneError(f"{path}: MJCF does not parse: {exc}") from exc
    if friction_impedance is not None:
        for joint in spec.joints:
            joint.solimp_friction[:2] = friction_impedance
    torque_motors(spec, where=f"torque_actuated: {path}")
    return spec


BUILDERS: dict[str, Callable[..., mujoco.MjSpec]] = {
    "double_pendulum": build_double_pendulum,
    "torque_actuated": build_torque_actuated,
}


@functools.cache
def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def registered_builders() -> list[str]:
    """Names a scene.toml may use as `builder`: shipped ones, then entry points."""
    return [*BUILDERS, *(n for n in _entry_points() if n not in BUILDERS)]


def builder_by_name(name: str, where: str) -> Callable[..., mujoco.MjSpec]:
    """The registered builder `name`; SceneError listing the registered ones otherwise."""
    if name in BUILDERS:
        return BUILDERS[name]
    entry = _entry_points().get(name)
    if entry is None:
        raise SceneError(
            f"{where}: builder: unknown {name!r}; registered: {name_list(registered_builders())}. "
            f"A builder is registered by a package entry point in group {ENTRY_POINT_GROUP!r} "
            f'(pyproject.toml: [project.entry-points."{ENTRY_POINT_GROUP}"] '
            'my_builder = "my_package.module:function"); module paths are not imported'
        )
    try:
        builder = entry.load()
    except Exception as exc:  # a third-party package failing to import: report, do not crash
        raise SceneError(
            f"{where}: builder {name!r}: entry point {entry.value!r} cannot be loaded: {exc}"
        ) from exc
    if not callable(builder):
        raise SceneError(f"{where}: builder {name!r}: entry point {entry.value!r} is not callable")
    return builder
