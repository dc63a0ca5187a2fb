"""A scene's augmentation table (`[augment]` in scene.toml), checked key by key.

    [augment]
    object = "cube"               # passive body moved by the object-centric transform
    hand = "hand"                 # driven (mocap) body whose recorded path is carried with it
    blend = 0.5                   # [s] before the interaction: the hand moves from its recorded
                                  # path onto the carried one (MimicGen's approach interpolation)
    crop = true                   # replay only the interaction segment (+ blend before it)
    max_penetration = 0.01        # [m] deepest contact penetration (-data.contact.dist) accepted

    [augment.segment]             # the interaction segment: where the object moves
    signal = "body_pose:cube"     # (workbench.metrics.events.EventWindow)
    speed = 0.03                  # [m/s]
    before = 0.3                  # [s] margins
    after = 0.5

    [augment.transform]           # default ranges of the planar transform sampled per variant
    x = [-0.05, 0.05]             # [m]   translation (uniform)
    y = [-0.05, 0.05]             # [m]
    yaw_deg = [-20.0, 20.0]       # [deg] rotation about the object's initial position

    [augment.predicates.cube_moved]   # a task predicate each accepted variant must satisfy
    kind = "displacement"             # see workbench.augment.predicates.KINDS
    body = "cube"
    min = 0.05

Every table refuses unknown keys; bodies are checked against the model when a task binds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import mujoco

from workbench import schema
from workbench.augment.predicates import Predicate, parse_predicates
from workbench.augment.transform import TransformRanges
from workbench.errors import SceneError, WorkbenchError, name_list
from workbench.metrics.events import EventWindow

_TOP = ("object", "hand", "blend", "crop", "max_penetration", "segment", "transform", "predicates")
DEFAULT_MAX_PENETRATION = 0.01  # [m]


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """What a scene says about augmenting its recordings (all optional).

    Attributes:
      object, hand: the passive body and the driven mocap body of object-centric transforms.
      blend: [s] the hand's approach interpolation before the interaction segment.
      crop: replay only the segment (from `blend` before it to its end).
      max_penetration: [m] deepest contact penetration accepted.
      segment: the interaction segment (None: the whole episode).
      transform: default planar transform ranges (None: no object-centric transform).
      predicates: task predicates, by name.
    """

    object: str | None = None
    hand: str | None = None
    blend: float = 0.0
    crop: bool = False
    max_penetration: float = DEFAULT_MAX_PENETRATION
    segment: EventWindow | None = None
    transform: TransformRanges | None = None
    predicates: tuple[Predicate, ...] = ()

    def fingerprint(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "hand": self.hand,
            "blend": self.blend,
            "crop": self.crop,
            "max_penetration": self.max_penetration,
            "segment": dataclasses.asdict(self.segment) if self.segment else None,
            "transform": self.transform.to_dict() if self.transform else None,
            "predicates": [p.to_dict() for p in self.predicates],
        }

    def check_model(self, model: mujoco.MjModel, where: str) -> None:
        """Raise SceneError when a named body is missing, `hand` is not a mocap body or `object`
        has no free joint."""
        bodies = [model.body(i).name for i in range(model.nbody)]
        for key in ("object", "hand"):
            name = getattr(self, key)
            if name is not None and name not in bodies:
                raise SceneError(
                    f"{where}.{key}: unknown body {name!r}; bodies are {name_list(bodies)}"
                )
        if self.hand is not None and model.body(self.hand).mocapid[0] < 0:
            raise SceneError(f"{where}.hand: body {self.hand!r} is not a mocap (driven) body")
        if self.object is not None:
            b = model.body(self.object).id
            free = [
                j
                for j in range(model.njnt)
                if model.jnt_bodyid[j] == b and model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE
            ]
            if not free:
                raise SceneError(f"{where}.object: body {self.object!r} has no free joint")
        for p in self.predicates:
            if p.body not in bodies:
                raise SceneError(
                    f"{where}.predicates.{p.name}.body: unknown body {p.body!r}; bodies are "
                    f"{name_list(bodies)}"
                )


def parse_augment(raw: Any, where: str = "scene.toml: augment") -> AugmentConfig:
    """An AugmentConfig from the scene's `[augment]` table (None or {} -> defaults)."""
    if raw is None:
        return AugmentConfig()
    doc = schema.table(raw, where, SceneError, allowed=_TOP)
    out: dict[str, Any] = {}
    for key in ("object", "hand"):
        if key in doc:
            out[key] = schema.string(doc[key], f"{where}.{key}", SceneError)
    if "blend" in doc:
        out["blend"] = schema.number(doc["blend"], f"{where}.blend", SceneError, lower=0)
    if "crop" in doc:
        out["crop"] = schema.boolean(doc["crop"], f"{where}.crop", SceneError)
    if "max_penetration" in doc:
        out["max_penetration"] = schema.number(
            doc["max_penetration"], f"{where}.max_penetration", SceneError, lower=0, lower_open=True
        )
    if "segment" in doc:
        seg = schema.table(
            doc["segment"],
            f"{where}.segment",
            SceneError,
            allowed=("signal", "speed", "before", "after", "smooth"),
            required=("signal",),
        )
        try:
            out["segment"] = _window(seg, where)
        except SceneError:
            raise
        except WorkbenchError as exc:  # EventWindow's own range checks
            raise SceneError(f"{where}.segment: {exc}") from None
    if "transform" in doc:
        out["transform"] = TransformRanges.parse(doc["transform"], f"{where}.transform", SceneError)
    if "predicates" in doc:
        out["predicates"] = parse_predicates(doc["predicates"], f"{where}.predicates")
    config = AugmentConfig(**out)
    if config.transform is not None and (config.object is None or config.hand is None):
        raise SceneError(
            f"{where}.transform: an object-centric transform needs `object` and `hand`"
        )
    if config.crop and config.segment is None:
        raise SceneError(f"{where}.crop: expected a [segment] table to crop to")
    return config


def _window(seg: Mapping[str, Any], where: str) -> EventWindow:
    kw = {}
    for key, field in (("speed", "speed"), ("before", "margin_before"), ("after", "margin_after")):
        if key in seg:
            kw[field] = schema.number(seg[key], f"{where}.segment.{key}", SceneError)
    if "smooth" in seg:
        kw["smooth"] = schema.number(seg["smooth"], f"{where}.segment.smooth", SceneError)
    return EventWindow(schema.string(seg["signal"], f"{where}.segment.signal", SceneError), **kw)


def scene_config(scene) -> AugmentConfig:
    """The scene's `[augment]` table (defaults when it has none), checked against its model."""
    where = f"scene {scene.name!r}: [augment]"
    config = parse_augment(scene.metadata.get("augment"), where)
    config.check_model(scene.model, where)
    return config
