"""Recording quality inspection (`workbench inspect`): timing, duplicated or frozen frames,
dropouts, recorded velocity vs differentiated position, quaternion norms, joint-limit and
actuator-range violations and saturation (with a scene), and gap outliers (with a replay)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

import mujoco
import numpy as np

from workbench.inspect import checks
from workbench.inspect.checks import Flag
from workbench.io.raw import RawEpisode

__all__ = ["EpisodeInspection", "Flag", "Inspection", "inspect_episodes", "checks"]

_INDEXED = re.compile(r"^(?P<name>.+)\[(?P<i>\d+)\]$")
MEASURED = ("qpos", "qvel", "qfrc_actuator")  # commands may legitimately hold still


@dataclasses.dataclass(frozen=True)
class EpisodeInspection:
    """Findings of one episode plus its per-signal summary rows."""

    id: str
    file: str
    samples: int
    duration_s: float
    dt_median_s: float
    flags: tuple[Flag, ...]
    signals: dict[str, dict[str, Any]]

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.flags)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.flags)


@dataclasses.dataclass(frozen=True)
class Inspection:
    episodes: tuple[EpisodeInspection, ...]
    notes: tuple[str, ...] = ()

    @property
    def flags(self) -> list[tuple[str, Flag]]:
        return [(e.id, f) for e in self.episodes for f in e.flags]

    def to_json(self) -> str:
        doc = {
            "episodes": [
                {**dataclasses.asdict(e), "flags": [f.to_dict() for f in e.flags]}
                for e in self.episodes
            ],
            "notes": list(self.notes),
            "counts": {
                "episodes": len(self.episodes),
                "errors": sum(e.errors for e in self.episodes),
                "warnings": sum(e.warnings for e in self.episodes),
            },
        }
        return json.dumps(doc, indent=1, allow_nan=True)

    def with_flags(self, extra: dict[str, list[Flag]], note: str = "") -> Inspection:
        episodes = tuple(
            dataclasses.replace(e, flags=e.flags + tuple(extra.get(e.id, ())))
            for e in self.episodes
        )
        return Inspection(episodes, self.notes + ((note,) if note else ()))


def _quaternion_blocks(
    columns: Sequence[str], model: mujoco.MjModel | None
) -> list[tuple[str, list[int]]]:
    """(joint, 4 column positions) of every complete free/ball-joint quaternion in qpos columns."""
    where: dict[str, dict[int, int]] = {}
    for j, col in enumerate(columns):
        m = _INDEXED.match(col)
        if m:
            where.setdefault(m["name"], {})[int(m["i"])] = j
    blocks = []
    for joint, idx in where.items():
        first = 3 if 6 in idx else 0  # free joint: x y z qw qx qy qz; ball: qw qx qy qz
        if model is not None:
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
            if jid < 0:
                continue
            first = 3 if int(model.jnt_type[jid]) == int(mujoco.mjtJoint.mjJNT_FREE) else 0
        if all(first + k in idx for k in range(4)):
            blocks.append((joint, [idx[first + k] for k in range(4)]))
    return blocks


def _linear_columns(columns: Sequence[str]) -> dict[str, int]:
    """Columns whose position and velocity are the same coordinate: scalar joints and the
    translational part (indices 0-2) of free joints."""
    out = {}
    for j, col in enumerate(columns):
        m = _INDEXED.match(col)
        if m is None or int(m["i"]) < 3:
            out[col] = j
    return out


def _scene_flags(ep: RawEpisode, model: mujoco.MjModel) -> list[Flag]:
    flags = []
    t = ep.times
    if "qpos" in ep.signals:
        sig = ep.signals["qpos"]
        for j, col in enumerate(sig.columns):
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, col)
            scalar = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
            if jid >= 0 and model.jnt_limited[jid] and int(model.jnt_type[jid]) in scalar:
                lo, hi = model.jnt_range[jid]
                flags += checks.range_violations(
                    t, sig.values[:, j], lo, hi, signal="qpos", column=col, what="joint_limit"
                )
    if "ctrl" in ep.signals:
        sig = ep.signals["ctrl"]
        for j, col in enumerate(sig.columns):
            aid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, col)
            if aid >= 0 and model.actuator_ctrllimited[aid]:
                lo, hi = model.actuator_ctrlrange[aid]
                flags += checks.range_violations(
                    t, sig.values[:, j], lo, hi, signal="ctrl", column=col, what="actuator_range"
                )
    return flags


def inspect_episode(ep: RawEpisode, model: mujoco.MjModel | None = None) -> EpisodeInspection:
    """Every check on one episode (scene checks when `model` is given)."""
    t = ep.times
    flags: list[Flag] = []
    order = np.diff(t)
    if np.any(~np.isfinite(t)) or np.any(order <= 0):
        bad = int(np.argmax(~np.isfinite(t[1:]) | (order <= 0)))
        flags.append(
            Flag(
                "time_axis",
                "error",
                f"time is not strictly increasing and finite: t[{bad}] = {t[bad]:.6g} s, "
                f"t[{bad + 1}] = {t[bad + 1]:.6g} s",
                start=float(t[bad]) if np.isfinite(t[bad]) else None,
                samples=int(np.sum(order <= 0)),
            )
        )
    else:
        flags += checks.timing(t)
    stacked = np.concatenate([s.values for s in ep.signals.values()], axis=1)
    flags += checks.duplicate_frames(t, stacked)
    summary = {}
    for name, sig in ep.signals.items():
        flags += checks.missing_values(t, sig.values, signal=name, columns=sig.columns)
        if name in MEASURED or name.startswith(("sensor:", "body_pose:")):
            flags += checks.frozen(t, sig.values, signal=name, columns=sig.columns)
        summary[name] = {
            "columns": list(sig.columns),
            "unit": sig.unit,
            "nan": int(np.sum(~np.isfinite(sig.values))),
            "min": np.nanmin(sig.values, axis=0).tolist() if np.isfinite(sig.values).any() else [],
            "max": np.nanmax(sig.values, axis=0).tolist() if np.isfinite(sig.values).any() else [],
        }
    if "qpos" in ep.signals:
        q = ep.signals["qpos"]
        for joint, cols in _quaternion_blocks(q.columns, model):
            flags += checks.quaternion_norms(t, q.values[:, cols], signal="qpos", column=joint)
        if "qvel" in ep.signals and np.all(np.diff(t) > 0):
            v = ep.signals["qvel"]
            qc, vc = _linear_columns(q.columns), _linear_columns(v.columns)
            both = [c for c in qc if c in vc]
            if both:
                flags += checks.velocity_consistency(
                    t,
                    q.values[:, [qc[c] for c in both]],
                    v.values[:, [vc[c] for c in both]],
                    columns=both,
                )
    if model is not None:
        flags += _scene_flags(ep, model)
    dt = np.diff(t)
    return EpisodeInspection(
        ep.id,
        str(ep.metadata.get("file", "")),
        int(t.size),
        float(t[-1] - t[0]) if t.size else 0.0,
        float(np.median(dt)) if dt.size else 0.0,
        tuple(flags),
        summary,
    )


def inspect_episodes(
    episodes: Sequence[RawEpisode], *, model: mujoco.MjModel | None = None
) -> Inspection:
    return Inspection(tuple(inspect_episode(ep, model) for ep in episodes))


def format_inspection(result: Inspection, *, limit: int = 40) -> str:
    """A per-episode table and one line per finding."""
    rows = [["episode", "samples", "duration", "dt median", "errors", "warnings"]]
    for e in result.episodes[:limit]:
        rows.append(
            [
                e.id,
                str(e.samples),
                f"{e.duration_s:.4g} s",
                f"{1e3 * e.dt_median_s:.4g} ms",
                str(e.errors),
                str(e.warnings),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if len(result.episodes) > limit:
        lines.append(f"... {len(result.episodes) - limit} more episodes in the JSON")
    flagged = result.flags
    if flagged:
        lines.append("")
    for eid, f in flagged[: 3 * limit]:
        lines.append(f"{f.severity.upper():<7} {eid}: {f.kind}: {f.message}")
    if len(flagged) > 3 * limit:
        lines.append(f"... {len(flagged) - 3 * limit} more findings in the JSON")
    lines += [f"note: {n}" for n in result.notes]
    errors = sum(f.severity == "error" for _, f in flagged)
    lines.append(
        f"{len(result.episodes)} episodes: {errors} errors, {len(flagged) - errors} warnings"
    )
    return "\n".join(lines)
