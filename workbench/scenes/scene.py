"""Scenes: a compiled MuJoCo model plus the binding from recorded signals to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mujoco

from workbench import schema
from workbench.errors import SceneError, SettingsError, name_list
from workbench.scenes.driven import check_driven, check_passive, check_welded

_NAME_LISTS = (
    "state_joints",
    "actuators",
    "torque_joints",
    "compare",
    "contact_bodies",
    "driven_bodies",
    "driven_joints",
    "passive_bodies",
    "passive_joints",
)


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
      thresholds: divergence thresholds by `<signal>`, `<signal>/<column>` or pose kind
        (`workbench.metrics.thresholds`); unset ones scale with the recorded range.
      driven_bodies: mocap bodies moved along recorded poses (`body_pose:<body>` signals).
      driven_joints: joints whose position actuator follows the recorded position (`qpos`).
      passive_bodies: free bodies whose recorded pose (`body_pose:<body>`) is their joint's
        state: simulated from it and compared with it (never servoed).
      passive_joints: joints simulated and compared, never servoed in tracking mode.
      derive_velocities: when an episode records no `qvel`, initial velocities come from the
        recorded positions (`mj_differentiatePos`) instead of zero.
      capture_frame: pose of the recording's frame in the scene (x y z [m], qw qx qy qz): every
        `body_pose:` signal is mapped through it before binding (empty: the same frame).
      welded_bodies: dynamic body -> driven mocap body it is welded to (a weld equality in the
        MJCF): the dynamic body's free joint starts every replay window at the target's recorded
        pose composed with the weld's relative pose (not at qpos0).
      start_at_rest: episodes that record no `qpos` start every replay from the model's rest
        state (qpos0, zero velocity), e.g. a rope whose only recordings are marker tracks;
        open_loop only (a window mid-recording has no recorded state to start from).
    """

    timestep: float
    state_joints: tuple[str, ...]
    actuators: tuple[str, ...] = ()
    torque_joints: tuple[str, ...] = ()
    compare: tuple[str, ...] = ("qpos", "qvel")
    contact_bodies: tuple[str, ...] = ()
    tracking_bandwidth_hz: float = 10.0
    driven_bodies: tuple[str, ...] = ()
    driven_joints: tuple[str, ...] = ()
    passive_bodies: tuple[str, ...] = ()
    passive_joints: tuple[str, ...] = ()
    derive_velocities: bool = False
    capture_frame: tuple[float, ...] = ()
    thresholds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    welded_bodies: Mapping[str, str] = dataclasses.field(default_factory=dict)
    start_at_rest: bool = False

    def __post_init__(self) -> None:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key, value in _checked_binding(fields, "binding").items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_table(cls, raw: Any, where: str) -> Binding:
        """A binding from a scene.toml [binding] table; `where` (file: binding) prefixes errors."""
        raw = schema.table(
            raw, where, SceneError, allowed=_BINDING_KEYS, required=("timestep", "state_joints")
        )
        return cls(**_checked_binding(raw, where))


_BINDING_KEYS = tuple(f.name for f in dataclasses.fields(Binding))


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SceneError(f"{where}: expected a number > 0, got {type(value).__name__} {value!r}")
    return schema.number(value, where, SceneError, lower=0, lower_open=True)


def _checked_binding(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Binding fields type- and range-checked: numbers > 0, lists of unique names."""
    out = dict(values)
    out["timestep"] = _positive(values["timestep"], f"{where}.timestep")
    if "tracking_bandwidth_hz" in values:
        out["tracking_bandwidth_hz"] = _positive(
            values["tracking_bandwidth_hz"], f"{where}.tracking_bandwidth_hz"
        )
    if "thresholds" in values:
        from workbench.metrics.thresholds import check_thresholds  # here: no import cycle

        raw = values["thresholds"]
        if not isinstance(raw, Mapping):
            raise SceneError(
                f"{where}.thresholds: expected a table of <signal> = threshold, got {raw!r}"
            )
        try:
            out["thresholds"] = check_thresholds(raw, where=f"{where}.thresholds")
        except SettingsError as exc:
            raise SceneError(str(exc)) from None
    for key in _NAME_LISTS:
        if key in values:
            out[key] = schema.string_list(
                values[key],
                f"{where}.{key}",
                SceneError,
                nonempty=key == "state_joints",
                unique=True,
            )
    if values.get("capture_frame"):
        frame = schema.number_list(
            values["capture_frame"], f"{where}.capture_frame", SceneError, length=7
        )
        norm = sum(v * v for v in frame[3:]) ** 0.5
        if abs(norm - 1.0) > 1e-6:
            raise SceneError(
                f"{where}.capture_frame: expected x y z qw qx qy qz with a unit quaternion, got "
                f"quaternion norm {norm:.6g} ({list(frame[3:])})"
            )
        out["capture_frame"] = frame
    if "start_at_rest" in values:
        out["start_at_rest"] = schema.boolean(
            values["start_at_rest"], f"{where}.start_at_rest", SceneError
        )
    if "welded_bodies" in values:
        raw = values["welded_bodies"]
        if not isinstance(raw, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in raw.items()
        ):
            raise SceneError(
                f'{where}.welded_bodies: expected a table of <dynamic body> = "<mocap body>", '
                f"got {raw!r}"
            )
        out["welded_bodies"] = dict(raw)
    if "derive_velocities" in values:
        out["derive_velocities"] = schema.boolean(
            values["derive_velocities"], f"{where}.derive_velocities", SceneError
        )
    return out


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
    check_driven(model, binding, where)
    check_passive(model, binding, where)
    check_welded(model, binding, where)


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
