"""Figures of ensemble fidelity and sweeps (matplotlib `Figure`s, no pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench.metrics.ensemble import LEVELS, coverage
from workbench.plots import subplots

if TYPE_CHECKING:
    from workbench.randomize.ensemble import EnsembleResult


def spread(result: EnsembleResult, metric: str):
    """Real outcome over the ensemble's spread, one column per episode (sorted by the ensemble
    median): 5-95 % and 25-75 % bands, ensemble median, real outcome (dots), point models.
    Vector metrics show each episode's distance from its ensemble median."""
    members, real = result.members[metric], result.real[metric]
    vector = members[0].shape[1] > 1
    if vector:
        centre = [np.median(m, axis=0) for m in members]
        vals = [np.linalg.norm(m - c, axis=1) for m, c in zip(members, centre, strict=True)]
        obs = np.array([np.linalg.norm(y - c) for y, c in zip(real, centre, strict=True)])
        ylabel = f"{metric}: distance from ensemble median"
    else:
        vals = [m[:, 0] for m in members]
        obs = np.array([y[0] for y in real])
        ylabel = metric
    q = np.array([np.percentile(v, [5, 25, 50, 75, 95]) for v in vals])
    order = np.argsort(q[:, 2])
    x = np.arange(len(order))
    fig, ax = subplots(figsize=(9, 4))
    ax.fill_between(x, q[order, 0], q[order, 4], color="C0", alpha=0.25, label="ensemble 5-95 %")
    ax.fill_between(x, q[order, 1], q[order, 3], color="C0", alpha=0.45, label="ensemble 25-75 %")
    ax.plot(x, q[order, 2], color="C0", lw=1, label="ensemble median")
    ax.plot(x, obs[order], "k.", ms=4, label="real")
    if not vector:
        for i, (name, pts) in enumerate(result.points.items()):
            point = np.array([v[0] for v in pts[metric]])
            ax.plot(x, point[order], "x", ms=3, color=f"C{i + 1}", label=name)
    ax.set_xlabel("episode (sorted by ensemble median)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncol=3)
    return fig


def reliability(result: EnsembleResult, metrics: list[str] | None = None):
    """Coverage diagram: share of episodes whose real outcome the central q region covers, vs q."""
    fig, ax = subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="ideal")
    for name in metrics or list(result.scores):
        cov = coverage(result.scores[name].centrality, LEVELS)
        ax.plot(LEVELS, [cov[f"{q:g}"] for q in LEVELS], "o-", ms=3, label=name)
    ax.set_xlabel("central region q")
    ax.set_ylabel("share of episodes covered")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return fig


def save_all(result: EnsembleResult, folder: Path) -> dict[str, Path]:
    out = {}
    fig = reliability(result)
    out["reliability"] = folder / "reliability.png"
    fig.savefig(out["reliability"], dpi=90)
    for metric in result.scores:
        fig = spread(result, metric)
        path = folder / f"spread_{metric.replace('/', '_')}.png"
        fig.savefig(path, dpi=90)
        out[f"spread:{metric}"] = path
    return out
