"""Scene folders from a user's robot file (MJCF or URDF) in one call.

`robot_scene(path, out, ...)` reads the robot, prepares it for replay and writes a scene folder
that `load_scene_folder` loads:

    out/scene.toml     the binding derived from the model (every hinge/slide/ball/free joint a
                       state joint; the actuators; the joints they drive as torque joints)
    out/robot.xml      the prepared model (MJCF, written by MuJoCo from the edited MjSpec)
    out/assets/        the mesh, texture and height-field files it needs, copied

Preparation:
- URDF: every link stays a body (MuJoCo's `fusestatic` off), so links are addressable by name;
  `package://<pkg>/<path>` mesh names are resolved against `mesh_dir` (as
  `mesh_dir/<pkg>/<path>`, then `mesh_dir/<path>`), other relative names against the URDF's
  folder (or `mesh_dir`); joint effort limits become torque bounds (MuJoCo's URDF import stores
  them as `actuatorfrcrange`, and motors take them as control range).
- `discard_visual`: geoms that do not collide, materials, textures and the meshes only they used
  are removed (`MjSpec.discard_visual`), so visual mesh files need not exist; a body that infers
  its mass from a missing visual mesh is refused (give it an <inertial>). For a URDF, <visual>
  elements are dropped before MuJoCo reads the file.
- `actuation`: "torque" (joint-torque motors, `workbench.scenes.actuation.torque_motors`),
  "position" (critically damped position servos) or "as-is" (the file's own actuators).
- `payload`: (mass [kg], body): a compact mass (a 2 cm solid sphere) fixed at the body's origin,
  as a child body `payload` (its `body_mass[payload]` can then be calibrated).

Every problem raises SceneError naming the file (and saying "URDF" or "MJCF"), the element, the
expected and the actual value; nothing is written unless the scene loads (built in a staging
folder, moved into place at the end).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import mujoco

from workbench import schema
from workbench.errors import SceneError, name_list
from workbench.scenes.actuation import position_servos, torque_motors

ACTUATIONS = ("torque", "position", "as-is")
PAYLOAD_RADIUS = 0.02  # [m] the payload's inertia is a solid sphere's of this radius
_URDF_MOVABLE = ("revolute", "continuous", "prismatic", "floating", "planar")


@dataclasses.dataclass(frozen=True)
class RobotSceneOptions:
    """What `robot_scene` does to the robot file (see module doc)."""

    discard_visual: bool = False
    mesh_dir: Path | None = None
    actuation: str = "torque"
    payload: tuple[float, str] | None = None
    timestep: float | None = None

    def __post_init__(self) -> None:
        if self.actuation not in ACTUATIONS:
            raise SceneError(
                f"--actuation: expected one of {list(ACTUATIONS)}, got {self.actuation!r}"
            )
        if self.timestep is not None:
            schema.number(self.timestep, "--timestep", SceneError, lower=0, lower_open=True)


def parse_payload(text: str) -> tuple[float, str]:
    """'1.5@link7' -> (1.5, 'link7'); SceneError for anything else or a mass <= 0."""
    m = re.fullmatch(r"\s*([^@\s]+)\s*@\s*(\S+)\s*", str(text))
    if not m:
        raise SceneError(f"--payload: expected MASS@BODY (e.g. 1.5@link7), got {text!r}")
    try:
        mass = float(m.group(1))
    except ValueError:
        raise SceneError(
            f"--payload: expected a mass in kg before '@', got {m.group(1)!r}"
        ) from None
    if not (mass > 0 and mass < float("inf")):
        raise SceneError(f"--payload: expected a mass > 0 kg, got {mass!r}")
    return mass, m.group(2)


def root_tag(path: Path) -> str:
    """The root element's tag ('robot' for a URDF, 'mujoco' for an MJCF)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        kind = "URDF" if path.suffix.lower() == ".urdf" else "MJCF"
        raise SceneError(f"{kind} {str(path)!r}: does not parse as XML: {exc}") from exc
    return str(root.tag)


def load_robot_spec(path: Path, kind: str, options: RobotSceneOptions) -> mujoco.MjSpec:
    """The robot as an MjSpec with visual elements dropped (if asked) and URDF paths resolved."""
    path = Path(path)
    where = f"{kind} {str(path)!r}"
    if not path.is_file():
        raise SceneError(f"{where}: expected an existing file")
    actual = root_tag(path)
    expected = "robot" if kind == "URDF" else "mujoco"
    if actual != expected:
        raise SceneError(f"{where}: expected a <{expected}> root element, got <{actual}>")
    if kind == "URDF":
        return _urdf_spec(path, options, where)
    try:
        spec = mujoco.MjSpec.from_file(str(path))
    except ValueError as exc:
        raise SceneError(f"{where}: does not parse: {exc}") from exc
    if options.discard_visual:
        _discard_visual(spec, where)
    return spec


