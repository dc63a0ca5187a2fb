"""A scene that puts the target robot where the recorded hand was: the source scene's objects
(table, cube, ... ; its driven hand removed) plus the robot attached at a base pose, with a
fingertip at its tool site that carries the recorded tool's geoms (same names, so contact pairs
and calibrated values by name keep applying) and position servos on its joints.

`compose(...)` returns a `Composition` (an MjSpec factory plus the names the retargeting needs);
`write_scene` writes it as a scene folder (scene.toml, scene.xml, assets/) that loads with
`load_scene_folder`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import warnings
from pathlib import Path

import mujoco
import numpy as np

from workbench.errors import RetargetError, SceneError, name_list
from workbench.scenes.actuation import position_servos
from workbench.scenes.scene import Scene

TIP_SITE = "retarget_tip"
_GEOM_FIELDS = (
    "type",
    "size",
    "pos",
    "quat",
    "rgba",
    "contype",
    "conaffinity",
    "condim",
    "priority",
    "friction",
    "solmix",
    "solref",
    "solimp",
    "margin",
    "gap",
    "mass",
    "density",
    "group",
)
_PAIR_FIELDS = (
    "geomname1",
    "geomname2",
    "condim",
    "friction",
    "solref",
    "solreffriction",
    "solimp",
    "margin",
    "gap",
)


@dataclasses.dataclass(frozen=True)
class Robot:
    """The target robot: a spec factory, where it came from (for messages), its reference pose."""

    make_spec: object  # () -> MjSpec
    where: str
    name: str


@dataclasses.dataclass(frozen=True)
class Composition:
    """The combined scene and the names retargeting needs.

    Attributes:
      make_spec: () -> MjSpec of the combined scene (objects + robot + fingertip + servos).
      robot_joints: the robot's joints (hinge/slide), in model order.
      robot_bodies: the robot's bodies (fingertip included).
      tool_body: name of the fingertip body (its geoms: copies of the recorded tool's).
      reference: (len(robot_joints),) reference pose [rad or m] (the robot's first keyframe, else
        its qpos0): the IK's start and posture target.
      binding: the [binding] table of the written scene.
    """

    make_spec: object
    robot_joints: tuple[str, ...]
    robot_bodies: tuple[str, ...]
    tool_body: str
    reference: np.ndarray
    binding: dict


def yaw_quat(yaw_deg: float) -> list[float]:
    """(w, x, y, z) of a rotation by `yaw_deg` about z."""
    half = math.radians(yaw_deg) / 2
    return [math.cos(half), 0.0, 0.0, math.sin(half)]


def _absolute_assets(spec: mujoco.MjSpec) -> None:
    """Point the spec's asset files at absolute paths (so attaching keeps them readable)."""
    root = Path(spec.modelfiledir or ".")
    for elements, sub in (
        (spec.meshes, spec.meshdir),
        (spec.hfields, spec.meshdir),
        (spec.skins, spec.meshdir),
        (spec.textures, spec.texturedir),
    ):
        for element in elements:
            if element.file and not Path(element.file).is_absolute():
                element.file = str((root / (sub or "") / element.file).resolve())


def _tool_point(objects: Scene, hand: str, tool_point, where: str):
    """(offset (3,) in the hand frame, tool body name or None)."""
    if tool_point is None:
        return np.zeros(3), None
    if not isinstance(tool_point, str):
        return np.asarray(tool_point, dtype=float), None
    model = objects.model
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, tool_point)
    hid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, hand)
    names = [model.body(b).name for b in range(model.nbody)]
    inside = [names[b] for b in range(model.nbody) if _descends(model, b, hid) and b != hid]
    if bid < 0 or not _descends(model, bid, hid) or bid == hid:
        got = "no such body" if bid < 0 else "a body not fixed to the hand"
        raise RetargetError(
            f"{where}: --tool-point: expected a body fixed to the hand {hand!r} (or x,y,z in the "
            f"hand frame), got {tool_point!r} ({got}); bodies on the hand: {name_list(inside)}"
        )
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    rot = data.xmat[hid].reshape(3, 3)
    return rot.T @ (data.xpos[bid] - data.xpos[hid]), tool_point


def _descends(model: mujoco.MjModel, body: int, ancestor: int) -> bool:
    while body > 0:
        if body == ancestor:
            return True
        body = int(model.body_parentid[body])
    return ancestor == 0


def tool_offset(objects: Scene, settings) -> tuple[np.ndarray, str | None]:
    """The tool point on the recorded hand (hand frame [m]) and the tool body's name, if any."""
    hand = settings.hand
    where = f"scene {objects.name!r}"
    if mujoco.mj_name2id(objects.model, mujoco.mjtObj.mjOBJ_BODY, hand) < 0 and isinstance(
        settings.tool_point, str
    ):
        raise RetargetError(
            f"{where}: --tool-point {settings.tool_point!r}: expected the recorded hand "
            f"{hand!r} in the objects scene, got no such body"
        )
    return _tool_point(objects, hand, settings.tool_point, where)


