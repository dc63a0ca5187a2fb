"""Sim-to-real gap metrics per signal, per joint/body, per episode, and aggregated."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.metrics.errors import first_exceedance, impact_index, pose_errors, summary
from workbench.replay.trace import SimTrace

DEFAULT_THRESHOLDS = {
    "qpos": 0.1,
    "qvel": 1.0,
    "qfrc_actuator": 1.0,
    "position_m": 0.02,
    "rotation_deg": 10.0,
}


@dataclasses.dataclass(frozen=True)
class GapReport:
    """Metrics of one replay run.

    Attributes:
      scene, mode: what was replayed how.
      settings: replay settings, parameters and thresholds (JSON values).
      episodes: per episode: `id`, `alignment`, `diverged_windows`, `windows`, `metrics` (flat
        key -> value, keys like `qpos/shoulder/rmse` or `h=0.25s/qpos/cube/position_error_m/mean`).
      aggregate: key -> {median, mean, p90, n} over episodes.
    """

    scene: str
    mode: str
    settings: dict[str, Any]
    episodes: list[dict[str, Any]]
    aggregate: dict[str, dict[str, float]]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, allow_nan=True)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> GapReport:
        return cls(**json.loads(Path(path).read_text()))

    def value(self, key: str, stat: str = "median") -> float:
        """An aggregated statistic; a missing key lists close ones."""
        if key not in self.aggregate:
            close = [k for k in self.aggregate if key.split("/")[0] in k][:10]
            raise KeyError(f"metric {key!r} not in report; e.g. {close}")
        return self.aggregate[key][stat]


def _group_errors(trace: SimTrace, signal: str):
    """Yield (metric prefix, kind, (W, L) error arrays) for every comparison group of a signal."""
    pred, rec = trace.predicted[signal], trace.recorded(signal)
    for g in trace.bound.groups.get(signal, ()):
        cols = list(g.columns)
        if g.kind == "pose":
            pos, rot = pose_errors(pred[..., cols], rec[..., cols])
            yield f"{signal}/{g.name}/position_error_m", "position_m", pos
            yield f"{signal}/{g.name}/rotation_error_deg", "rotation_deg", rot
        else:
            yield f"{signal}/{g.name}", signal, pred[..., cols[0]] - rec[..., cols[0]]


def episode_metrics(
    trace: SimTrace,
    *,
    horizons: Sequence[float] = (),
    thresholds: Mapping[str, float] | None = None,
    contact_bodies: Sequence[str] = (),
) -> dict[str, float]:
    """Flat metrics of one trace (see GapReport for the key scheme)."""
    th = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    dt = trace.alignment.dt
    out: dict[str, float] = {}
    for signal in trace.predicted:
        for key, kind, err in _group_errors(trace, signal):
            threshold = th.get(kind, th.get(signal, 1.0))
            if trace.mode == "windows":
                for h in horizons:
                    j = int(round(h / dt))
                    if j < err.shape[1]:
                        e = err[:, j]
                        finite = e[np.isfinite(e)]
                        if finite.size:
                            out[f"h={h:g}s/{key}/mae"] = float(np.mean(np.abs(finite)))
                            out[f"h={h:g}s/{key}/rmse"] = float(np.sqrt(np.mean(finite**2)))
                horizon = [first_exceedance(e, threshold, dt) for e in err]
                out[f"{key}/divergence_horizon_s"] = (
                    float(np.mean(horizon)) if horizon else float("nan")
                )
            else:
                for stat, value in summary(err[0]).items():
                    out[f"{key}/{stat}"] = value
                out[f"{key}/divergence_time_s"] = first_exceedance(err[0], threshold, dt)
    if trace.mode == "open_loop" and "qpos" in trace.predicted:
        for g in trace.bound.groups["qpos"]:
            if g.kind == "pose" and g.name in contact_bodies:
                z_cols = g.columns[2]
                t_real = impact_index(trace.recorded("qpos")[0, :, z_cols], dt)
                t_sim = impact_index(trace.predicted["qpos"][0, :, z_cols], dt)
                if t_real is not None and t_sim is not None:
                    out[f"contact/{g.name}/first_contact_time_error_s"] = (t_sim - t_real) * dt
    return out


def aggregate(per_episode: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """key -> median, mean, p90 and n over episodes (NaNs dropped)."""
    keys = list(dict.fromkeys(k for m in per_episode for k in m))
    out = {}
    for k in keys:
        v = np.array([m[k] for m in per_episode if k in m], dtype=float)
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = {
                "median": float(np.median(v)),
                "mean": float(np.mean(v)),
                "p90": float(np.percentile(v, 90)),
                "n": int(v.size),
            }
    return out


def gap_report(
    traces: Sequence[SimTrace],
    *,
    scene: str,
    settings: Mapping[str, Any],
    horizons: Sequence[float] = (),
    thresholds: Mapping[str, float] | None = None,
    contact_bodies: Sequence[str] = (),
) -> GapReport:
    """Metrics of every trace plus their aggregate."""
    episodes = [
        episode_entry(t, horizons=horizons, thresholds=thresholds, contact_bodies=contact_bodies)
        for t in traces
    ]
    mode = traces[0].mode if traces else str(settings.get("mode", ""))
    return report_from_entries(
        episodes, scene=scene, mode=mode, settings=settings, thresholds=thresholds
    )


def episode_entry(
    trace: SimTrace,
    *,
    horizons: Sequence[float] = (),
    thresholds: Mapping[str, float] | None = None,
    contact_bodies: Sequence[str] = (),
) -> dict[str, Any]:
    """One episode's record in a report: id, alignment note, window counts and flat metrics."""
    return {
        "id": trace.episode.id,
        "alignment": trace.alignment.note,
        "windows": int(trace.starts.size),
        "diverged_windows": int(trace.diverged.sum()),
        "metrics": episode_metrics(
            trace, horizons=horizons, thresholds=thresholds, contact_bodies=contact_bodies
        ),
    }


def report_from_entries(
    episodes: Sequence[dict[str, Any]],
    *,
    scene: str,
    mode: str,
    settings: Mapping[str, Any],
    thresholds: Mapping[str, float] | None = None,
) -> GapReport:
    """A report from per-episode records (e.g. streamed ones), with their aggregate."""
    settings = {**settings, "thresholds": {**DEFAULT_THRESHOLDS, **(thresholds or {})}}
    return GapReport(
        scene, mode, dict(settings), list(episodes), aggregate([e["metrics"] for e in episodes])
    )
