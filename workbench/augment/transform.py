"""Object-centric planar transforms (MimicGen-style): move an object's initial pose and carry the
recorded hand path with it.

The rule (one transform T per variant, in the scene frame, table plane z = const):

- T is a rotation by `yaw` about the vertical axis through the pivot c (the object's initial
  x, y) followed by a translation (dx, dy): T(p) = R(yaw) (p - c) + c + d for positions, and
  q -> q_z(yaw) * q for orientations. Heights are unchanged.
- The object: every recorded pose of it is mapped by T (only its first one starts the replay; it
  rests before the interaction, so its recorded poses stay a consistent "recording").
- The hand: its recorded pose at time t is mapped by T^s(t), the transform with (s dx, s dy,
  s yaw), where s(t) = 1 from the start `t_start` of the interaction segment on (the hand acts on
  the moved object exactly as it acted on the recorded one), ramps linearly from 0 at
  `t_start - blend` to 1 at `t_start` (the approach: the hand leaves its recorded path for the
  carried one, MimicGen's interpolation to the transformed segment's start) and is 0 before.
  With no segment, t_start is the episode's first time: the whole path is carried.

Each variant's T is drawn from `TransformRanges` with its own generator
SeedSequence([seed, h("object-centric"), h(episode id), variant]) (uniform in each range), so it
is reproducible alone and independent of the physics draws; provenance records it exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench import schema
from workbench.episode import Episode
from workbench.errors import BindingError, SettingsError
from workbench.schema import ErrorType

KEYS = ("x", "y", "yaw_deg")


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclasses.dataclass(frozen=True)
class TransformRanges:
    """Uniform ranges of the planar transform: x, y [m], yaw_deg [deg] as (low, high)."""

    x: tuple[float, float] = (0.0, 0.0)
    y: tuple[float, float] = (0.0, 0.0)
    yaw_deg: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def parse(cls, raw: Any, where: str, error: ErrorType = SettingsError) -> TransformRanges:
        doc = schema.table(raw, where, error, allowed=KEYS)
        if not doc:
            raise error(f"{where}: expected at least one of {list(KEYS)}")
        out = {}
        for key in KEYS:
            if key in doc:
                low, high = schema.number_list(doc[key], f"{where}.{key}", error, length=2)
                if low > high:
                    raise error(
                        f"{where}.{key}: expected [low, high] with low <= high, got {doc[key]}"
                    )
                if key == "yaw_deg" and max(abs(low), abs(high)) > 180:
                    raise error(
                        f"{where}.{key}: expected degrees within [-180, 180], got {doc[key]}"
                    )
                out[key] = (low, high)
        return cls(**out)

    @classmethod
    def from_option(cls, text: str) -> TransformRanges | None:
        """`--transform`: "none", or "x=-0.05:0.05,y=-0.05:0.05,yaw_deg=-20:20"."""
        where = "--transform"
        if not isinstance(text, str) or not text.strip():
            raise SettingsError(f"{where}: expected 'none' or KEY=LOW:HIGH,..., got {text!r}")
        if text.strip() == "none":
            return None
        doc: dict[str, list[float]] = {}
        for item in text.split(","):
            key, sep, rng = item.strip().partition("=")
            low, sep2, high = rng.partition(":")
            if not sep or not sep2:
                raise SettingsError(
                    f"{where}: expected KEY=LOW:HIGH items (keys {list(KEYS)}), got {item!r}"
                )
            if key in doc:
                raise SettingsError(f"{where}: {key!r} given twice")
            try:
                doc[key] = [float(low), float(high)]
            except ValueError:
                raise SettingsError(f"{where}: {item!r}: expected numbers LOW:HIGH") from None
        return cls.parse(doc, where)

    def to_dict(self) -> dict[str, list[float]]:
        return {k: list(getattr(self, k)) for k in KEYS}

    def sample(self, episode: str, variant: int, seed: int) -> tuple[float, float, float]:
        """(dx [m], dy [m], yaw [deg]) of one variant."""
        ss = np.random.SeedSequence([seed, _h64("object-centric"), _h64(str(episode)), variant])
        u = np.random.Generator(np.random.PCG64(ss)).random(3)
        return tuple(
            float(lo + (hi - lo) * ui)
            for (lo, hi), ui in zip((self.x, self.y, self.yaw_deg), u, strict=True)
        )  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class PlanarTransform:
    """T(p) = R(yaw) (p - pivot) + pivot + (dx, dy), q -> q_z(yaw) q. Units: m, deg."""

    dx: float
    dy: float
    yaw_deg: float
    pivot: tuple[float, float]

    def scaled(self, s: float) -> PlanarTransform:
        return PlanarTransform(s * self.dx, s * self.dy, s * self.yaw_deg, self.pivot)

    def to_dict(self) -> dict[str, Any]:
        return {"dx": self.dx, "dy": self.dy, "yaw_deg": self.yaw_deg, "pivot": list(self.pivot)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PlanarTransform:
        return cls(float(raw["dx"]), float(raw["dy"]), float(raw["yaw_deg"]), tuple(raw["pivot"]))  # type: ignore[arg-type]


def apply_poses(poses: np.ndarray, s: np.ndarray, t: PlanarTransform) -> np.ndarray:
    """(T, 7) poses (x y z qw qx qy qz) mapped by T^s[k] row by row; s: (T,) in [0, 1]."""
    poses = np.asarray(poses, dtype=np.float64)
    out = poses.copy()
    yaw = np.radians(t.yaw_deg) * s
    c, sn = np.cos(yaw), np.sin(yaw)
    px, py = out[:, 0] - t.pivot[0], out[:, 1] - t.pivot[1]
    out[:, 0] = c * px - sn * py + t.pivot[0] + s * t.dx
    out[:, 1] = sn * px + c * py + t.pivot[1] + s * t.dy
    # q_z(yaw) * q with q_z = (cos h, 0, 0, sin h), h = yaw / 2
    ch, sh = np.cos(yaw / 2), np.sin(yaw / 2)
    w, x, y, z = (poses[:, 3 + i] for i in range(4))
    out[:, 3] = ch * w - sh * z
    out[:, 4] = ch * x - sh * y
    out[:, 5] = ch * y + sh * x
    out[:, 6] = ch * z + sh * w
    out[s == 0] = poses[s == 0]  # untouched rows stay bit for bit the recording
    return out


def blend_weights(times: np.ndarray, t_start: float, blend: float) -> np.ndarray:
    """(T,) s(t): 0 before t_start - blend, linear to 1 at t_start, 1 after."""
    if blend <= 0:
        return (times >= t_start).astype(np.float64)
    return np.clip((times - (t_start - blend)) / blend, 0.0, 1.0)


def object_centric(
    episode: Episode,
    transform: PlanarTransform,
    *,
    obj: str,
    obj_columns: tuple[int, ...],
    hand: str,
    t_start: float,
    blend: float,
) -> Episode:
    """The prepared (scene-frame) episode with the object's poses mapped by T and the hand's
    path by T^s(t) (see the module rule).

    Args:
      episode: scene-frame episode with `body_pose:<hand>` (7 columns), `body_pose:<obj>` and its
        free-joint columns `obj_columns` (7 indices into `qpos`).
    """
    for name in (f"body_pose:{hand}", "qpos"):
        if name not in episode.signals:
            raise BindingError(
                f"episode {episode.id!r}: object-centric transform needs signal {name!r}; "
                f"signals are {sorted(episode.signals)}"
            )
    signals = dict(episode.signals)
    ones = np.ones(episode.num_samples)
    hand_sig = signals[f"body_pose:{hand}"]
    s = blend_weights(episode.times, t_start, blend)
    signals[f"body_pose:{hand}"] = dataclasses.replace(
        hand_sig, values=apply_poses(hand_sig.values, s, transform)
    )
    qpos = signals["qpos"]
    values = qpos.values.copy()
    cols = list(obj_columns)
    values[:, cols] = apply_poses(qpos.values[:, cols], ones, transform)
    signals["qpos"] = dataclasses.replace(qpos, values=values)
    key = f"body_pose:{obj}"
    if key in signals:
        signals[key] = dataclasses.replace(
            signals[key], values=apply_poses(signals[key].values, ones, transform)
        )
    return dataclasses.replace(episode, signals=signals)


def check_finite(t: PlanarTransform) -> None:
    if not all(math.isfinite(v) for v in (t.dx, t.dy, t.yaw_deg, *t.pivot)):
        raise SettingsError(f"transform: expected finite values, got {t}")