def _discard_visual(spec: mujoco.MjSpec, where: str) -> None:
    try:
        spec.discard_visual()
    except ValueError as exc:  # a body infers its inertia from a visual mesh that is absent
        raise SceneError(
            f"{where}: cannot discard visual geoms: {exc}; a body that infers its mass from a "
            "visual geom needs that file, or an explicit <inertial>"
        ) from exc


def _urdf_spec(path: Path, options: RobotSceneOptions, where: str) -> mujoco.MjSpec:
    root = ET.parse(path).getroot()
    joints = [j for j in root.iter("joint") if j.get("type") in _URDF_MOVABLE]
    if not joints:
        kinds = sorted({j.get("type", "?") for j in root.iter("joint")})
        raise SceneError(
            f"{where}: expected at least one movable <joint> (type {list(_URDF_MOVABLE)}), got "
            + (f"only {kinds} joints" if kinds else "no <joint> elements")
        )
    for link in root.iter("link"):
        for visual in list(link.findall("visual")):
            if options.discard_visual:
                link.remove(visual)
        for part in ("visual", "collision"):
            for element in link.findall(part):
                for mesh in element.iter("mesh"):
                    mesh.set(
                        "filename",
                        str(_urdf_mesh(mesh.get("filename", ""), path, options, where, link, part)),
                    )
    for old in root.findall("mujoco"):
        root.remove(old)
    extension = ET.SubElement(root, "mujoco")
    ET.SubElement(
        extension,
        "compiler",
        strippath="false",
        fusestatic="false",  # keep every link a body: named for --payload and calibration
        discardvisual="true" if options.discard_visual else "false",
    )
    with tempfile.TemporaryDirectory(prefix="workbench-urdf-") as tmp:
        rewritten = Path(tmp) / path.name
        ET.ElementTree(root).write(rewritten)
        try:
            spec = mujoco.MjSpec.from_file(str(rewritten))
        except ValueError as exc:
            raise SceneError(f"{where}: does not parse: {exc}") from exc
    spec.modelname = spec.modelname or path.stem
    return spec


def _urdf_mesh(
    name: str, urdf: Path, options: RobotSceneOptions, where: str, link, part: str
) -> Path:
    at = f"{where}: <link name={link.get('name')!r}> <{part}> <mesh filename={name!r}>"
    if not name:
        raise SceneError(f"{at}: expected a file name")
    if name.startswith("file://"):
        name = name[len("file://") :]
    if name.startswith("package://"):
        rest = name[len("package://") :]
        if options.mesh_dir is None:
            raise SceneError(
                f"{at}: a package:// path needs --mesh-dir DIR (the folder holding the package "
                f"{rest.split('/', 1)[0]!r}, or its contents)"
            )
        package, _, inner = rest.partition("/")
        candidates = [options.mesh_dir / rest, options.mesh_dir / inner]
    else:
        bases = [urdf.parent] + ([options.mesh_dir] if options.mesh_dir else [])
        candidates = [Path(name)] if Path(name).is_absolute() else [b / name for b in bases]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    hint = "" if part == "collision" or options.discard_visual else "; or --discard-visual"
    raise SceneError(
        f"{at}: expected an existing mesh file, looked for {[str(c) for c in candidates]}{hint}"
    )


def _name_unnamed(spec: mujoco.MjSpec) -> None:
    """Joints and actuators without a name get one (`joint<i>`, the driven joint's name)."""
    used = {j.name for j in spec.joints if j.name}
    for i, joint in enumerate(spec.joints):
        if not joint.name:
            name = f"joint{i}"
            while name in used:
                name += "_"
            joint.name = name
            used.add(name)
    acts = {a.name for a in spec.actuators if a.name}
    for act in spec.actuators:
        if not act.name:
            name = act.target or f"actuator{len(acts)}"
            while name in acts:
                name += "_"
            act.name = name
            acts.add(name)


def _add_payload(spec: mujoco.MjSpec, payload: tuple[float, str], where: str) -> str:
    mass, body_name = payload
    body = spec.body(body_name)
    if body is None:
        names = [b.name for b in spec.bodies if b.name]
        raise SceneError(
            f"--payload: {where} has no body {body_name!r}; bodies: {name_list(names)}"
        )
    name = "payload"
    while spec.body(name) is not None:
        name += "_"
    child = body.add_body(name=name)
    child.mass = mass
    child.ipos = [0.0, 0.0, 0.0]  # an unset (NaN) ipos would drop the inertial from to_xml
    moment = 0.4 * mass * PAYLOAD_RADIUS**2
    child.inertia = [moment] * 3
    child.explicitinertial = True
    return name


