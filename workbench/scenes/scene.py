"""Scenes: a compiled MuJoCo model plus the binding from recorded signals to it."""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mujoco
import tomllib

from workbench.errors import SceneError, name_list
from workbench.paths import scenes_root
from workbench.scenes.builders import BUILDERS


@dataclasses.dataclass(frozen=True)
class Binding:
    """How episode signals meet the model.

    Attributes:
      timestep: replay timestep [s]; a recording's dt should be an integer multiple of it.
      state_joints: joints whose qpos/qvel are set from the recording (`qpos`, `qvel` signals).
      actuators: actuators the `ctrl` signal may drive (its columns name them).
      torque_joints: joints whose measured generalized force (`qfrc_actuator`) is compared.
      compare: signals compared with the simulation in forward replays.
      contact_bodies: bodies whose time of first contact is compared.
      tracking_bandwidth_hz: natural frequency of the tracking servo (gains scale with inertia).
    """

    timestep: float
    state_joints: tuple[str, ...]
    actuators: tuple[str, ...] = ()
    torque_joints: tuple[str, ...] = ()
    compare: tuple[str, ...] = ("qpos", "qvel")
    contact_bodies: tuple[str, ...] = ()
    tracking_bandwidth_hz: float = 10.0

    def __post_init__(self) -> None:
        if not self.timestep > 0:
            raise SceneError(f"binding.timestep: expected > 0 seconds, got {self.timestep}")
        if not self.state_joints:
            raise SceneError("binding.state_joints: expected at least one joint name, got none")


_BINDING_KEYS = {f.name for f in dataclasses.fields(Binding)}


@dataclasses.dataclass(frozen=True)
class Scene:
    """A scene: compiled nominal model, binding, and a factory for fresh specs (for variants)."""

    name: str
    folder: Path | None
    binding: Binding
    model: mujoco.MjModel
    make_spec: Callable[[], mujoco.MjSpec]
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def spec(self) -> mujoco.MjSpec:
        """A fresh, editable MjSpec of the scene with the replay timestep set."""
        spec = self.make_spec()
        spec.option.timestep = self.binding.timestep
        return spec


def compile_spec(spec: mujoco.MjSpec, *, where: str) -> mujoco.MjModel:
    try:
        return spec.compile()
    except ValueError as exc:
        raise SceneError(f"{where}: MJCF does not compile: {exc}") from exc


def _check_names(model: mujoco.MjModel, binding: Binding, where: str) -> None:
    kinds = (
        ("state_joints", mujoco.mjtObj.mjOBJ_JOINT, model.njnt),
        ("torque_joints", mujoco.mjtObj.mjOBJ_JOINT, model.njnt),
        ("actuators", mujoco.mjtObj.mjOBJ_ACTUATOR, model.nu),
        ("contact_bodies", mujoco.mjtObj.mjOBJ_BODY, model.nbody),
    )
    for field, obj, count in kinds:
        for name in getattr(binding, field):
            if mujoco.mj_name2id(model, obj, name) < 0:
                valid = [mujoco.mj_id2name(model, obj, i) for i in range(count)]
                raise SceneError(
                    f"{where}: binding.{field}: unknown name {name!r}; valid: {name_list(valid)}"
                )


def scene_from_spec(
    name: str,
    make_spec: Callable[[], mujoco.MjSpec],
    binding: Binding,
    *,
    folder: Path | None = None,
    metadata: dict[str, Any] | None = None,
) -> Scene:
    """Build a Scene from a spec factory (e.g. inline MJCF in a notebook or test)."""
    spec = make_spec()
    spec.option.timestep = binding.timestep
    where = f"scene {name!r}" + (f" ({folder / 'scene.toml'})" if folder else "")
    model = compile_spec(spec, where=where)
    _check_names(model, binding, f"scene {name!r}")
    return Scene(name, folder, binding, model, make_spec, dict(metadata or {}))


def scene_from_xml(name: str, xml: str, binding: Binding) -> Scene:
    """A Scene from an MJCF string."""
    return scene_from_spec(name, lambda: mujoco.MjSpec.from_string(xml), binding)


def _resolve_builder(ref: str, where: str) -> Callable[..., mujoco.MjSpec]:
    if ref in BUILDERS:
        return BUILDERS[ref]
    if ":" in ref:
        module, func = ref.split(":", 1)
        try:
            return getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError) as exc:
            raise SceneError(f"{where}: builder {ref!r} cannot be imported: {exc}") from exc
    raise SceneError(
        f"{where}: builder: unknown {ref!r}; valid: {name_list(BUILDERS)} or 'module:function'"
    )


def load_scene_folder(folder: str | Path) -> Scene:
    """Load `folder/scene.toml` (with `mjcf = ...` or `builder = ...` and a [binding] table)."""
    folder = Path(folder).resolve()
    path = folder / "scene.toml"
    if not path.is_file():
        raise SceneError(f"scene: expected {path} to exist")
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(f"{path}: invalid TOML: {exc}") from exc
    raw = doc.get("binding")
    if not isinstance(raw, dict):
        raise SceneError(f"{path}: expected a [binding] table")
    unknown = set(raw) - _BINDING_KEYS
    if unknown:
        raise SceneError(
            f"{path}: binding: unknown keys {sorted(unknown)}; expected {sorted(_BINDING_KEYS)}"
        )
    if "timestep" not in raw or "state_joints" not in raw:
        raise SceneError(f"{path}: binding: expected keys 'timestep' and 'state_joints'")
    binding = Binding(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    if ("mjcf" in doc) == ("builder" in doc):
        raise SceneError(f"{path}: expected exactly one of `mjcf` or `builder`")
    if "mjcf" in doc:
        mjcf = folder / doc["mjcf"]
        if not mjcf.is_file():
            raise SceneError(f"{path}: mjcf: expected an existing file, got {str(mjcf)!r}")

        def make_spec() -> mujoco.MjSpec:
            try:
                return mujoco.MjSpec.from_file(str(mjcf))
            except ValueError as exc:
                raise SceneError(f"{mjcf}: MJCF does not parse: {exc}") from exc
    else:
        builder = _resolve_builder(doc["builder"], str(path))
        make_spec = functools.partial(builder, folder, **doc.get("builder_args", {}))
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
    return scene_from_spec(
        doc.get("name", folder.name), make_spec, binding, folder=folder, metadata=metadata
    )


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
