"""Plots of replays and gap reports. Every function returns a matplotlib Figure.

Figures are plain `matplotlib.figure.Figure` objects, never registered with pyplot: importing or
using this module leaves pyplot unimported and the backend untouched, `fig.savefig(path)` writes
the file, and a figure is freed with its last reference (nothing to close). In a notebook, a
figure returned from a cell is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from workbench.metrics.gap import GapReport, group_errors
from workbench.replay.trace import SimTrace


def subplots(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A new Figure and its axes, like pyplot's `subplots` without pyplot (`figsize`, `dpi`,
    `layout`, `facecolor` go to the Figure; `sharex`, `squeeze`, ... to `Figure.subplots`)."""
    figure_keys = ("figsize", "dpi", "layout", "facecolor")
    fig = Figure(**{k: kwargs.pop(k) for k in figure_keys if k in kwargs})
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _unit(trace: SimTrace, signal: str) -> str:
    unit = trace.episode.signal(signal).unit
    return f" [{unit}]" if unit else ""


def overlay(trace: SimTrace, signal: str, *, max_columns: int = 7, max_windows: int = 40):
    """Recorded vs simulated values of each column of one signal over time."""
    fig = compare_overlay({"sim": trace}, signal, max_columns=max_columns, max_windows=max_windows)
    fig.suptitle(f"{trace.episode.id}: {signal}{_unit(trace, signal)}, {trace.mode}", fontsize=10)
    return fig


