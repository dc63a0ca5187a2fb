"""Task predicates a scene may require of every accepted variant (`[augment.predicates.<name>]`).

A predicate is a named quantity of one free body's simulated pose, computed from the replay,
with bounds: the variant passes when `min <= value <= max` (either bound optional).

Kinds (`KINDS`):
- `displacement`: distance [m] between the body's first and last positions (`planar = true`
  (default): x, y only);
- `final_height`: the body's last z [m];
- `rotation`: geodesic angle [deg] between its first and last orientations;
- `max_speed`: largest speed [m/s] between samples.

A variant failing predicate `<name>` is rejected with reason `predicate:<name>`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from workbench import schema
from workbench.errors import SceneError


def _displacement(pose: np.ndarray, times: np.ndarray, planar: bool) -> float:
    d = pose[-1, :3] - pose[0, :3]
    return float(np.linalg.norm(d[:2] if planar else d))


def _final_height(pose: np.ndarray, times: np.ndarray, planar: bool) -> float:
    return float(pose[-1, 2])


def _rotation(pose: np.ndarray, times: np.ndarray, planar: bool) -> float:
    q0, q1 = pose[0, 3:7], pose[-1, 3:7]
    dot = abs(float(np.dot(q0, q1)) / (np.linalg.norm(q0) * np.linalg.norm(q1)))
    return float(np.degrees(2 * np.arccos(min(1.0, dot))))


def _max_speed(pose: np.ndarray, times: np.ndarray, planar: bool) -> float:
    v = np.linalg.norm(np.diff(pose[:, :3], axis=0), axis=1) / np.diff(times)
    return float(v.max()) if v.size else 0.0


KINDS: dict[str, Callable[[np.ndarray, np.ndarray, bool], float]] = {
    "displacement": _displacement,
    "final_height": _final_height,
    "rotation": _rotation,
    "max_speed": _max_speed,
}


@dataclasses.dataclass(frozen=True)
class Predicate:
    """`lower <= KINDS[kind](pose of body) <= upper` (None: unbounded on that side)."""

    name: str
    kind: str
    body: str
    lower: float | None = None
    upper: float | None = None
    planar: bool = True

    def value(self, pose: np.ndarray, times: np.ndarray) -> float:
        """The quantity for (T, 7) free-joint poses (x y z qw qx qy qz) at `times` [s]."""
        return KINDS[self.kind](pose, times, self.planar)

    def holds(self, value: float) -> bool:
        if not np.isfinite(value):
            return False
        return (self.lower is None or value >= self.lower) and (
            self.upper is None or value <= self.upper
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_predicates(raw: Any, where: str) -> tuple[Predicate, ...]:
    """Predicates from `{name: {kind, body, min?, max?, planar?}}` (unknown keys refused)."""
    doc = schema.table(raw, where, SceneError, allowed=raw.keys() if isinstance(raw, dict) else ())
    out = []
    for name, table in doc.items():
        w = f"{where}.{name}"
        t = schema.table(
            table,
            w,
            SceneError,
            allowed=("kind", "body", "min", "max", "planar"),
            required=("kind", "body"),
        )
        kind = schema.string(t["kind"], f"{w}.kind", SceneError, choices=sorted(KINDS))
        body = schema.string(t["body"], f"{w}.body", SceneError)
        lower = schema.number(t["min"], f"{w}.min", SceneError) if "min" in t else None
        upper = schema.number(t["max"], f"{w}.max", SceneError) if "max" in t else None
        if lower is None and upper is None:
            raise SceneError(f"{w}: expected `min`, `max` or both")
        if lower is not None and upper is not None and lower > upper:
            raise SceneError(f"{w}: expected min <= max, got {lower} > {upper}")
        planar = schema.boolean(t.get("planar", True), f"{w}.planar", SceneError)
        out.append(Predicate(str(name), kind, body, lower, upper, planar))
    return tuple(out)