def _collect_files(spec: mujoco.MjSpec, source_dir: Path, where: str):
    """Asset files the spec reads, checked to exist: ({absolute source path: unique file name in
    assets/}, a function that repoints the spec at assets/)."""
    mesh_dir = source_dir / spec.meshdir if spec.meshdir else source_dir
    tex_dir = source_dir / spec.texturedir if spec.texturedir else source_dir
    out: dict[Path, str] = {}
    renames = []
    taken: set[str] = set()
    groups = (
        ("mesh", spec.meshes, mesh_dir),
        ("hfield", spec.hfields, mesh_dir),
        ("texture", spec.textures, tex_dir),
        ("skin", spec.skins, mesh_dir),
    )
    for tag, elements, base in groups:
        for element in elements:
            if not element.file:
                continue
            source = Path(element.file)
            source = (source if source.is_absolute() else base / source).resolve()
            if not source.is_file():
                raise SceneError(
                    f"{where}: <{tag} name={element.name!r} file={element.file!r}>: expected an "
                    f"existing file at {str(source)!r}"
                    + ("; --discard-visual drops visual-only assets" if tag != "hfield" else "")
                )
            if source not in out:
                stem, suffix, k = source.stem, source.suffix, 0
                name = source.name
                while name in taken:
                    k += 1
                    name = f"{stem}_{k}{suffix}"
                taken.add(name)
                out[source] = name
            renames.append((element, out[source]))

    def repoint() -> None:
        for element, name in renames:
            element.file = name
        spec.meshdir = "assets"
        spec.texturedir = "assets"

    return out, repoint


def _toml(value) -> str:
    import json

    return json.dumps(value)


def robot_scene(
    robot: str | Path,
    kind: str,
    staged: Path,
    *,
    options: RobotSceneOptions,
    name: str,
) -> dict:
    """Write the scene folder for `robot` (`kind` 'MJCF' or 'URDF') into the empty folder
    `staged`; returns the binding written. The caller moves it into place (see module doc)."""
    robot = Path(robot).resolve() if Path(robot).exists() else Path(robot)
    where = f"{kind} {str(robot)!r}"
    spec = load_robot_spec(robot, kind, options)
    _name_unnamed(spec)
    if options.payload is not None:
        _add_payload(spec, options.payload, where)
    if options.actuation == "as-is":
        if not spec.actuators:
            raise SceneError(
                f"{where}: --actuation as-is: expected actuators in the file, got none; use "
                "--actuation torque or position"
            )
        driven = [
            a.target
            for a in spec.actuators
            if a.trntype in (mujoco.mjtTrn.mjTRN_JOINT, mujoco.mjtTrn.mjTRN_JOINTINPARENT)
        ]
    else:
        if options.actuation == "torque":
            driven = torque_motors(spec, where=where)
        else:
            driven = position_servos(spec, where=where)
        for key in spec.keys:  # keyframe controls were meant for the replaced actuators
            key.ctrl = []
    files, repoint = _collect_files(spec, robot.parent, where)
    try:
        model = spec.compile()
    except ValueError as exc:
        hint = (
            ""
            if options.discard_visual
            else " (visual meshes MuJoCo cannot read? --discard-visual)"
        )
        raise SceneError(f"{where}: does not compile{hint}: {exc}") from exc
    if model.njnt == 0:
        raise SceneError(f"{where}: expected at least one joint to replay, got none")
    repoint()
    timestep = options.timestep or float(model.opt.timestep)
    (staged / "assets").mkdir()
    for source, target in files.items():
        shutil.copyfile(source, staged / "assets" / target)
    spec.modelfiledir = str(staged)  # to_xml recompiles: assets/ now holds the copies
    try:
        xml = spec.to_xml()
    except ValueError as exc:
        raise SceneError(f"{where}: cannot be written as MJCF: {exc}") from exc
    (staged / "robot.xml").write_text(xml)
    joints = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]
    torque = [j for j in joints if j in driven and _is_scalar(model, j)]
    actuators = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a) for a in range(model.nu)]
    binding = {
        "timestep": timestep,
        "state_joints": joints,
        "actuators": actuators,
        "torque_joints": torque,
    }
    lines = [
        f"name = {_toml(name)}",
        f"description = {_toml(f'{kind} {robot.name} prepared by workbench make-scene')}",
        f"source = {_toml(str(robot))}",
        'mjcf = "robot.xml"',
        "",
        "[binding]",
        *(f"{k} = {_toml(v)}" for k, v in binding.items()),
    ]
    (staged / "scene.toml").write_text("\n".join(lines) + "\n")
    return binding


def _is_scalar(model: mujoco.MjModel, joint: str) -> bool:
    jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
    return int(model.jnt_type[jid]) in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE)