def error_over_time(traces: Sequence[SimTrace], signal: str):
    """Median and 10-90 % band of |error| across episodes (and windows) against time since start:
    trajectory time for full replays, prediction horizon for `windows`."""
    groups = _abs_error_rows(traces, signal)
    fig, ax = subplots(figsize=(8, 4))
    dt = traces[0].alignment.dt if traces else 1.0
    for key, stack in list(groups.items())[:10]:
        length = stack.shape[1]
        enough = np.sum(np.isfinite(stack), axis=0) >= max(1, stack.shape[0] // 10)
        with np.errstate(all="ignore"):
            med = np.nanmedian(stack, axis=0)
            lo, hi = np.nanpercentile(stack, 10, axis=0), np.nanpercentile(stack, 90, axis=0)
        t = np.arange(length) * dt
        (line,) = ax.plot(t[enough], med[enough], label=key.split("/", 1)[1])
        ax.fill_between(t[enough], lo[enough], hi[enough], color=line.get_color(), alpha=0.15)
    horizon = traces and traces[0].mode == "windows"
    ax.set_xlabel("prediction horizon [s]" if horizon else "time since start [s]")
    ax.set_ylabel(f"|error| {signal}")
    ax.set_title(
        f"{signal}: median and 10-90 % of |sim - real| over {len(traces)} episodes", fontsize=10
    )
    if groups:
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def metric_histogram(report: GapReport, key: str, *, bins: int = 30):
    """Histogram of one per-episode metric, with median and p90 marked."""
    values = np.array(
        [e["metrics"][key] for e in report.episodes if key in e["metrics"]], dtype=float
    )
    values = values[np.isfinite(values)]
    fig, ax = subplots(figsize=(6, 3.5))
    if values.size and np.ptp(values) <= 1e-9 * max(1.0, float(np.max(np.abs(values)))):
        bins = 1  # (nearly) one value: finer bins cannot be made
    ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    if values.size:
        for stat, style in (("median", "-"), ("p90", "--")):
            v = np.median(values) if stat == "median" else np.percentile(values, 90)
            ax.axvline(v, color="k", ls=style, lw=1, label=f"{stat} {v:.4g}")
        ax.legend(fontsize=8)
    ax.set_xlabel(key, fontsize=8)
    ax.set_ylabel("episodes")
    ax.set_title(f"{report.scene} / {report.mode}: {values.size} episodes", fontsize=10)
    fig.tight_layout()
    return fig


def horizon_curve(report: GapReport, signal_key: str):
    """Aggregated error against prediction horizon (windows mode), median with p90."""
    rows = []
    for k, v in report.aggregate.items():
        if k.startswith("h=") and k.split("/", 1)[1] == signal_key:
            rows.append((float(k[2 : k.index("s/")]), v["median"], v["p90"]))
    rows.sort()
    fig, ax = subplots(figsize=(6, 3.5))
    if rows:
        h, med, p90 = np.array(rows).T
        ax.plot(h, med, "o-", label="median")
        ax.plot(h, p90, "s--", label="p90")
        ax.legend(fontsize=8)
    ax.set_xlabel("horizon [s]")
    ax.set_ylabel(signal_key, fontsize=8)
    fig.tight_layout()
    return fig


def _abs_error_rows(traces: Sequence[SimTrace], signal: str) -> dict[str, np.ndarray]:
    """Comparison-group key -> (rows, L) |error| stacked over episodes and windows (NaN padded)."""
    groups: dict[str, list[np.ndarray]] = {}
    for tr in traces:
        if signal in tr.predicted:
            for key, _, _, err, _ in group_errors(tr, signal):
                groups.setdefault(key, []).extend(np.abs(e) for e in err)
    out = {}
    for key, rows in groups.items():
        stack = np.full((len(rows), max(r.size for r in rows)), np.nan)
        for i, r in enumerate(rows):
            stack[i, : r.size] = r
        out[key] = stack
    return out


def compare_error_over_time(
    runs: dict[str, Sequence[SimTrace]], signal: str, *, max_groups: int = 4
):
    """Median |error| against time (or horizon) for several runs of the same episodes, e.g.
    {"nominal": traces, "calibrated": traces}; one panel per comparison group."""
    per_run = {label: _abs_error_rows(traces, signal) for label, traces in runs.items()}
    keys = list(next(iter(per_run.values())))[:max_groups]
    first = next(iter(runs.values()))
    dt = first[0].alignment.dt if first else 1.0
    fig, axes = subplots(
        len(keys), 1, figsize=(8, 2.2 * len(keys) + 0.6), squeeze=False, sharex=True
    )
    for ax, key in zip(axes[:, 0], keys, strict=True):
        for label, groups in per_run.items():
            stack = groups.get(key)
            if stack is None:
                continue
            enough = np.sum(np.isfinite(stack), axis=0) >= max(1, stack.shape[0] // 10)
            with np.errstate(all="ignore"):
                med = np.nanmedian(stack, axis=0)
            t = np.arange(stack.shape[1]) * dt
            ax.plot(t[enough], med[enough], label=label)
        ax.set_ylabel(key.split("/", 1)[1], fontsize=7)
    axes[0, 0].legend(fontsize=8)
    horizon = first and first[0].mode == "windows"
    axes[-1, 0].set_xlabel("prediction horizon [s]" if horizon else "time since start [s]")
    fig.suptitle(f"median |sim - real| of {signal} on held-out episodes", fontsize=10)
    fig.tight_layout()
    return fig


def compare_overlay(
    runs: dict[str, SimTrace], signal: str, *, max_columns: int = 7, max_windows: int = 25
):
    """One episode: the recording and each run's simulation of every column of a signal."""
    first = next(iter(runs.values()))
    rec = first.episode.signal(signal)
    cols = list(range(min(max_columns, len(rec.columns))))
    fig, axes = subplots(
        len(cols), 1, figsize=(9, 1.9 * len(cols) + 0.6), sharex=True, squeeze=False
    )
    t = first.episode.times - first.episode.times[0]
    for ax, c in zip(axes[:, 0], cols, strict=True):
        ax.plot(t, rec.values[:, c], color="k", lw=1.2, label="real")
        for (label, tr), color in zip(
            runs.items(), ("tab:orange", "tab:blue", "tab:green"), strict=False
        ):
            step = max(1, tr.starts.size // max_windows)
            for n, w in enumerate(range(0, tr.starts.size, step)):
                s = tr.starts[w]
                tt = t[s : s + tr.window_length]
                ax.plot(
                    tt,
                    tr.predicted[signal][w, : tt.size, c],
                    color=color,
                    lw=0.9,
                    label=label if n == 0 else None,
                )
        ax.set_ylabel(rec.columns[c], fontsize=8)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("time [s]")
    fig.suptitle(f"{first.episode.id}: {signal}{_unit(first, signal)}", fontsize=10)
    fig.tight_layout()
    return fig
