"""Sim-to-real gap metrics per signal, per joint/body, per episode, and aggregated.

Diverged replays are reported, never scored (`episode_diverged`): in `open_loop`, `tracking` and
`inverse` an episode whose replay went unstable anywhere is excluded from the aggregates and has no
metrics; in `windows` the windows that went unstable are counted (`diverged_windows`) and left
out of that episode's metrics, and an episode whose windows all diverged is excluded like above.
Excluded episodes are listed in `GapReport.diverged` with when and why.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ConfigError, SettingsError
from workbench.metrics.errors import first_exceedance, impact_index, pose_errors, summary
from workbench.metrics.thresholds import describe, threshold_for
from workbench.replay.trace import SimTrace
from workbench.schema import table


@dataclasses.dataclass(frozen=True)
class GapReport:
    """Metrics of one replay run.

    Attributes:
      scene, mode: what was replayed how.
      settings: replay settings, parameters and thresholds (JSON values).
      episodes: per episode (`episode_entry`): `id`, `alignment`, `windows`,
        `diverged_windows`, `diverged` (excluded from the aggregate), `divergence` (None, or
        `time_s`, `reason`, `window_start_s` of its first unstable window) and `metrics` (flat
        key -> value, keys like `qpos/shoulder/rmse` or `h=0.25s/qpos/cube/position_error_m/mae`;
        empty for a diverged episode).
      aggregate: key -> {median, mean, p90, n} over the included episodes (n: those with a
        finite value).
      diverged: the excluded episodes: `id`, `time_s` (after the episode's first sample),
        `reason` ("nan", "state limit", "mujoco warning <name>").
      included: episodes in the aggregate (len(episodes) - len(diverged)).
      diverged_windows: unstable windows over all episodes (windows mode: also those of
        included episodes, which their metrics leave out).
    """

    scene: str
    mode: str
    settings: dict[str, Any]
    episodes: list[dict[str, Any]]
    aggregate: dict[str, dict[str, float]]
    diverged: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    included: int = 0
    diverged_windows: int = 0

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
        """Read a report written by `save`; ConfigError names the file when it is not one."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"{path}: expected a gap report (JSON), could not read it: {exc}"
            ) from None
        fields = [f.name for f in dataclasses.fields(cls)]
        data = table(data, str(path), ConfigError, allowed=fields, required=fields[:5])
        return cls(**data)

    def value(self, key: str, stat: str = "median") -> float:
        """An aggregated statistic; a missing key lists close ones."""
        if key not in self.aggregate:
            close = [k for k in self.aggregate if key.split("/")[0] in k][:10]
            raise SettingsError(f"metric {key!r}: not in the report's aggregate; e.g. {close}")
        if stat not in self.aggregate[key]:
            raise SettingsError(
                f"stat: expected one of {sorted(self.aggregate[key])}, got {stat!r}"
            )
        return self.aggregate[key][stat]

    def divergence_lines(self, *, limit: int = 5) -> list[str]:
        """Sentences for a summary: how many episodes were excluded as diverged (and the first
        ones with when and why), and how many windows diverged; empty when none did."""
        lines = []
        if self.diverged:
            lines.append(
                f"DIVERGED: {len(self.diverged)} of {len(self.episodes)} episodes went unstable "
                f"and are excluded from the metrics ({self.included} included)"
            )
            lines += [
                f"  {d['id']}: at {d['time_s']:.4g} s ({d['reason']})"
                for d in self.diverged[:limit]
            ]
            if len(self.diverged) > limit:
                lines.append(f"  ... {len(self.diverged) - limit} more in gap.json")
        partial = self.diverged_windows - sum(d.get("windows", 0) for d in self.diverged)
        if self.mode == "windows" and partial > 0:
            lines.append(
                f"WARNING: {partial} windows of included episodes diverged and are left out of "
                "their metrics; see gap.json"
            )
        return lines