def compose(
    robot: Robot,
    objects: Scene,
    settings,
    base: tuple[float, float, float, float],
    *,
    keep_free_bodies: bool = True,
) -> Composition:
    """The combined scene (see module doc); `keep_free_bodies=False` leaves out every object
    that can move (the IK model: the robot among the static objects)."""
    _, tool_body = tool_offset(objects, settings)
    probe = robot.make_spec()
    _check_site(probe, settings.site, robot.where)
    reference, joints = _reference(probe, robot.where)

    def make_spec() -> mujoco.MjSpec:
        return _build(robot, objects, settings, base, tool_body, keep_free_bodies)

    model = compile_quietly(make_spec)
    root = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, _root(probe))
    robot_bodies = tuple(model.body(b).name for b in sorted(_subtree(model, root)))
    b = objects.binding
    binding = {
        "timestep": b.timestep,
        "state_joints": [*b.state_joints, *joints],
        "actuators": [],  # the servos follow recorded positions (driven_joints), not a ctrl signal
        "torque_joints": list(joints),
        "compare": list(b.compare),
        "driven_joints": list(joints),
        "passive_bodies": list(b.passive_bodies),
        "passive_joints": list(b.passive_joints),
        "derive_velocities": b.derive_velocities,
        "contact_bodies": [c for c in b.contact_bodies if c not in b.driven_bodies],
    }
    if b.capture_frame:
        binding["capture_frame"] = list(b.capture_frame)
    return Composition(
        make_spec, tuple(joints), robot_bodies, tool_body or "tool_tip", reference, binding
    )


def _root(spec: mujoco.MjSpec) -> str:
    return spec.worldbody.first_body().name


def _subtree(model: mujoco.MjModel, root: int) -> set[int]:
    return {b for b in range(model.nbody) if _descends(model, b, root) and b > 0}


def _check_site(spec: mujoco.MjSpec, site: str, where: str) -> None:
    if spec.site(site) is None and spec.body(site) is None:
        names = [s.name for s in spec.sites if s.name]
        bodies = [b.name for b in spec.bodies if b.name and b.name != "world"]
        raise RetargetError(
            f"{where}: --site: expected a site (or body) of the robot, got {site!r}; sites: "
            f"{name_list(names)}; bodies: {name_list(bodies)}"
        )


def _tool_site(spec: mujoco.MjSpec, name: str):
    """The robot's site `name`, or a new site at the origin of body `name` (e.g. a URDF link)."""
    site = spec.site(name)
    if site is None:
        site = spec.body(name).add_site(name=name + "_site")
    return site


def _reference(spec: mujoco.MjSpec, where: str) -> tuple[np.ndarray, list[str]]:
    """(reference pose of the hinge/slide joints, their names): first keyframe, else qpos0."""
    try:
        model = spec.compile()
    except ValueError as exc:
        raise SceneError(f"{where}: robot does not compile: {exc}") from exc
    joints = [
        j
        for j in range(model.njnt)
        if int(model.jnt_type[j])
        in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    ]
    if not joints:
        raise RetargetError(
            f"{where}: expected a robot with hinge or slide joints to retarget onto, got "
            f"{model.njnt} joints of other kinds"
            if model.njnt
            else f"{where}: expected a robot with hinge or slide joints, got no joints"
        )
    if model.njnt != len(joints):
        raise RetargetError(
            f"{where}: expected a fixed-base robot (hinge and slide joints only), got free or ball "
            f"joints {[model.joint(j).name for j in range(model.njnt) if j not in joints]}"
        )
    qpos = model.key_qpos[0] if model.nkey else model.qpos0
    adr = [int(model.jnt_qposadr[j]) for j in joints]
    return np.array(qpos[adr], dtype=float), [model.joint(j).name for j in joints]


