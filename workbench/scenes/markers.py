"""Markers: named points of a scene that recorded marker tracks are compared with.

A scene declares its markers in scene.toml; each maps a marker name to a point of the model::

    [markers]
    rope_25 = "body:ropeB_8"      # a body's origin (cable segments are bodies)
    tip = "site:gripper_tip"      # a site
    corner_0 = "flex:cloth[0]"    # vertex 0 of flex `cloth`

Recorded tracks are episode signals named `marker:<name>` with three columns x, y, z [m] in the
world frame. `marker_errors` compares simulated and recorded tracks per marker (position error
[m]: mean, RMS, max over time).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import mujoco
import numpy as np

from workbench import schema
from workbench.errors import BindingError, SceneError, name_list

SIGNAL_PREFIX = "marker:"
KINDS = ("body", "site", "flex")
_TARGET = re.compile(r"^(?P<kind>body|site|flex):(?P<name>[^\[\]]+?)(\[(?P<i>\d+)\])?$")


@dataclasses.dataclass(frozen=True)
class Marker:
    """One marker: `kind` (body/site/flex), MuJoCo `target` name, flex vertex `index`."""

    name: str
    kind: str
    target: str
    index: int = 0

    @classmethod
    def parse(cls, name: str, text: Any, where: str) -> Marker:
        text = schema.string(text, f"{where}.{name}", SceneError)
        m = _TARGET.match(text)
        if m is None or (m.group("kind") == "flex") != (m.group("i") is not None):
            raise SceneError(
                f"{where}.{name}: expected 'body:<body>', 'site:<site>' or 'flex:<flex>[<vertex>]', "
                f"got {text!r}"
            )
        return cls(name, m.group("kind"), m.group("name"), int(m.group("i") or 0))


@dataclasses.dataclass(frozen=True)
class MarkerSet:
    """Markers resolved against a model: positions read from an MjData in one gather.

    `kind_ids[k]` is the body id, site id or global flex vertex index of marker k.
    """

    markers: tuple[Marker, ...]
    kinds: tuple[str, ...]
    ids: np.ndarray  # (k,) int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.markers)

    def positions(self, data: mujoco.MjData) -> np.ndarray:
        """(k, 3) world positions [m] of the markers in `data` (after mj_forward/mj_step)."""
        out = np.empty((len(self.markers), 3))
        for k, (kind, i) in enumerate(zip(self.kinds, self.ids, strict=True)):
            source = {"body": data.xpos, "site": data.site_xpos, "flex": data.flexvert_xpos}[kind]
            out[k] = source[i]
        return out

    def subset(self, names) -> MarkerSet:
        """The markers named in `names`, in that order; BindingError for an unknown name."""
        index = {m.name: k for k, m in enumerate(self.markers)}
        missing = [n for n in names if n not in index]
        if missing:
            raise BindingError(
                f"markers: unknown marker(s) {missing}; the scene has {name_list(index)}"
            )
        pick = [index[n] for n in names]
        return MarkerSet(
            tuple(self.markers[k] for k in pick),
            tuple(self.kinds[k] for k in pick),
            self.ids[pick],
        )


def parse_markers(table: Any, where: str) -> tuple[Marker, ...]:
    """Markers of a scene.toml [markers] table (name -> target string)."""
    table = schema.table(table, where, SceneError, allowed=table if isinstance(table, dict) else ())
    return tuple(Marker.parse(name, text, where) for name, text in table.items())


def resolve_markers(model: mujoco.MjModel, markers, where: str = "markers") -> MarkerSet:
    """Marker targets resolved to ids; SceneError naming the marker and listing valid targets."""
    ids = []
    for marker in markers:
        if marker.kind == "flex":
            fid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_FLEX, marker.target)
            valid = _names(model, mujoco.mjtObj.mjOBJ_FLEX, model.nflex)
            if fid >= 0:
                count = int(model.flex_vertnum[fid])
                if marker.index >= count:
                    raise SceneError(
                        f"{where}.{marker.name}: flex {marker.target!r} has {count} vertices; "
                        f"expected an index 0..{count - 1}, got {marker.index}"
                    )
                ids.append(int(model.flex_vertadr[fid]) + marker.index)
                continue
        else:
            obj, count = {
                "body": (mujoco.mjtObj.mjOBJ_BODY, model.nbody),
                "site": (mujoco.mjtObj.mjOBJ_SITE, model.nsite),
            }[marker.kind]
            fid = mujoco.mj_name2id(model, obj, marker.target)
            valid = _names(model, obj, count)
            if fid >= 0:
                ids.append(fid)
                continue
        raise SceneError(
            f"{where}.{marker.name}: unknown {marker.kind} {marker.target!r}; valid: "
            f"{name_list(valid)}"
        )
    return MarkerSet(tuple(markers), tuple(m.kind for m in markers), np.asarray(ids, dtype=int))


def _names(model, obj, count) -> list[str]:
    return [mujoco.mj_id2name(model, obj, i) or f"#{i}" for i in range(count)]


def scene_markers(scene) -> MarkerSet:
    """The markers a scene declares in its scene.toml [markers] table, resolved."""
    table = scene.metadata.get("markers")
    if not table:
        raise SceneError(f"scene {scene.name!r}: declares no [markers] table")
    return resolve_markers(scene.model, parse_markers(table, "markers"), "markers")


def episode_marker_tracks(episode) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (T, k, 3) positions [m]) of an episode's `marker:<name>` signals."""
    names, tracks = [], []
    for signal_name, signal in episode.signals.items():
        if not signal_name.startswith(SIGNAL_PREFIX):
            continue
        if signal.values.shape[1] != 3:
            raise BindingError(
                f"episode {episode.id!r}: signal {signal_name!r}: expected 3 columns x, y, z [m], "
                f"got {signal.values.shape[1]}"
            )
        names.append(signal_name[len(SIGNAL_PREFIX) :])
        tracks.append(signal.values)
    if not names:
        raise BindingError(f"episode {episode.id!r}: no `marker:<name>` signals")
    return tuple(names), np.stack(tracks, axis=1)


@dataclasses.dataclass(frozen=True)
class MarkerErrors:
    """Per-marker position error [m] between simulated and recorded tracks."""

    names: tuple[str, ...]
    mean: np.ndarray  # (k,) mean over time of |sim - real|
    rms: np.ndarray  # (k,)
    max: np.ndarray  # (k,)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            n: {"mean_m": float(a), "rms_m": float(b), "max_m": float(c)}
            for n, a, b, c in zip(self.names, self.mean, self.rms, self.max, strict=True)
        }


def marker_errors(names, simulated: np.ndarray, recorded: np.ndarray) -> MarkerErrors:
    """Errors of `simulated` vs `recorded`, both (T, k, 3) [m]; NaN samples of the recording
    (occluded markers) are skipped."""
    simulated, recorded = np.asarray(simulated, float), np.asarray(recorded, float)
    if simulated.shape != recorded.shape or simulated.ndim != 3 or simulated.shape[2] != 3:
        raise BindingError(
            f"marker_errors: expected two (T, k, 3) arrays of equal shape, got "
            f"{simulated.shape} and {recorded.shape}"
        )
    if len(names) != simulated.shape[1]:
        raise BindingError(f"marker_errors: {len(names)} names for {simulated.shape[1]} markers")
    dist = np.linalg.norm(simulated - recorded, axis=2)  # (T, k)
    with np.errstate(invalid="ignore"):
        return MarkerErrors(
            tuple(names),
            np.nanmean(dist, axis=0),
            np.sqrt(np.nanmean(dist**2, axis=0)),
            np.nanmax(dist, axis=0),
        )
