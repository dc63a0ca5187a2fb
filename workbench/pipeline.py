"""The gap job end to end: recordings + mapping + scene -> replay -> GapReport, JSON and plots."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from workbench import plots, schema
from workbench.episode import Episode
from workbench.episode_log import DIGEST_KEY, EpisodeLog, episode_digest, model_digest
from workbench.errors import MappingError, SettingsError
from workbench.io import load_episodes
from workbench.metrics.contact import contact_onset_errors
from workbench.metrics.events import EventWindow, check_event, event_slices
from workbench.metrics.gap import GapReport, episode_entry, report_from_entries
from workbench.metrics.table import table_csv
from workbench.metrics.thresholds import check_thresholds
from workbench.output import atomic_write_text, check_output_folder, staging_folder, swap_in
from workbench.physics import check_values, values_applied
from workbench.physics.signal_params import apply_signal_params, check_signal_param, split_params
from workbench.replay import ReplaySettings, SimTrace, replay
from workbench.replay.run import bind_all
from workbench.scenes import Scene, load_scene
from workbench.scenes.driven import free_joint

Progress = Callable[[int, int], None]


def scene_mapping(scene: Scene) -> Path:
    """The mapping file a scene names for its dataset (`dataset_mapping` in scene.toml)."""
    rel = scene.metadata.get("dataset_mapping")
    if not rel or scene.folder is None:
        raise MappingError(f"scene {scene.name!r} names no dataset_mapping; pass --mapping")
    return (scene.folder / rel).resolve()


def check_params(
    scene: Scene, episodes: Sequence[Episode], params: Mapping[str, float] | None
) -> dict[str, float]:
    """Parameter names and values checked against the model and the episodes, before any run.

    Physics values are checked against the model's fields (nothing is written); measurement
    parameters (`delay:`, `offset:`) by applying them to every episode.
    """
    params = dict(params or {})
    physics, signal = split_params(params)
    check_values(scene.model, physics)  # names and values, nothing written
    for name in signal:
        check_signal_param(name)
    for ep in episodes:  # signal names, columns and values against every episode
        apply_signal_params(ep, signal)
    return params


def run_record(
    scene: Scene,
    settings: ReplaySettings,
    *,
    recordings,
    mapping,
    select: str | None,
    params: Mapping[str, float],
) -> dict:
    """What a run's results depend on besides the recordings' contents (stored in its log)."""
    return {
        **dataclasses.asdict(settings),
        "recordings": str(recordings),
        "mapping": str(mapping),
        "episodes": select or "all",
        "params": dict(params),
        "scene": scene.name,
        "model_sha256": model_digest(scene.model),
    }


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
    plot_traces: int = 200,
    chunk_episodes: int = 32,
    chunk_samples: int = 20_000,
    resume: bool = False,
    thresholds: Mapping[str, float] | None = None,
    event: EventWindow | None = None,
    score: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> GapReport:
    """Load, bind, replay and measure; write `out/gap.json`, `out/metrics.csv` (per episode and
    joint), `out/episodes.jsonl` and `out/plots/*.png` when `out` is given. `thresholds`
    (divergence thresholds by signal, see `workbench.metrics.thresholds`) override the scene's.

    Every input (output folder, scene, mapping vs files, episodes vs scene, parameter names and
    values, settings) is validated before anything is written or simulated, and a refused or
    failed run leaves an earlier run's files in `out` untouched. Episodes replay in chunks (at
    most `chunk_episodes` episodes or about `chunk_samples` samples) and each chunk's metrics are
    appended to `out/episodes.jsonl.partial` as it finishes, so memory stays bounded; the
    error-over-time plots use the first `plot_traces` episodes of the selection. With `resume`,
    results already written for the same settings and unchanged recordings (content digests) are
    kept and only the rest replay. `progress` is called with (episodes done, episodes total).
    `event` (`workbench.metrics.events.EventWindow`, e.g. `parse_event("speed:cube > 0.01")`)
    cuts each episode to where its predicate holds (with margins) before replaying, so only
    that interval is simulated and scored; `score` names the signals (`qpos`,
    `body_pose:<body>`, `marker:<name>`) or groups (`qpos/<joint>`) to score (default: all).
    """
    settings = settings or ReplaySettings()
    explicit = check_thresholds(thresholds, where="--threshold")
    for option, value in (
        ("chunk_episodes", chunk_episodes),
        ("chunk_samples", chunk_samples),
        ("plot_traces", plot_traces),
    ):
        schema.number(value, option, SettingsError, lower=1, integer=True)
    schema.number(plot_episodes, "plot_episodes", SettingsError, lower=0, integer=True)
    out = check_output_folder(out) if out is not None else None
    scene = scene if isinstance(scene, Scene) else load_scene(scene)
    mapping = mapping or scene_mapping(scene)
    episodes = load_episodes(recordings, mapping, select=select)
    if event is not None:
        check_event(event, scene.model, episodes)
        episodes = event_slices(episodes, event)
    params = check_params(scene, episodes, params)
    thresholds = {**scene.binding.thresholds, **explicit}
    bounds = bind_all(scene, episodes, settings)  # every episode binds before anything is run
    score = check_score(score, scene, bounds, settings)
    ids = [ep.id for ep in episodes]
    if len(set(ids)) != len(ids):
        raise MappingError("episode ids: expected unique ids to know which results are whose")
    record = run_record(
        scene, settings, recordings=recordings, mapping=mapping, select=select, params=params
    )
    record["thresholds"] = thresholds
    record["event"] = None if event is None else dataclasses.asdict(event)
    record["score"] = None if score is None else list(score)
    digests = {ep.id: episode_digest(ep) for ep in episodes}
    log = (
        EpisodeLog(out / "episodes.jsonl", record, digests=digests, resume=resume) if out else None
    )
    results = {k: _without_digest(v) for k, v in log.done.items()} if log else {}
    todo = [ep for ep in episodes if ep.id not in results]
    plotted = set(ids[:plot_traces])
    kept: dict[str, SimTrace] = {}

    def chunk_progress(first: int, size: int) -> Progress | None:
        if progress is None:
            return None
        base = len(episodes) - len(todo) + first
        return lambda done, total: progress(base + (size * done) // max(total, 1), len(episodes))

    try:
        first = 0
        for part in _chunks(todo, chunk_episodes, chunk_samples):
            traces = replay(
                scene, part, settings, params=params, progress=chunk_progress(first, len(part))
            )
            first += len(part)
            for trace in traces:
                entry = _entry(trace, scene, settings, thresholds, score, params)
                results[trace.episode.id] = entry
                if log is not None:  # one line per episode, flushed once its chunk finishes
                    log.append(entry, digests[trace.episode.id])
                if trace.episode.id in plotted and not entry.get("diverged"):
                    kept[trace.episode.id] = trace
            del traces
        if out is not None:  # plots show the same episodes as a fresh run would
            missing = [
                ep
                for ep in episodes
                if ep.id in plotted and ep.id not in kept and not results[ep.id].get("diverged")
            ]
            if missing:
                kept.update(
                    (t.episode.id, t) for t in replay(scene, missing, settings, params=params)
                )
    except BaseException:
        if log is not None:
            log.close()
        raise
    report = report_from_entries(
        [results[i] for i in ids],
        scene=scene.name,
        mode=settings.mode,
        settings=record,
        thresholds=thresholds,
    )
    if out is not None:
        shown = [kept[i] for i in ids if i in kept]
        staged = staging_folder(out / "plots")
        try:
            write_plots(report, shown, staged, episodes=plot_episodes)
            atomic_write_text(out / "gap.json", report.to_json())
            atomic_write_text(out / "metrics.csv", table_csv(report.episodes))
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            log.close()
            raise
        swap_in(staged, out / "plots")
        log.finish()
    return report


def _entry(
    trace: SimTrace, scene: Scene, settings: ReplaySettings, thresholds, score, params
) -> dict:
    entry = episode_entry(
        trace,
        horizons=settings.horizons,
        thresholds=thresholds,
        contact_bodies=scene.binding.contact_bodies,
        score=score,
    )
    b = scene.binding
    if b.driven_bodies and b.passive_bodies and not entry["diverged"]:
        physics, _ = split_params(dict(params))
        with values_applied(scene.model, physics):  # geometry such as a tool point
            entry["metrics"].update(
                contact_onset_errors(scene.model, trace, b.driven_bodies, b.passive_bodies)
            )
    return entry


def scoreable(scene: Scene, bounds, settings: ReplaySettings) -> list[str]:
    """Signals and groups a replay of these bound episodes can score (see `check_score`)."""
    names: list[str] = []
    for b in bounds:
        for signal, groups in b.groups.items():
            if signal == "qfrc_actuator" and settings.mode not in ("tracking", "inverse"):
                continue
            if signal in ("qpos", "qvel") and settings.mode == "inverse":
                continue
            names.append(signal)
            names += [f"{signal}/{g.name}" for g in groups if g.name]
    return list(dict.fromkeys(names))


def check_score(
    score: Sequence[str] | None, scene: Scene, bounds, settings: ReplaySettings
) -> list[str] | None:
    """The `--score` selection checked against what the replay simulates: `body_pose:<body>`
    of a passive (free) body means its joint state (`qpos/<joint>`). SettingsError lists the
    valid names."""
    if score is None:
        return None
    items = schema.string_list(list(score), "--score", SettingsError, unique=True)
    valid = scoreable(scene, bounds, settings)
    out = []
    for item in items:
        if item.startswith("body_pose:") and item[10:] in scene.binding.passive_bodies:
            item = f"qpos/{free_joint(scene.model, item[10:])}"
        if item not in valid:
            raise SettingsError(
                f"--score: {item!r} is not simulated by this {settings.mode} replay; expected "
                f"names from {valid}"
            )
        out.append(item)
    return out


def _without_digest(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != DIGEST_KEY}


def _chunks(episodes: Sequence[Episode], most: int, samples: int) -> Iterator[list[Episode]]:
    """Consecutive groups of at most `most` episodes and about `samples` samples."""
    part: list[Episode] = []
    size = 0
    for ep in episodes:
        if part and (len(part) >= most or size + ep.num_samples > samples):
            yield part
            part, size = [], 0
        part.append(ep)
        size += ep.num_samples
    if part:
        yield part


def write_plots(report: GapReport, traces, folder: Path, *, episodes: int = 3) -> list[Path]:
    """Overlays for the first episodes, error-over-time per signal, histograms of headline metrics."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name: str) -> None:
        path = folder / name
        fig.savefig(path, dpi=90)
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
        "onset_error_s",
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
    lines += report.divergence_lines()
    notes = sorted({e["alignment"] for e in report.episodes})
    lines += [f"timeline: {n}" for n in notes[:3]]
    return "\n".join(lines)