def group_errors(trace: SimTrace, signal: str):
    """Yield (metric prefix, kind, column, (W, L) errors, (W, L) recorded or None) for every
    comparison group of a signal."""
    pred, rec = trace.predicted[signal], trace.recorded(signal)
    for g in trace.bound.groups.get(signal, ()):
        cols = list(g.columns)
        prefix = f"{signal}/{g.name}" if g.name else signal
        if g.kind == "pose":
            pos, rot = pose_errors(pred[..., cols], rec[..., cols])
            yield f"{prefix}/position_error_m", "position_m", g.name, pos, None
            yield f"{prefix}/rotation_error_deg", "rotation_deg", g.name, rot, None
        elif g.kind == "position":  # a point (marker, or a body recorded without orientation)
            pos = np.linalg.norm(pred[..., cols] - rec[..., cols], axis=-1)
            yield f"{prefix}/position_error_m", "position_m", g.name, pos, None
        else:
            real = rec[..., cols[0]]
            yield f"{signal}/{g.name}", signal, g.name, pred[..., cols[0]] - real, real


def episode_metrics(
    trace: SimTrace,
    *,
    horizons: Sequence[float] = (),
    thresholds: Mapping[str, float] | None = None,
    contact_bodies: Sequence[str] = (),
    score: Sequence[str] | None = None,
) -> dict[str, float]:
    """Flat metrics of one trace (see GapReport for the key scheme). `score`: the signals
    (`qpos`, `body_pose:<body>`, `marker:<name>`) or groups (`qpos/<joint>`) to score; default
    all that were simulated."""
    th = dict(thresholds or {})
    chosen = None if score is None else set(score)
    dt = trace.alignment.dt
    out: dict[str, float] = {}
    if episode_diverged(trace):
        return out
    keep = ~np.asarray(trace.diverged, dtype=bool)
    for signal in trace.predicted:
        for key, kind, column, err, real in group_errors(trace, signal):
            if chosen is not None and not ({signal, f"{signal}/{column}"} & chosen):
                continue
            threshold = threshold_for(th, signal=signal, kind=kind, column=column, recorded=real)
            if trace.mode == "windows":
                err = err[keep]
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


def episode_diverged(trace: SimTrace) -> bool:
    """Whether an episode is excluded from the aggregates: `windows`: every window diverged;
    other modes: its replay diverged anywhere."""
    diverged = np.asarray(trace.diverged, dtype=bool)
    if trace.mode == "windows":
        return bool(diverged.size) and bool(diverged.all())
    return bool(diverged.any())


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
    event=None,
    score: Sequence[str] | None = None,
) -> GapReport:
    """Metrics of every trace plus their aggregate. `event` (a
    `workbench.metrics.events.EventWindow`) scores each trace only inside its episode's event
    window; `score` selects signals or groups (see `episode_metrics`)."""
    if event is not None:
        from workbench.metrics.events import event_span_trace

        traces = [event_span_trace(t, event) for t in traces]
    episodes = [
        episode_entry(
            t,
            horizons=horizons,
            thresholds=thresholds,
            contact_bodies=contact_bodies,
            score=score,
        )
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
    score: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One episode's record in a report: id, alignment note, window counts, divergence and flat
    metrics (see GapReport)."""
    return {
        "id": trace.episode.id,
        "alignment": trace.alignment.note,
        "windows": int(trace.starts.size),
        "diverged_windows": int(np.sum(trace.diverged)),
        "diverged": episode_diverged(trace),
        "divergence": None if trace.divergence is None else trace.divergence.as_dict(),
        "metrics": episode_metrics(
            trace,
            horizons=horizons,
            thresholds=thresholds,
            contact_bodies=contact_bodies,
            score=score,
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
    """A report from per-episode records (e.g. streamed ones): the aggregate over the episodes
    that did not diverge, and the list of those that did."""
    settings = {**settings, "thresholds": describe(thresholds)}
    included = [e for e in episodes if not e.get("diverged", False)]
    diverged = [
        {
            "id": e["id"],
            "time_s": (e.get("divergence") or {}).get("time_s", float("nan")),
            "reason": (e.get("divergence") or {}).get("reason", "unknown"),
            "windows": int(e.get("diverged_windows", 0)),
        }
        for e in episodes
        if e.get("diverged", False)
    ]
    return GapReport(
        scene,
        mode,
        dict(settings),
        list(episodes),
        aggregate([e["metrics"] for e in included]),
        diverged,
        len(included),
        int(sum(e.get("diverged_windows", 0) for e in episodes)),
    )
