"""Scene folders: `scene.toml` read, checked and compiled into a Scene.

scene.toml (every key checked; unknown keys are errors at every level)::

    name = "my_scene"                 # optional, default: the folder name
    description = "..."               # optional strings kept as metadata: description, source, license
    mjcf = "model.xml"                # exactly one of mjcf / builder
    builder = "torque_actuated"       # a registered builder (see workbench.scenes.builders)
    dataset_mapping = "map.toml"      # optional: the mapping `gap`/`calibrate` use by default
    command_history = 40              # optional: past commands each actuator keeps (delays)
    allow_outside_paths = false       # optional: let files resolve outside the scene folder

    [builder_args]                    # the builder's keyword arguments (checked against it)
    [binding]                         # see Binding: timestep and state_joints required

Files (mjcf, file arguments of builders, MJCF includes and assets) must stay inside the scene
folder or the bundled assets unless `allow_outside_paths = true` (see workbench.scenes.confine).
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mujoco
import tomllib

from workbench import schema
from workbench.errors import SceneError, name_list
from workbench.paths import scenes_root
from workbench.scenes.builders import MjcfFile, SceneFile, builder_by_name
from workbench.scenes.confine import Confinement
from workbench.scenes.scene import Binding, Scene, scene_from_spec

_STRINGS = ("name", "description", "source", "license", "mjcf", "builder", "dataset_mapping")
_TOP_KEYS = (*_STRINGS, "builder_args", "command_history", "allow_outside_paths", "binding")
_TOP_KEYS += ("markers",)  # name -> "body:<b>" | "site:<s>" | "flex:<f>[i]" (scenes.markers)
_TOP_KEYS += ("augment",)  # augmentation table, checked by workbench.augment.config


def load_scene_folder(folder: str | Path) -> Scene:
    """Load `folder/scene.toml` (with `mjcf = ...` or `builder = ...` and a [binding] table);
    every key, file and builder argument is checked before MuJoCo reads anything."""
    folder = Path(folder).resolve()
    path = folder / "scene.toml"
    if not path.is_file():
        raise SceneError(f"scene: expected {path} to exist")
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SceneError(f"{path}: invalid TOML: {exc}") from exc
    if "binding" not in doc:
        raise SceneError(f"{path}: expected a [binding] table")
    doc = schema.table(doc, str(path), SceneError, allowed=_TOP_KEYS, required=("binding",))
    for key in _STRINGS:
        if key in doc:
            schema.string(doc[key], f"{path}: {key}", SceneError)
    binding = Binding.from_table(doc["binding"], f"{path}: binding")
    allow_outside = schema.boolean(
        doc.get("allow_outside_paths", False), f"{path}: allow_outside_paths", SceneError
    )
    confinement = Confinement.for_scene(folder, allow_outside=allow_outside)
    if ("mjcf" in doc) == ("builder" in doc):
        raise SceneError(f"{path}: expected exactly one of `mjcf` or `builder`")
    if "builder_args" in doc and "builder" not in doc:
        raise SceneError(f"{path}: builder_args: expected only with `builder`, got `mjcf`")
    if "mjcf" in doc:
        mjcf = confinement.path(doc["mjcf"], base=folder, where=f"{path}: mjcf")
        if not mjcf.is_file():
            raise SceneError(f"{path}: mjcf: expected an existing file, got {str(mjcf)!r}")
        confinement.check_mjcf(mjcf)

        def make_spec() -> mujoco.MjSpec:
            try:
                return mujoco.MjSpec.from_file(str(mjcf))
            except ValueError as exc:
                raise SceneError(f"{mjcf}: MJCF does not parse: {exc}") from exc
    else:
        builder = builder_by_name(doc["builder"], str(path))
        args = _builder_args(builder, doc.get("builder_args", {}), path, confinement)
        make_spec = functools.partial(builder, folder, **args)
    history = doc.get("command_history")
    if history is not None:
        if not isinstance(history, int) or isinstance(history, bool) or history < 1:
            raise SceneError(
                f"{path}: command_history: expected a positive integer (past commands each "
                f"actuator keeps for a delay), got {history!r}"
            )
        make_spec = functools.partial(_with_command_history, make_spec, history)
    metadata = {k: v for k, v in doc.items() if k not in ("binding", "builder_args")}
    if "mjcf" in doc:
        metadata["mjcf_path"] = str(folder / doc["mjcf"])
    scene = scene_from_spec(
        doc.get("name", folder.name), make_spec, binding, folder=folder, metadata=metadata
    )
    if "markers" in doc:
        from workbench.scenes.markers import parse_markers, resolve_markers

        where = f"{path}: markers"
        resolve_markers(scene.model, parse_markers(doc["markers"], where), where)
    return scene


def _builder_args(
    builder: Callable[..., mujoco.MjSpec], raw: Any, path: Path, confinement: Confinement
) -> dict[str, Any]:
    """[builder_args] checked against the builder's keyword arguments and annotations; file
    arguments (`SceneFile`, `MjcfFile`) confined and checked to exist."""
    where = f"{path}: builder_args"
    params = list(inspect.signature(builder).parameters.values())[1:]  # after the folder
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    accepted = [p.name for p in named]
    if any(p.kind == p.VAR_KEYWORD for p in params):
        args = schema.table(raw, where, SceneError, allowed=raw if isinstance(raw, dict) else ())
    else:
        required = [p.name for p in named if p.default is p.empty]
        args = schema.table(raw, where, SceneError, allowed=accepted, required=required)
    try:
        hints = typing.get_type_hints(builder)
    except Exception:  # unresolvable annotations of a third-party builder: no type checks
        hints = {}
    for key, value in args.items():
        hint = _plain_type(hints.get(key))
        at = f"{where}.{key}"
        if isinstance(hint, type) and issubclass(hint, SceneFile):
            file = confinement.path(
                schema.string(value, at, SceneError), base=confinement.folder, where=at
            )
            if not file.is_file():
                raise SceneError(f"{at}: expected an existing file, got {str(file)!r}")
            if issubclass(hint, MjcfFile):
                confinement.check_mjcf(file)
        elif hint is bool:
            schema.boolean(value, at, SceneError)
        elif hint in (int, float):
            args[key] = schema.number(value, at, SceneError, integer=hint is int)
        elif hint is str:
            schema.string(value, at, SceneError)
    return args


def _plain_type(hint: Any) -> Any:
    """`float | None` -> float; other hints unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return options[0] if len(options) == 1 else None
    return hint


