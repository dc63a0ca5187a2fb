"""Objects from meshes: load, check/repair, mass properties, convex decomposition, scene body.

`add_mesh_object` turns an OBJ/STL/PLY/GLB file into a free-floating body of an MJCF scene folder:

1. **Load** with trimesh (a multi-part GLB/OBJ scene is merged into one mesh), scale by the
   `units` factor (mm/cm/m) and `scale`.
2. **Check and repair** (`prepare_mesh`): duplicate vertices merged, degenerate and duplicate
   faces dropped, winding made consistent and normals outward (`trimesh.repair`), small holes
   filled; a mesh that stays open, is flat, or whose size or implied density is implausible for
   its units (a 2 m "cup", 30 t/m^3) is refused with the reason.
3. **Mass properties** from trimesh (`mass_properties` at the density giving the mass): mass
   [kg], centre of mass [m] and inertia about it [kg m^2], written as the body's explicit
   inertial (MuJoCo's own mesh inertia is not used).
4. **Collision geometry** by approximate convex decomposition (`coacd`); without coacd, or with
   `decompose=False`, the convex hull, with a warning.
5. **Written through `dm_control.mjcf`** (not `MjSpec.to_xml`, which in MuJoCo 3.17 writes
   every number with 6 significant digits and so would round the scene's existing values and
   the inertia): mesh assets as STL files beside the MJCF (`<name>_visual-<hash>.stl`,
   `<name>_collision_<k>-<hash>.stl`), a body with a free joint and explicit inertial, one visual
   geom (group 2, no collisions) and one collision geom per convex part (group 3). The MJCF is
   re-exported whole at full precision (comments are not kept; dm_control names unnamed elements
   and writes the model's other assets beside the MJCF too). The scene is rebuilt in a staging
   copy, loaded with the scene loader (path confinement included) and swapped in only when it
   loads, so a refused object leaves the folder byte-identical.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import tomllib

from workbench.errors import SceneError

SUPPORTED_FORMATS = (".obj", ".stl", ".ply", ".glb", ".gltf", ".off")
UNITS = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}
# plausible object sizes [m] (largest bounding-box extent) and densities [kg/m^3]
SIZE_RANGE = (1e-3, 1.5)
DENSITY_RANGE = (10.0, 25000.0)


@dataclasses.dataclass(frozen=True)
class MassProperties:
    """Mass [kg], centre of mass (3,) [m] and inertia about it (3, 3) [kg m^2], mesh frame."""

    mass: float
    center_of_mass: np.ndarray
    inertia: np.ndarray
    volume: float  # [m^3]


@dataclasses.dataclass(frozen=True)
class PreparedMesh:
    """A closed, consistently wound mesh in metres and what was done to it."""

    mesh: object  # trimesh.Trimesh
    repairs: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class AddedObject:
    """What `add_mesh_object` wrote: body name, mass properties, files, repairs and warnings."""

    body: str
    mass_properties: MassProperties
    collision_parts: int
    files: tuple[str, ...]  # relative to the scene folder
    repairs: tuple[str, ...]
    warnings: tuple[str, ...]


def load_mesh(path: str | Path, *, units: str = "m", scale: float = 1.0):
    """The mesh in `path` as one trimesh.Trimesh in metres; SceneError naming the file if not."""
    import trimesh

    path = Path(path)
    if units not in UNITS:
        raise SceneError(f"--units: expected one of {sorted(UNITS)}, got {units!r}")
    if isinstance(scale, bool) or not np.isfinite(scale) or scale <= 0:
        raise SceneError(f"--scale: expected a finite number > 0, got {scale!r}")
    if not path.is_file():
        raise SceneError(f"mesh: expected an existing file, got {str(path)!r}")
    if path.suffix.lower() not in SUPPORTED_FORMATS:
        raise SceneError(
            f"mesh {str(path)!r}: unsupported format {path.suffix or '(no suffix)'!r}; "
            f"expected one of {', '.join(SUPPORTED_FORMATS)}"
        )
    try:
        loaded = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise SceneError(f"mesh {str(path)!r}: does not load: {exc}") from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise SceneError(f"mesh {str(path)!r}: expected triangles, found none")
    mesh = loaded.copy()
    mesh.apply_scale(UNITS[units] * float(scale))
    return mesh


def prepare_mesh(mesh, *, where: str) -> PreparedMesh:
    """`mesh` repaired into a closed, outward-wound solid, or SceneError with the reason."""
    import trimesh

    mesh = mesh.copy()
    repairs: list[str] = []
    if not np.isfinite(mesh.vertices).all():
        raise SceneError(f"{where}: vertices contain NaN or infinity")
    faces_before = len(mesh.faces)
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.update_faces(mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) < faces_before:
        repairs.append(f"dropped {faces_before - len(mesh.faces)} degenerate/duplicate faces")
    if len(mesh.faces) < 4:
        raise SceneError(
            f"{where}: degenerate mesh: {len(mesh.faces)} non-degenerate faces (a solid needs >= 4)"
        )
    extents = mesh.extents
    if extents.max() <= 0 or extents.min() <= extents.max() * 1e-6:
        raise SceneError(
            f"{where}: degenerate mesh: flat (bounding box {_fmt(extents)} m); expected a solid"
        )
    if not mesh.is_watertight:
        open_edges = _open_edges(mesh)
        trimesh.repair.fill_holes(mesh)
        if not mesh.is_watertight:
            raise SceneError(
                f"{where}: mesh is not closed ({open_edges} open edges) and its holes could not "
                "be filled; a body needs a closed surface for volume and inertia (close it in a "
                "mesh editor)"
            )
        repairs.append(f"filled holes ({open_edges} open edges)")
    if not mesh.is_winding_consistent:
        trimesh.repair.fix_winding(mesh)
        repairs.append("made winding consistent")
    if mesh.volume < 0:
        mesh.invert()
        repairs.append("flipped inside-out faces (normals now point outward)")
    trimesh.repair.fix_normals(mesh)
    if not mesh.is_volume or mesh.volume <= 0:
        raise SceneError(f"{where}: mesh does not enclose a positive volume after repair")
    return PreparedMesh(mesh, tuple(repairs))


def _open_edges(mesh) -> int:
    import trimesh

    groups = trimesh.grouping.group_rows(mesh.edges_sorted, require_count=1)
    return len(groups)


def _fmt(values) -> str:
    return "x".join(f"{v:.4g}" for v in values)


def mass_properties(
    mesh, *, mass: float | None = None, density: float | None = None
) -> MassProperties:
    """Mass properties of a closed mesh [m] at the given mass [kg] or density [kg/m^3]."""
    if (mass is None) == (density is None):
        raise SceneError("expected exactly one of --mass or --density")
    value, option = (mass, "--mass") if mass is not None else (density, "--density")
    if isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise SceneError(f"{option}: expected a finite number > 0, got {value!r}")
    volume = float(mesh.volume)
    rho = density if density is not None else mass / volume
    props = mesh.mass_properties  # at density 1
    scale = rho  # trimesh's properties scale linearly with density
    return MassProperties(
        mass=float(props["mass"] * scale),
        center_of_mass=np.asarray(props["center_mass"], dtype=float),
        inertia=np.asarray(props["inertia"], dtype=float) * scale,
        volume=volume,
    )


def check_plausible(mesh, props: MassProperties, *, where: str, units: str) -> None:
    """Refuse sizes and densities no real object has (usually a units mistake)."""
    size = float(mesh.extents.max())
    hint = f" (read with --units {units}; the file may use other units, or pass --scale)"
    if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise SceneError(
            f"{where}: implausible size: largest extent {size:.4g} m, expected "
            f"{SIZE_RANGE[0]}..{SIZE_RANGE[1]} m{hint}"
        )
    rho = props.mass / props.volume
    if not DENSITY_RANGE[0] <= rho <= DENSITY_RANGE[1]:
        raise SceneError(
            f"{where}: implausible density {rho:.4g} kg/m^3 ({props.mass:.4g} kg in "
            f"{props.volume:.4g} m^3), expected {DENSITY_RANGE[0]:g}..{DENSITY_RANGE[1]:g}{hint}"
        )


def convex_parts(mesh, *, decompose: bool = True, threshold: float = 0.05, max_parts: int = 16):
    """(list of convex trimesh parts, warnings): coacd decomposition, or the convex hull."""
    import trimesh

    notes: list[str] = []
    if decompose:
        try:
            import coacd
        except ImportError:
            notes.append(
                "coacd is not installed: collision geometry is the convex hull (pip install coacd "
                "for a convex decomposition)"
            )
        else:
            coacd.set_log_level("error")
            raw = coacd.run_coacd(
                coacd.Mesh(np.asarray(mesh.vertices), np.asarray(mesh.faces)),
                threshold=threshold,
                max_convex_hull=max_parts,
                seed=0,
            )
            parts = [trimesh.Trimesh(v, f).convex_hull for v, f in raw]
            keep = [p for p in parts if p.volume > 1e-6 * mesh.volume and len(p.faces) >= 4]
            if keep:
                return keep, notes
            notes.append("coacd returned no usable part: collision geometry is the convex hull")
    else:
        notes.append("decomposition off: collision geometry is the convex hull")
    return [mesh.convex_hull], notes


def _mjcf_of_scene(folder: Path) -> tuple[Path, dict]:
    toml = folder / "scene.toml"
    if not folder.is_dir() or not toml.is_file():
        raise SceneError(f"--scene: expected a scene folder with scene.toml, got {str(folder)!r}")
    try:
        doc = tomllib.loads(toml.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SceneError(f"{toml}: invalid TOML: {exc}") from exc
    if "mjcf" not in doc:
        raise SceneError(
            f"{toml}: add-object needs a scene with `mjcf = ...` (a builder scene is generated "
            "from code; add the object to an MJCF scene)"
        )
    return folder / str(doc["mjcf"]), doc


def add_mesh_object(
    mesh_path: str | Path,
    scene_folder: str | Path,
    *,
    mass: float | None = None,
    density: float | None = None,
    name: str | None = None,
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0),
    scale: float = 1.0,
    units: str = "m",
    decompose: bool = True,
) -> AddedObject:
    """Add the mesh in `mesh_path` as a free body to the MJCF scene in `scene_folder`.

    Everything is checked, written into a staging copy of the folder and loaded with the scene
    loader before the folder is replaced; on any error the folder is left untouched.
    """
    from workbench.output import staging_folder, swap_in
    from workbench.scenes.folder import load_scene_folder

    folder = Path(scene_folder)
    mjcf, _ = _mjcf_of_scene(folder)
    load_scene_folder(folder)  # the scene must load before we touch it
    mesh_path = Path(mesh_path)
    name = name or mesh_path.stem
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        raise SceneError(f"--name: expected letters, digits, '_', '-' or '.', got {name!r}")
    pos_arr = np.asarray(pos, dtype=float)
    if pos_arr.shape != (3,) or not np.isfinite(pos_arr).all():
        raise SceneError(f"--pos: expected three finite numbers x,y,z [m], got {pos!r}")
    where = f"mesh {str(mesh_path)!r}"
    # checks on the numbers first: they need no file
    if (mass is None) == (density is None):
        raise SceneError("add-object: expected exactly one of --mass or --density")
    mesh = load_mesh(mesh_path, units=units, scale=scale)
    prepared = prepare_mesh(mesh, where=where)
    props = mass_properties(prepared.mesh, mass=mass, density=density)
    check_plausible(prepared.mesh, props, where=where, units=units)
    parts, notes = convex_parts(prepared.mesh, decompose=decompose)

    if not mjcf.resolve().is_relative_to(folder.resolve()):
        raise SceneError(
            f"--scene: the scene's mjcf {str(mjcf)!r} is outside the folder {str(folder)!r}; "
            "add-object writes only inside the scene folder"
        )
    root = _parse_mjcf(mjcf)
    taken = {e.name for e in root.find_all("body")} | {e.name for e in root.find_all("mesh")}
    if name in taken or any(str(n).startswith(f"{name}_") for n in taken):
        raise SceneError(f"--name: {name!r} is already used in {str(mjcf)!r}; choose another")
    files = {f"{name}_visual": prepared.mesh}
    files |= {f"{name}_collision_{i}": p for i, p in enumerate(parts)}
    meshes = {
        stem: root.asset.add("mesh", name=stem, file=_asset(part, prefix=stem))
        for stem, part in files.items()
    }
    body = root.worldbody.add("body", name=name, pos=pos_arr)
    body.add("freejoint", name=f"{name}_free")
    i = props.inertia
    body.add(
        "inertial",
        pos=props.center_of_mass,
        mass=props.mass,
        fullinertia=[i[0, 0], i[1, 1], i[2, 2], i[0, 1], i[0, 2], i[1, 2]],
    )
    body.add(
        "geom",
        name=f"{name}_visual",
        type="mesh",
        mesh=meshes[f"{name}_visual"],
        contype=0,
        conaffinity=0,
        group=2,
        density=0,
    )
    for k in range(len(parts)):
        stem = f"{name}_collision_{k}"
        body.add("geom", name=stem, type="mesh", mesh=meshes[stem], group=3, density=0)

    staged = staging_folder(folder)
    try:
        shutil.copytree(folder, staged, dirs_exist_ok=True, symlinks=True)
        staged_mjcf = staged / mjcf.resolve().relative_to(folder.resolve())
        before = {p.name for p in staged_mjcf.parent.iterdir()}
        _export(root, staged_mjcf, where)
        load_scene_folder(staged)  # compiles, confinement checked, names checked
        written = tuple(
            (staged_mjcf.parent / f).relative_to(staged).as_posix()
            for f in sorted({p.name for p in staged_mjcf.parent.iterdir()} - before)
        )
        swap_in(staged, folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return AddedObject(name, props, len(parts), written, prepared.repairs, tuple(notes))


def _parse_mjcf(path: Path):
    from dm_control import mjcf

    try:
        return mjcf.from_path(str(path))
    except Exception as exc:  # dm_control raises many types for what it cannot read
        raise SceneError(f"{path}: dm_control.mjcf cannot read this MJCF: {exc}") from exc


def _asset(mesh, *, prefix: str):
    from dm_control import mjcf

    return mjcf.Asset(mesh.export(file_type="stl"), ".stl", prefix=prefix)


def _export(root, mjcf_path: Path, where: str) -> None:
    """The model and every asset written beside `mjcf_path`, numbers at full precision."""
    from dm_control import mjcf

    try:
        mjcf.export_with_assets(root, str(mjcf_path.parent), mjcf_path.name, precision=17)
    except Exception as exc:
        raise SceneError(f"{where}: the scene with the object cannot be written: {exc}") from exc
