"""`workbench scene add-object`: a mesh file as a free body of an MJCF scene folder."""

from __future__ import annotations

import argparse
import math

from workbench.errors import SceneError


def _xyz(text: str) -> tuple[float, float, float]:
    parts = text.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise SceneError(f"--pos: expected three finite numbers x,y,z [m], got {text!r}")
    return values  # type: ignore[return-value]


def _number(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SceneError(f"{option}: expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise SceneError(f"{option}: expected a finite number > 0, got {text!r}")
    return value


def add_scene(sub) -> None:
    scene = sub.add_parser("scene", help="edit scene folders (add-object)")
    ops = scene.add_subparsers(dest="scene_command", required=True)
    add = ops.add_parser(
        "add-object", help="add a mesh (OBJ/STL/PLY/GLB) as a free body with inertia and collisions"
    )
    add.add_argument("mesh", help="mesh file")
    add.add_argument("--scene", required=True, help="scene folder (scene.toml with mjcf = ...)")
    weight = add.add_mutually_exclusive_group(required=True)
    weight.add_argument("--mass", help="object mass [kg]")
    weight.add_argument("--density", help="object density [kg/m^3]")
    add.add_argument("--name", help="body name (default: the file's stem)")
    add.add_argument("--pos", default="0,0,0", help="initial position x,y,z [m]")
    add.add_argument("--scale", default="1", help="extra scale factor")
    add.add_argument("--units", default="m", choices=("mm", "cm", "m"), help="the file's units")
    add.add_argument(
        "--no-decompose", action="store_true", help="convex hull instead of coacd decomposition"
    )


def cmd_scene(args: argparse.Namespace) -> int:
    from workbench.scenes.mesh_object import add_mesh_object

    if args.scene_command != "add-object":  # argparse allows only known ones
        raise SceneError(f"scene: unknown operation {args.scene_command!r}")
    result = add_mesh_object(
        args.mesh,
        args.scene,
        mass=None if args.mass is None else _number(args.mass, "--mass"),
        density=None if args.density is None else _number(args.density, "--density"),
        name=args.name,
        pos=_xyz(args.pos),
        scale=_number(args.scale, "--scale"),
        units=args.units,
        decompose=not args.no_decompose,
    )
    props = result.mass_properties
    print(
        f"added body {result.body!r}: mass {props.mass:.6g} kg, volume {props.volume:.6g} m^3, "
        f"centre of mass {props.center_of_mass.round(6).tolist()} m, "
        f"{result.collision_parts} convex collision part(s)"
    )
    for repair in result.repairs:
        print(f"repaired: {repair}")
    for note in result.warnings:
        print(f"warning: {note}")
    for file in result.files:
        print(f"wrote {file}")
    return 0
