"""The gap job end to end: recordings + mapping + scene -> replay -> GapReport, JSON and plots."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib.pyplot as plt

from workbench import plots
from workbench.episode_log import EpisodeLog
from workbench.errors import MappingError, WorkbenchError
from workbench.io import load_episodes
from workbench.metrics.gap import GapReport, episode_entry, report_from_entries
from workbench.physics import check_values
from workbench.physics.signal_params import check_signal_param, is_signal_param
from workbench.replay import ReplaySettings, replay
from workbench.replay.run import bind_all
from workbench.scenes import Scene, load_scene

Progress = Callable[[int, int], None]


def scene_mapping(scene: Scene) -> Path:
    """The mapping file a scene names for its dataset (`dataset_mapping` in scene.toml)."""
    rel = scene.metadata.get("dataset_mapping")
    if not rel or scene.folder is None:
        raise MappingError(f"scene {scene.name!r} names no dataset_mapping; pass --mapping")
    return (scene.folder / rel).resolve()


def run_gap(
    recordings,
    *,
    scene: str | Path | Scene,
    mapping: str | Path | None = None,
    settings: ReplaySettings | None = None,
    params: Mapping[str, float] | None = None,
    select: str | None = None,
    out: str | Path | None = None,
    plot_episodes: int = 3,
    plot_traces: int = 500,
    chunk_episodes: int = 256,
    resume: bool = False,
    progress: Progress | None = None,
) -> GapReport:
    """Load, bind, replay and measure; write `out/gap.json` and `out/plots/*.png` when `out` is given.

    Everything is validated (mapping vs files, episodes vs scene, parameter names) before the
    first simulation step. Episodes replay `chunk_episodes` at a time and each one's metrics are
    appended to `out/episodes.jsonl` as it finishes, so memory stays bounded on large datasets:
    only the first `plot_traces` replays are kept (for the error-over-time plots). With `resume`,
    episodes already in `out/episodes.jsonl` (same settings) are not replayed again.
    `progress` is called with (episodes done, episodes total).
    """
    settings = settings or ReplaySettings()
    if chunk_episodes < 1:
        raise ValueError(f"chunk_episodes: expected >= 1, got {chunk_episodes}")
    scene = scene if isinstance(scene, Scene) else load_scene(scene)
    mapping = mapping or scene_mapping(scene)
    episodes = load_episodes(recordings, mapping, select=select)
    params = dict(params or {})
    for name in params:  # fail on a wrong name now, not after simulating
        if is_signal_param(name):
            check_signal_param(name)
        else:
            check_values(scene.model, {name: params[name]})  # names and values
    record = {
        **dataclasses.asdict(settings),
        "recordings": str(recordings),
        "mapping": str(mapping),
        "episodes": select or "all",
        "params": params,
    }
    bind_all(scene, episodes, settings)  # every episode binds before anything is written or run
    ids = [ep.id for ep in episodes]
    if resume and len(set(ids)) != len(ids):
        raise WorkbenchError("resume: episode ids must be unique to know which ones are done")
    out = Path(out) if out is not None else None
    log = EpisodeLog(out / "episodes.jsonl", record, resume=resume) if out else None
    results = dict(log.done) if log else {}
    todo = [ep for ep in episodes if ep.id not in results]
    shown = []

    def chunk_progress(first: int, size: int) -> Progress | None:
        if progress is None:
            return None
        base = len(episodes) - len(todo) + first
        return lambda done, total: progress(base + (size * done) // max(total, 1), len(episodes))

    try:
        for first in range(0, len(todo), chunk_episodes):
            part = todo[first : first + chunk_episodes]
            traces = replay(
                scene, part, settings, params=params, progress=chunk_progress(first, len(part))
            )
            for trace in traces:
                entry = episode_entry(
                    trace,
                    horizons=settings.horizons,
                    contact_bodies=scene.binding.contact_bodies,
                )
                results[trace.episode.id] = entry
                if log is not None:  # one line per episode as it finishes
                    log.append(entry)
            shown.extend(traces[: max(0, plot_traces - len(shown))])
            del traces
    finally:
        if log is not None:
            log.close()
    entries = [results[i] for i in ids]
    report = report_from_entries(entries, scene=scene.name, mode=settings.mode, settings=record)
    if out is not None:
        report.save(out / "gap.json")
        write_plots(report, shown, out / "plots", episodes=plot_episodes)
    return report


def write_plots(report: GapReport, traces, folder: Path, *, episodes: int = 3) -> list[Path]:
    """Overlays for the first episodes, error-over-time per signal, histograms of headline metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name: str) -> None:
        path = folder / name
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

    signals = list(traces[0].predicted) if traces else []
    for tr in traces[:episodes]:
        for sig in signals:
            save(plots.overlay(tr, sig), f"overlay_{tr.episode.id}_{sig}.png")
    for sig in signals:
        save(plots.error_over_time(traces, sig), f"error_over_time_{sig}.png")
    for key in headline_keys(report)[:6]:
        save(
            plots.metric_histogram(report, key),
            f"hist_{key.replace('/', '_').replace('=', '')}.png",
        )
    return written


def headline_keys(report: GapReport) -> list[str]:
    """The aggregate keys worth a first look: RMSE/means, horizon errors, divergence, contact."""
    keep = (
        "/rmse",
        "/mean",
        "divergence_time_s",
        "divergence_horizon_s",
        "first_contact_time_error_s",
    )
    keys = []
    for k in report.aggregate:
        if k.startswith("h="):
            if k.endswith("/mae") or k.endswith("/rmse") and "error_" not in k:
                keys.append(k)
        elif k.endswith(keep) or ("_error_" in k and k.endswith(("/mae", "/final"))):
            keys.append(k)
    return keys


def format_summary(report: GapReport, *, limit: int = 60) -> str:
    """A fixed-width table of the headline aggregate metrics."""
    keys = headline_keys(report)
    width = max([len(k) for k in keys[:limit]] + [6])
    lines = [
        f"scene {report.scene}, mode {report.mode}, {len(report.episodes)} episodes",
        f"{'metric':<{width}}  {'median':>11} {'mean':>11} {'p90':>11} {'n':>5}",
    ]
    for k in keys[:limit]:
        v = report.aggregate[k]
        lines.append(
            f"{k:<{width}}  {v['median']:>11.5g} {v['mean']:>11.5g} {v['p90']:>11.5g} {v['n']:>5d}"
        )
    if len(keys) > limit:
        lines.append(f"... {len(keys) - limit} more in gap.json")
    diverged = sum(e["diverged_windows"] for e in report.episodes)
    if diverged:
        lines.append(
            f"WARNING: {diverged} simulated windows diverged (NaN/instability); see gap.json"
        )
    notes = sorted({e["alignment"] for e in report.episodes})
    lines += [f"timeline: {n}" for n in notes[:3]]
    return "\n".join(lines)