def _build(robot, objects, settings, base, tool_body, keep_free_bodies) -> mujoco.MjSpec:
    objs = objects.spec()
    _absolute_assets(objs)
    hand = objs.body(settings.hand)
    saved_geoms, saved_pairs = [], []
    if tool_body is not None:
        for geom in objs.body(tool_body).geoms:
            saved_geoms.append(
                {f: _copy(getattr(geom, f)) for f in _GEOM_FIELDS} | {"name": geom.name}
            )
        names = {g["name"] for g in saved_geoms}
        for pair in objs.pairs:
            if pair.geomname1 in names or pair.geomname2 in names:
                saved_pairs.append(
                    {f: _copy(getattr(pair, f)) for f in _PAIR_FIELDS} | {"name": pair.name}
                )
    for body in objects.binding.driven_bodies:
        if objs.body(body) is not None:
            objs.delete(objs.body(body))
    if hand is not None and settings.hand not in objects.binding.driven_bodies:
        objs.delete(objs.body(settings.hand))
    if not keep_free_bodies:  # the IK model: only what is welded to the world stays
        tops = [b for b in objs.bodies if len(b.joints) and not _moves(b.parent)]
        for body in tops:  # topmost moving bodies (their subtrees go with them)
            objs.delete(body)
    rob = robot.make_spec()
    _absolute_assets(rob)
    position_servos(rob, where=robot.where, bandwidth_hz=settings.servo_hz, all_joints=True)
    for key in list(rob.keys):
        rob.delete(key)
    rob.nkey = 0
    rob.default.name = f"{robot.name}_main"  # attached unprefixed, an unnamed class would not save
    # position servos are stiff: their damping is integrated implicitly (implicitfast), which
    # for the objects (free bodies, no joint damping) steps like the semi-implicit Euler default
    objs.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    rob.option.integrator = objs.option.integrator
    site = _tool_site(rob, settings.site)
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, np.asarray(site.quat, dtype=float))
    tip = site.parent.add_body(
        name=tool_body or "tool_tip",
        pos=list(np.asarray(site.pos) + rot.reshape(3, 3) @ np.asarray(settings.tip_offset)),
        quat=list(site.quat),
    )
    tip.add_site(name=TIP_SITE, size=[0.004, 0, 0], rgba=[1, 0, 0, 1])
    for attrs in saved_geoms:
        geom = tip.add_geom(name=attrs.pop("name"))
        for field, value in attrs.items():
            setattr(geom, field, value)
    if np.linalg.norm(settings.tip_offset) > 0:  # a visual stick from the site to the tip
        tip.add_geom(
            type=mujoco.mjtGeom.mjGEOM_CAPSULE,
            fromto=[0.0, 0.0, 0.0, *(-np.asarray(settings.tip_offset))],
            size=[0.004, 0, 0],
            contype=0,
            conaffinity=0,
            mass=0,
            rgba=[0.3, 0.3, 0.3, 0.6],
        )
    _check_names(objs, rob, robot.where, objects.name)
    frame = objs.worldbody.add_frame(pos=list(base[:3]), quat=yaw_quat(base[3]))
    with quiet():  # empty prefix: names are checked unique above
        objs.attach(rob, prefix="", frame=frame)
    present = {g.name for g in objs.geoms if g.name}
    for attrs in saved_pairs:
        if not {attrs["geomname1"], attrs["geomname2"]} <= present:
            continue  # its object was left out (the IK model has no free bodies)
        pair = objs.add_pair(name=attrs.pop("name"))
        for field, value in attrs.items():
            setattr(pair, field, value)
    return objs


@contextlib.contextmanager
def quiet():
    """MuJoCo's notes on attaching with an empty prefix silenced (printed on stderr by its C
    code and as a Python warning): the composed names are checked to be unique instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def compile_quietly(make_spec) -> mujoco.MjModel:
    """The compiled model of a composed spec factory."""
    spec = make_spec()
    with quiet():
        try:
            return spec.compile()
        except ValueError as exc:
            raise SceneError(f"composed scene does not compile: {exc}") from exc


def _moves(body) -> bool:
    """Whether a body, or a body it hangs from, has joints."""
    while body is not None and body.name != "world":
        if len(body.joints):
            return True
        body = body.parent
    return False


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _check_names(objs: mujoco.MjSpec, rob: mujoco.MjSpec, where: str, scene: str) -> None:
    for kind in ("bodies", "joints", "geoms", "sites", "actuators"):
        ours = {e.name for e in getattr(objs, kind) if e.name}
        theirs = {e.name for e in getattr(rob, kind) if e.name}
        both = sorted((ours & theirs) - {"world"})
        if both:
            raise RetargetError(
                f"{where}: robot {kind} {both} have the same names as {kind} of the objects "
                f"scene {scene!r}; expected distinct names (rename them in the robot file)"
            )


def write_scene(composition: Composition, staged: Path, *, name: str, source: str) -> None:
    """Write the combined scene into the empty folder `staged` (scene.toml, scene.xml, assets/)."""
    spec = composition.make_spec()
    files: dict[Path, str] = {}
    groups = (spec.meshes, spec.hfields, spec.skins, spec.textures)
    (staged / "assets").mkdir()
    for elements in groups:
        for element in elements:
            if not element.file:
                continue
            path = Path(element.file)
            if path not in files:
                stem, k, target = path.stem, 0, path.name
                while target in files.values():
                    k += 1
                    target = f"{stem}_{k}{path.suffix}"
                files[path] = target
                shutil.copyfile(path, staged / "assets" / target)
            element.file = files[path]
    spec.meshdir = "assets"
    spec.texturedir = "assets"
    spec.modelfiledir = str(staged)
    with quiet():
        xml = spec.to_xml()
    (staged / "scene.xml").write_text(xml)
    lines = [
        f"name = {json.dumps(name)}",
        f"description = {json.dumps('robot retargeted onto a recorded hand path by workbench retarget')}",
        f"source = {json.dumps(source)}",
        'mjcf = "scene.xml"',
        'dataset_mapping = "../mapping.toml"',
        "",
        "[binding]",
        *(f"{k} = {_toml(v)}" for k, v in composition.binding.items()),
    ]
    (staged / "scene.toml").write_text("\n".join(lines) + "\n")


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)
