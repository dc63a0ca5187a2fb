"""Held-out fidelity of nominal vs calibrated physics, side by side, with plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from workbench.calibrate.fit import CalibrationResult, _atomic_write
from workbench.episode import Episode
from workbench.metrics.gap import GapReport, gap_report
from workbench.replay import ReplaySettings, replay
from workbench.scenes.scene import Scene


def heldout_comparison(
    scene: Scene,
    episodes: Sequence[Episode],
    result: CalibrationResult,
    *,
    horizons: Sequence[float] = (0.1, 0.25, 0.5),
    stride: float = 0.05,
) -> tuple[GapReport, GapReport, dict[str, dict[str, float]]]:
    """Windows-mode gap reports with nominal and calibrated values, and per-metric improvement."""
    settings = ReplaySettings("windows", horizons=tuple(horizons), window_stride=stride)
    reports = []
    for params in (None, result.as_params()):
        traces = replay(scene, episodes, settings, params=params)
        reports.append(
            gap_report(
                traces, scene=scene.name, settings={"params": params or {}}, horizons=horizons
            )
        )
    nominal, calibrated = reports
    table = {}
    for key, v in nominal.aggregate.items():
        if key.startswith("h=") and key in calibrated.aggregate:
            a, b = v["mean"], calibrated.aggregate[key]["mean"]
            table[key] = {
                "nominal": a,
                "calibrated": b,
                "change_pct": 100.0 * (b - a) / a if a else float("nan"),
            }
    return nominal, calibrated, table


def write_report(
    folder: str | Path,
    result: CalibrationResult,
    table: dict[str, dict[str, float]],
    nominal: GapReport,
    calibrated: GapReport,
) -> Path:
    """report.json plus plots: error vs horizon (both), parameter table with intervals, optimizer trace."""
    folder = Path(folder)
    plots = folder / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    _atomic_write(
        folder / "report.json",
        json.dumps(
            {
                "heldout": table,
                "nominal": nominal.aggregate,
                "calibrated": calibrated.aggregate,
                "episodes": [e["id"] for e in nominal.episodes],
            },
            indent=1,
        ),
    )
    # error vs horizon, nominal vs calibrated
    series: dict[str, list[tuple[float, float, float]]] = {}
    for key, row in table.items():
        if key.endswith("/mae"):
            h, rest = key.split("/", 1)
            series.setdefault(rest, []).append((float(h[2:-1]), row["nominal"], row["calibrated"]))
    fig, ax = plt.subplots(figsize=(7, 4))
    for rest, rows in list(series.items())[:8]:
        rows.sort()
        h, a, b = np.array(rows).T
        (line,) = ax.plot(h, a, "o--", alpha=0.6, label=f"{rest} nominal")
        ax.plot(h, b, "o-", color=line.get_color(), label=f"{rest} calibrated")
    ax.set_xlabel("horizon [s]")
    ax.set_ylabel("mean |error| on held-out episodes")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(plots / "heldout_error_vs_horizon.png", dpi=90)
    plt.close(fig)
    # parameter table with 95% intervals, relative to nominal
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(result.names) + 1.2))
    y = np.arange(len(result.names))
    nom = np.array(result.nominal)
    ref = np.where(np.abs(nom) > 1e-12, np.abs(nom), 1.0)
    val = np.array(result.values) / ref
    err = 1.96 * np.array(result.stderr) / ref
    ax.errorbar(val, y, xerr=err, fmt="o", capsize=3, label="calibrated (95% CI)")
    ax.plot(nom / ref, y, "k|", markersize=12, label="nominal")
    ax.set_yticks(y, result.names, fontsize=7)
    ax.set_xlabel("value / |nominal|")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "parameters.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(
        [t["iteration"] for t in result.trace], [t["objective"] for t in result.trace], "o-"
    )
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective (0.5 |r|^2)")
    fig.tight_layout()
    fig.savefig(plots / "optimizer_trace.png", dpi=90)
    plt.close(fig)
    return folder / "report.json"


def format_calibration(result: CalibrationResult, table: dict[str, dict[str, float]]) -> str:
    lines = [f"{'parameter':<34} {'nominal':>11} {'calibrated':>11} {'95% CI':>25}"]
    for n, a, b, ci, ok in zip(
        result.names, result.nominal, result.values, result.ci95, result.identifiable, strict=True
    ):
        lines.append(
            f"{n:<34} {a:>11.5g} {b:>11.5g}   [{ci[0]:>10.4g}, {ci[1]:>10.4g}]{'' if ok else '  (?)'}"
        )
    lines.append(
        f"training cost {result.cost_start:.5g} -> {result.cost_final:.5g} "
        f"({result.evaluations} candidate rollouts over {result.settings['windows']} windows)"
    )
    lines += [f"WARNING: {w}" for w in result.warnings]
    lines.append(
        f"\n{'held-out metric (mean)':<44} {'nominal':>10} {'calibrated':>11} {'change':>8}"
    )
    for key, row in table.items():
        if key.endswith("/mae"):
            lines.append(
                f"{key:<44} {row['nominal']:>10.5g} {row['calibrated']:>11.5g} {row['change_pct']:>7.1f}%"
            )
    return "\n".join(lines)
