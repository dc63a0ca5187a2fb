"""Held-out fidelity of nominal vs calibrated physics, side by side, with plots."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench import plots as wb_plots
from workbench.calibrate.fit import CalibrationResult, _atomic_write
from workbench.episode import Episode
from workbench.metrics.bootstrap import paired_change_ci
from workbench.metrics.gap import gap_report
from workbench.protocols.tosses import score_tosses, toss_scores
from workbench.replay import ReplaySettings, SimTrace, replay
from workbench.scenes.scene import Scene

_PICK = {
    "windows": lambda k: k.startswith("h=") and k.endswith("/mae"),
    "inverse": lambda k: k.endswith("/rmse"),
}


# toss-protocol summary key -> (statistic over tosses, per-toss score)
_TOSS_SUMMARY = {
    "median_position_error_pct_width": (np.median, "position_error_pct_width"),
    "mean_position_error_pct_width": (np.mean, "position_error_pct_width"),
    "mean_rotation_error_deg": (np.mean, "rotation_error_deg"),
    "mean_penetration_mm": (np.mean, "penetration_mm"),
    "mean_e_q": (np.mean, "e_q"),
}


def _per_toss(traces: Sequence[SimTrace]) -> dict[str, tuple[Any, np.ndarray]]:
    scores = [toss_scores(t) for t in traces]
    return {
        key: (statistic, np.array([s[name] for s in scores]))
        for key, (statistic, name) in _TOSS_SUMMARY.items()
    }


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """Held-out comparison: metric -> {nominal, calibrated, change_pct, change_ci95_pct ([lo, hi]
    or None)}, and the replays behind it."""

    table: dict[str, dict[str, Any]]
    nominal: list[SimTrace]
    calibrated: list[SimTrace]
    signal: str


def _save(fig, path: Path, *, tight: bool = False) -> None:
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=90)


def heldout_comparison(
    scene: Scene,
    episodes: Sequence[Episode],
    result: CalibrationResult,
    *,
    objective: str = "windows",
    horizons: Sequence[float] = (0.1, 0.25, 0.5),
    stride: float = 0.05,
    smooth_window: float = 0.2,
    derivatives: str = "auto",
    nominal_params: Mapping[str, float] | None = None,
) -> HeldOut:
    """Nominal vs calibrated fidelity on held-out episodes.

    objective "windows": windowed k-step errors (mean over episodes) at `horizons`;
    "inverse": per-joint inverse-dynamics torque RMSE and their mean over joints;
    "tosses": the toss protocol's scores (open-loop replays of prepared tosses).
    Each row has `change_ci95_pct`: a paired bootstrap interval over held-out episodes of the
    relative change (None with fewer than 5 episodes).
    """
    mode = {"windows": "windows", "inverse": "inverse", "tosses": "open_loop"}[objective]
    settings = ReplaySettings(
        mode,
        horizons=tuple(horizons),
        window_stride=stride,
        smooth_window=smooth_window,
        derivatives=derivatives,
    )
    runs, per_episode, traces = [], [], []
    for params in (dict(nominal_params or {}), {**(nominal_params or {}), **result.as_params()}):
        tr = replay(scene, episodes, settings, params=params)
        traces.append(tr)
        if objective == "tosses":
            scores = score_tosses(tr)
            runs.append({k: v for k, v in scores.items() if k not in ("n", "diverged")})
            per_episode.append(_per_toss(tr))
            continue
        rep = gap_report(tr, scene=scene.name, settings={}, horizons=horizons)
        values = {k: v["mean"] for k, v in rep.aggregate.items() if _PICK[mode](k)}
        episodes_values = {
            k: (np.mean, np.array([e["metrics"].get(k, np.nan) for e in rep.episodes]))
            for k in values
        }
        if mode == "inverse" and values:
            values["mean_over_joints/rmse"] = float(np.mean(list(values.values())))
            joints = np.stack([v for _, v in episodes_values.values()])
            episodes_values["mean_over_joints/rmse"] = (np.mean, joints.mean(axis=0))
        runs.append(values)
        per_episode.append(episodes_values)
    nominal, calibrated = runs
    table = {}
    for k, a in nominal.items():
        if k not in calibrated:
            continue
        row = {
            "nominal": a,
            "calibrated": calibrated[k],
            "change_pct": 100.0 * (calibrated[k] - a) / a if a else float("nan"),
            "change_ci95_pct": None,
        }
        if k in per_episode[0] and k in per_episode[1]:
            statistic, before = per_episode[0][k]
            ci = paired_change_ci(before, per_episode[1][k][1], statistic)
            row["change_ci95_pct"] = list(ci) if ci else None
        row["worse"] = bool(abs(row["calibrated"]) > abs(a))  # every metric: lower is better
        table[k] = row
    signal = "qfrc_actuator" if objective == "inverse" else "qpos"
    return HeldOut(table, traces[0], traces[1], signal)


def write_report(
    folder: str | Path,
    result: CalibrationResult,
    heldout: HeldOut,
    extra: dict[str, Any] | None = None,
) -> Path:
    """report.json plus plots: held-out metrics (both), error over time/horizon (both), an overlay
    of the first held-out episode (real, nominal, calibrated), parameters with intervals, trace."""
    folder = Path(folder)
    plots = folder / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    table = heldout.table
    runs = {"nominal": heldout.nominal, "calibrated": heldout.calibrated}
    if heldout.nominal and heldout.signal in heldout.nominal[0].predicted:
        _save(
            wb_plots.compare_error_over_time(runs, heldout.signal),
            plots / f"heldout_error_over_time_{heldout.signal}.png",
        )
        _save(
            wb_plots.compare_overlay({k: v[0] for k, v in runs.items()}, heldout.signal),
            plots / f"heldout_overlay_{heldout.nominal[0].episode.id}_{heldout.signal}.png",
        )
    worse = worse_metrics(table)
    _atomic_write(
        folder / "report.json",
        json.dumps({"heldout": table, "worse_on_heldout": worse, **(extra or {})}, indent=1),
    )
    keys = list(table)[:24]
    fig, ax = wb_plots.subplots(figsize=(8, 0.32 * len(keys) + 1.2))
    y = np.arange(len(keys))
    ax.barh(
        y + 0.2, [table[k]["nominal"] for k in keys], height=0.4, label="nominal", color="tab:gray"
    )
    ax.barh(
        y - 0.2,
        [table[k]["calibrated"] for k in keys],
        height=0.4,
        label="calibrated",
        color="tab:blue",
    )
    ax.set_yticks(y, keys, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("held-out error (lower is better)")
    ax.legend(fontsize=7)
    _save(fig, plots / "heldout_nominal_vs_calibrated.png", tight=True)
    fig, ax = wb_plots.subplots(figsize=(7, 0.3 * len(result.names) + 1.2))
    y = np.arange(len(result.names))
    nom = np.array(result.nominal)
    ref = np.where(np.abs(nom) > 1e-12, np.abs(nom), 1.0)
    err = 1.96 * np.array(result.stderr) / ref
    ax.errorbar(
        np.array(result.values) / ref,
        y,
        xerr=np.where(np.isfinite(err), err, 0),
        fmt="o",
        capsize=3,
        label="calibrated (95% interval)",
    )
    ax.plot(nom / ref, y, "k|", markersize=12, label="nominal")
    ax.set_yticks(y, result.names, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("value / |nominal| (nominal 0: absolute value)")
    ax.legend(fontsize=7)
    _save(fig, plots / "parameters.png", tight=True)
    fig, ax = wb_plots.subplots(figsize=(6, 3.5))
    ax.semilogy(
        [t["iteration"] for t in result.trace], [t["objective"] for t in result.trace], "o-"
    )
    ax.set_xlabel("iteration / generation")
    ax.set_ylabel("training objective")
    _save(fig, plots / "optimizer_trace.png", tight=True)
    return folder / "report.json"


def format_calibration(result: CalibrationResult, table: dict[str, dict[str, Any]]) -> str:
    """Parameter table with intervals, warnings, and the held-out comparison."""
    lines = [f"{'parameter':<34} {'nominal':>11} {'calibrated':>11} {'95% interval':>25}"]
    for n, a, b, ci, ok in zip(
        result.names, result.nominal, result.values, result.ci95, result.identifiable, strict=True
    ):
        flag = "" if ok else "  (?)"
        lines.append(f"{n:<34} {a:>11.5g} {b:>11.5g}   [{ci[0]:>10.4g}, {ci[1]:>10.4g}]{flag}")
    lines.append(
        f"training objective {result.cost_start:.5g} -> {result.cost_final:.5g} "
        f"({result.evaluations} candidate evaluations)"
    )
    if result.prior_weight:
        lines.append(f"prior toward nominal: weight {result.prior_weight:.4g}")
    if result.combinations:
        lines.append("combinations the data determine (each parameter over its range):")
        lines += [
            f"  {'yes' if c['identified'] else 'no ':<3} s/s_max {c['relative']:8.2e}  "
            f"{c['combination']}"
            for c in result.combinations
        ]
    lines += [f"WARNING: {w}" for w in result.warnings]
    lines.append(
        f"\n{'held-out metric':<46} {'nominal':>10} {'calibrated':>11} {'change':>8}"
        f"   {'95% interval of the change':>26}"
    )
    for key, row in table.items():
        ci = row.get("change_ci95_pct")
        interval = f"[{ci[0]:+6.1f}%, {ci[1]:+6.1f}%]" if ci else "(too few episodes)"
        lines.append(
            f"{key:<46} {row['nominal']:>10.5g} {row['calibrated']:>11.5g} "
            f"{row['change_pct']:>7.1f}%   {interval:>26}"
            + ("   WORSE" if row.get("worse") else "")
        )
    lines += [
        f"WARNING: held-out {key} got worse than nominal ({table[key]['nominal']:.5g} -> "
        f"{table[key]['calibrated']:.5g})"
        for key in worse_metrics(table)
    ]
    return "\n".join(lines)


def worse_metrics(table: dict[str, dict[str, Any]]) -> list[str]:
    """Held-out metrics whose calibrated value is worse (larger in magnitude) than nominal."""
    return [k for k, row in table.items() if abs(row["calibrated"]) > abs(row["nominal"])]


def flag_regressions(nominal: dict[str, float], calibrated: dict[str, float]) -> list[str]:
    """Metrics (lower magnitude is better) that got worse from `nominal` to `calibrated`, e.g. a
    protocol's held-out summaries; NaNs are never flagged."""
    return [
        k
        for k, a in nominal.items()
        if k in calibrated
        and np.isfinite(a)
        and np.isfinite(calibrated[k])
        and abs(calibrated[k]) > abs(a)
    ]
