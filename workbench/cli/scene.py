"""`workbench make-scene`: scene folders from builder scenes and parameter files, or from a
robot file (MJCF or URDF)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from workbench.errors import SceneError

# scene.toml keys copied from the template (the rest is written anew)
_COPIED = ("builder", "command_history", "license")


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # strings, numbers and lists of them read back as the same TOML


def add_make_scene(sub) -> None:
    make = sub.add_parser(
        "make-scene",
        help="a scene folder from a robot file (--mjcf/--urdf) or a builder scene and another "
        "parameter file",
    )
    make.add_argument("template", nargs="?", help="bundled builder scene, e.g. double_pendulum")
    make.add_argument("--parameters", help="parameter file for the template's builder")
    make.add_argument("--mjcf", help="robot MJCF file")
    make.add_argument("--urdf", help="robot URDF file")
    make.add_argument("--out", required=True, help="new scene folder")
    make.add_argument(
        "--discard-visual",
        action="store_true",
        help="drop visual-only geoms, materials, textures and their meshes (files may be absent)",
    )
    make.add_argument("--mesh-dir", help="URDF: folder package:// and relative mesh paths use")
    make.add_argument(
        "--actuation",
        help="torque (joint motors, default) | position (servos) | as-is (the file's actuators)",
    )
    make.add_argument("--payload", help="MASS@BODY: a mass [kg] fixed at a body's origin")
    make.add_argument("--timestep", type=float, help="replay timestep [s] (default: the file's)")


_ROBOT_ONLY = ("discard_visual", "mesh_dir", "actuation", "payload", "timestep")


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def cmd_make_scene(args) -> int:
    """Dispatch: a robot file (--mjcf / --urdf) or a template with --parameters; conflicting
    options are refused before anything is read or written."""
    robot = [k for k in ("mjcf", "urdf") if getattr(args, k, None) is not None]
    if len(robot) == 2:
        raise SceneError("make-scene: expected one of --mjcf or --urdf, got both")
    if robot:
        if args.template is not None or args.parameters is not None:
            given = [f"TEMPLATE {args.template!r}"] if args.template is not None else []
            given += ["--parameters"] if args.parameters is not None else []
            raise SceneError(
                f"make-scene: --{robot[0]} builds a scene from a robot file; expected no "
                f"{' or '.join(given)} with it"
            )
        return cmd_robot_scene(args, robot[0].upper())
    extra = [_option(k) for k in _ROBOT_ONLY if getattr(args, k, None) not in (None, False)]
    if args.template is None:
        raise SceneError(
            "make-scene: expected --mjcf FILE or --urdf FILE (a robot file), or TEMPLATE "
            "--parameters FILE (a builder scene)"
        )
    if extra:
        raise SceneError(
            f"make-scene: {', '.join(extra)} apply to --mjcf/--urdf robot files, not to "
            f"template {args.template!r}"
        )
    if args.parameters is None:
        raise SceneError(f"make-scene: template {args.template!r}: expected --parameters FILE")
    return cmd_template_scene(args)


def cmd_robot_scene(args, kind: str) -> int:
    """A scene folder from a robot file; built in a staging folder and loaded before it is moved
    into place, so a refused file leaves nothing behind."""
    from workbench.output import check_output_folder, staging_folder
    from workbench.scenes import load_scene_folder
    from workbench.scenes.robot_file import RobotSceneOptions, parse_payload, robot_scene

    robot = Path(getattr(args, kind.lower()))
    if not robot.is_file():
        raise SceneError(
            f"make-scene: --{kind.lower()}: expected an existing file, got {str(robot)!r}"
        )
    mesh_dir = None
    if args.mesh_dir is not None:
        if kind != "URDF":
            raise SceneError(
                "make-scene: --mesh-dir resolves URDF package:// mesh paths; an MJCF names its "
                "mesh folder itself (<compiler meshdir>); expected no --mesh-dir with --mjcf"
            )
        mesh_dir = Path(args.mesh_dir)
        if not mesh_dir.is_dir():
            raise SceneError(
                f"make-scene: --mesh-dir: expected an existing folder, got {str(mesh_dir)!r}"
            )
    options = RobotSceneOptions(
        discard_visual=bool(args.discard_visual),
        mesh_dir=mesh_dir.resolve() if mesh_dir else None,
        actuation=args.actuation or "torque",
        payload=parse_payload(args.payload) if args.payload is not None else None,
        timestep=args.timestep,
    )
    out = check_output_folder(args.out)
    if out.exists() and any(out.iterdir()):
        raise SceneError(f"make-scene: --out: expected a new or empty folder, got {str(out)!r}")
    staged = staging_folder(out)
    try:
        binding = robot_scene(robot, kind, staged, options=options, name=out.name)
        scene = load_scene_folder(staged)  # the folder loads as written, or nothing lands
        if out.exists():
            out.rmdir()
        staged.replace(out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    print(
        f"wrote {out / 'scene.toml'}: {kind} {robot.name}, nq={scene.model.nq} "
        f"nu={scene.model.nu} ({options.actuation}), state joints {binding['state_joints']}, "
        f"torque joints {binding['torque_joints']}"
    )
    return 0


def cmd_template_scene(args) -> int:
    """A scene folder from a bundled builder scene and another parameter file.

    The folder is built and loaded under a temporary name and only then moved into place, so a
    refused parameter file never leaves a half-written scene; an existing non-empty `--out` is
    refused.
    """
    import tomllib

    from workbench.output import check_output_folder, staging_folder
    from workbench.scenes import load_scene, load_scene_folder

    template = load_scene(args.template)
    doc = tomllib.loads((template.folder / "scene.toml").read_text())
    if "parameters" not in doc.get("builder_args", {}):
        raise SceneError(
            f"make-scene: template {args.template!r} (builder {doc.get('builder')!r}) takes no "
            "parameter file; expected a builder scene with builder_args.parameters, e.g. "
            "'double_pendulum'"
        )
    out = check_output_folder(args.out)
    if out.exists() and any(out.iterdir()):
        raise SceneError(f"make-scene: --out: expected a new or empty folder, got {str(out)!r}")
    params = Path(args.parameters)
    if not params.is_file():
        raise SceneError(
            f"make-scene: --parameters: expected an existing file, got {str(params)!r}"
        )
    lines = [
        f"name = {_toml_value(out.name)}",
        f"description = {_toml_value(f'{template.name} built from {params.name}')}",
    ]
    lines += [f"{k} = {_toml_value(doc[k])}" for k in _COPIED if k in doc]
    if "dataset_mapping" in doc:
        mapping = (template.folder / doc["dataset_mapping"]).resolve()
        lines.append(f"dataset_mapping = {_toml_value(mapping.as_posix())}")
    lines += ["", "[builder_args]", f"parameters = {_toml_value(params.name)}", "", "[binding]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in doc["binding"].items()]
    staged = staging_folder(out)
    try:
        shutil.copy(params, staged / params.name)
        (staged / "scene.toml").write_text("\n".join(lines) + "\n")
        scene = load_scene_folder(staged)  # refuses a bad parameter file before anything lands
        if out.exists():
            out.rmdir()
        staged.replace(out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    print(f"wrote {out / 'scene.toml'}: nq={scene.model.nq} nu={scene.model.nu}")
    return 0