def _with_command_history(make_spec: Callable[[], mujoco.MjSpec], samples: int) -> mujoco.MjSpec:
    """The spec with every actuator keeping `samples` past commands, linearly interpolated, so
    `actuator_delay[<actuator>]` can be set (and calibrated) up to (samples - 1) timesteps;
    actuators that declare their own `nsample` keep it."""
    spec = make_spec()
    for actuator in spec.actuators:
        if actuator.nsample == 0:
            actuator.nsample = samples
            actuator.interp = 1  # linear: the delayed command is smooth in the delay
    return spec


def list_scenes() -> dict[str, Path]:
    """Bundled scenes: name -> folder."""
    root = scenes_root()
    return {p.parent.name: p.parent for p in sorted(root.glob("*/scene.toml"))}


def load_scene(name_or_path: str | Path) -> Scene:
    """Load a bundled scene by name, or a user's scene folder by path."""
    path = Path(name_or_path)
    if path.is_dir():
        return load_scene_folder(path)
    scenes = list_scenes()
    if str(name_or_path) not in scenes:
        raise SceneError(
            f"scene: {str(name_or_path)!r} is neither a folder with scene.toml nor a bundled scene; "
            f"bundled: {name_list(scenes)}"
        )
    return load_scene_folder(scenes[str(name_or_path)])
