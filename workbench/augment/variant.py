"""One source episode, many variants: build each variant's episode (object-centric transform,
initial-state offsets), replay them in batched rollouts with their physics values applied in
place, filter, and turn the accepted ones into dataset episodes with their Provenance.

Everything a variant is made of is in its Provenance (`params`: exact physics values by MuJoCo
name; `transform`: the spec digest, the initial-state offsets, the planar transform, the crop),
so `replay_provenance` rebuilds and replays it alone, without the spec or the sampler.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import mujoco
import numpy as np

from workbench.augment.config import AugmentConfig
from workbench.augment.noise import SensorNoise
from workbench.augment.transform import PlanarTransform, object_centric
from workbench.datasets.provenance import Provenance
from workbench.episode import Episode, Signal
from workbench.errors import BindingError, EpisodeError
from workbench.metrics.events import event_interval
from workbench.physics import values_applied
from workbench.replay.binding import BoundEpisode
from workbench.replay.forward import control_rows, full_state_rows, simulate_windows
from workbench.replay.prepare import prepare
from workbench.replay.rollout import BatchSimulator
from workbench.replay.settings import ReplaySettings
from workbench.replay.timeline import Alignment
from workbench.replay.trace import SimTrace
from workbench.replay.windows import Window
from workbench.scenes.driven import free_joint
from workbench.scenes.scene import Scene


@dataclasses.dataclass(frozen=True)
class Source:
    """A source episode ready for variants: cut to its segment, in the scene frame, aligned.

    Attributes:
      episode: the prepared episode (scene frame, on the replay timeline).
      alignment, bound: its alignment and binding.
      crop: (first, last) recorded time kept [s], or None (whole episode).
      t_start: start of the interaction segment [s] (the episode's start when none).
      pivot: the object's initial (x, y) in the scene frame [m] (None without an object).
      columns: body -> its 7 free-joint column indices in `qpos` (passive/predicate bodies).
    """

    episode: Episode
    alignment: Alignment
    bound: BoundEpisode
    crop: tuple[float, float] | None
    t_start: float
    pivot: tuple[float, float] | None
    columns: Mapping[str, tuple[int, ...]]


def _body_columns(model: mujoco.MjModel, episode: Episode, body: str) -> tuple[int, ...]:
    joint = free_joint(model, body)
    cols = list(episode.signals["qpos"].columns) if "qpos" in episode.signals else []
    want = [f"{joint}[{i}]" for i in range(7)]
    missing = [c for c in want if c not in cols]
    if missing:
        raise BindingError(
            f"episode {episode.id!r}: body {body!r}: expected its free-joint columns {want} in "
            f"qpos, got {cols}"
        )
    return tuple(cols.index(c) for c in want)


def prepare_source(
    scene: Scene,
    config: AugmentConfig,
    raw: Episode,
    settings: ReplaySettings,
    *,
    crop: tuple[float, float] | None = None,
    t_start: float | None = None,
) -> Source:
    """Cut `raw` to its interaction segment (widened by `blend` before it) when the scene crops,
    then bind and align it. `crop`/`t_start` (from a provenance) override the detection."""
    if crop is None and config.segment is not None:
        span = event_interval(raw, config.segment)
        if span is None or span[1] - span[0] < 2:
            raise EpisodeError(
                f"episode {raw.id!r}: augment segment: expected {config.segment.signal!r} to "
                f"move faster than {config.segment.speed:g} m/s somewhere"
            )
        t_seg = float(raw.times[span[0]])
        if t_start is None:
            t_start = t_seg
        if config.crop:
            first = int(np.searchsorted(raw.times, t_seg - config.blend, side="left"))
            crop = (float(raw.times[first]), float(raw.times[span[1] - 1]))
    if crop is not None:
        keep = np.flatnonzero((raw.times >= crop[0]) & (raw.times <= crop[1]))
        if keep.size < 2:
            raise EpisodeError(f"episode {raw.id!r}: crop {crop} keeps fewer than 2 samples")
        raw = raw.slice(int(keep[0]), int(keep[-1]) + 1)
    (episode,), (alignment,), (bound,) = prepare(scene, [raw], settings)
    bodies = set(scene.binding.passive_bodies) | {p.body for p in config.predicates}
    if config.object:
        bodies.add(config.object)
    columns = {b: _body_columns(scene.model, episode, b) for b in sorted(bodies)}
    pivot = None
    if config.object:
        first = episode.signals["qpos"].values[0, list(columns[config.object][:2])]
        pivot = (float(first[0]), float(first[1]))
    start = float(episode.times[0]) if t_start is None else float(t_start)
    return Source(episode, alignment, bound, crop, start, pivot, columns)


def variant_episode(
    source: Source,
    config: AugmentConfig,
    transform: PlanarTransform | None,
    initial_state: Mapping[str, float],
) -> Episode:
    """The episode one variant replays: the object-centric transform, then the initial-state
    offsets ('<signal>/<column>' -> added to the first sample)."""
    ep = source.episode
    if transform is not None:
        ep = object_centric(
            ep,
            transform,
            obj=config.object,
            obj_columns=source.columns[config.object],
            hand=config.hand,
            t_start=source.t_start,
            blend=config.blend,
        )
    if initial_state:
        first: dict[str, np.ndarray] = {}  # signal -> its first sample with the offsets added
        for key, offset in initial_state.items():
            name, _, column = key.partition("/")
            sig = ep.signals.get(name)
            if sig is None or column not in sig.columns:
                raise BindingError(f"initial_state {key!r}: episode {ep.id!r} has no such column")
            row = first.setdefault(name, sig.values[0].copy())
            row[sig.columns.index(column)] += offset
        signals = dict(ep.signals)
        for name, row in first.items():
            values = signals[name].values.copy()
            values[0] = row
            signals[name] = dataclasses.replace(signals[name], values=values)
        ep = dataclasses.replace(ep, signals=signals)
    return ep


def max_penetration(
    model: mujoco.MjModel, data: mujoco.MjData, qpos: np.ndarray, mocap: np.ndarray | None
) -> float:
    """Deepest penetration [m] (-min data.contact.dist, 0 without contacts) over (T, nq) states,
    mocap bodies at their (T, 7 nmocap) poses; kinematics + collision only."""
    deepest = 0.0
    n = model.nmocap
    for t in range(qpos.shape[0]):
        data.qpos[:] = qpos[t]
        if mocap is not None and n:
            data.mocap_pos[:] = mocap[t, : 3 * n].reshape(n, 3)
            data.mocap_quat[:] = mocap[t, 3 * n :].reshape(n, 4)
        mujoco.mj_kinematics(model, data)
        mujoco.mj_collision(model, data)
        if data.ncon:
            deepest = max(deepest, -float(data.contact.dist[: data.ncon].min()))
    return deepest


def reject_reason(
    trace: SimTrace, source: Source, config: AugmentConfig, penetration: float, *, limit: float
) -> str | None:
    """`diverged`, `nan`, `predicate:<name>`, `penetration` (deeper than `limit` [m]), or None
    for a valid variant."""
    if bool(np.any(trace.diverged)):
        return "diverged"
    if any(not np.isfinite(v).all() for v in trace.predicted.values()):
        return "nan"
    qpos_sim = trace.predicted["qpos"][0]
    for p in config.predicates:
        pose = qpos_sim[:, list(source.columns[p.body])]
        if not p.holds(p.value(pose, trace.episode.times)):
            return f"predicate:{p.name}"
    if penetration > limit:
        return "penetration"
    return None


PENETRATION_SENSOR = "workbench_penetration"
_CONTACT_DIST, _REDUCE_MINDIST = 8, 1  # contact sensor: data="dist", reduce="mindist"


def sensing_scene(scene: Scene) -> tuple[Scene, int]:
    """The scene compiled with one more sensor, a contact sensor giving the smallest
    `contact.dist` of all contacts (0 without contacts), and that sensor's address in
    sensordata. Existing sensors keep their addresses; the dynamics are unchanged."""
    spec = scene.spec()
    sensor = spec.add_sensor()
    sensor.name = PENETRATION_SENSOR
    sensor.type = mujoco.mjtSensor.mjSENS_CONTACT
    sensor.intprm = [_CONTACT_DIST, _REDUCE_MINDIST, 1]
    model = spec.compile()
    sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, PENETRATION_SENSOR)
    return dataclasses.replace(scene, model=model), int(model.sensor_adr[sid])


def output_episode(
    trace: SimTrace,
    source: Source,
    variant: int,
    metadata: Mapping,
    *,
    episode_id: str | None = None,
    noise: SensorNoise | None = None,
) -> Episode:
    """The variant as written: simulated `qpos`/`qvel`, passive bodies' `body_pose:` from the
    simulated state, driven paths as replayed (transformed), id `episode_id` (default
    `<source>/v<variant>`), with `noise` (sensor noise) added last."""
    ep = trace.episode
    T = ep.num_samples
    signals = dict(ep.signals)
    for name, values in trace.predicted.items():
        rec = ep.signals[name]
        signals[name] = Signal(values[0, :T], rec.columns, rec.unit, rec.frame)
    qpos = signals["qpos"].values
    for body, cols in source.columns.items():
        key = f"body_pose:{body}"
        if key in signals:
            signals[key] = dataclasses.replace(signals[key], values=qpos[:, list(cols)].copy())
    out = Episode(episode_id or f"{ep.id}/v{variant:06d}", ep.times, signals, dict(metadata))
    return out if noise is None else noise.applied(out)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One variant to replay: its index, physics values, transform, initial offsets and the
    sensor noise added to what is written (None: none)."""

    index: int
    values: Mapping[str, float | tuple[float, ...]]
    transform: PlanarTransform | None
    initial_state: Mapping[str, float]
    noise: SensorNoise | None = None


def flat_params(values: Mapping[str, float | tuple[float, ...]]) -> dict[str, float]:
    """Physics values with per-element tuples spelled by element (`name[i]`), exactly."""
    out: dict[str, float] = {}
    for name, v in values.items():
        if isinstance(v, tuple):
            for i, x in enumerate(v):
                out[f"{name}[{i}]"] = float(x)
        else:
            out[name] = float(v)
    return out


def provenance(
    source_id: str, v: Variant, seed: int | None, extra: Mapping[str, Any]
) -> Provenance:
    transform = {
        **dict(extra),
        "initial_state": dict(v.initial_state),
        "object_centric": v.transform.to_dict() if v.transform else None,
    }
    if v.noise is not None:
        transform["sensor_noise"] = v.noise.to_dict()
    return Provenance(source_id, v.index, seed, transform, flat_params(v.values))


Apply = Callable[[mujoco.MjModel, Variant], AbstractContextManager]


def checked_values(model: mujoco.MjModel, variant: Variant) -> AbstractContextManager:
    """The variant's physics values applied to `model` in place, every value checked
    (`workbench.physics.values_applied`), restored exactly when the block ends."""
    return values_applied(model, variant.values)


def simulate(
    scene: Scene,
    source: Source,
    config: AugmentConfig,
    variants: Sequence[Variant],
    settings: ReplaySettings,
    *,
    models: Sequence[mujoco.MjModel],
    limit: float,
    sensor: int,
    apply: Apply = checked_values,
) -> Iterator[tuple[Variant, SimTrace, str | None]]:
    """Replay `variants` open loop, len(models) per batched rollout call, each in its own model
    copy with its values applied in place by `apply(model, variant)` (a context manager that
    restores them; e.g. `Randomizer.applied` for samples it drew, on its `copies`), and yield
    (variant, trace, reject reason or None) in order.

    `scene` must be a `sensing_scene` (its contact sensor at sensordata[`sensor`]): the
    penetration of a variant is the deepest -dist it reports over the recorded samples (each
    sample's state, as the step leaving it sees it), computed inside the rollout.
    """
    chunk = len(models)
    model = scene.model
    with BatchSimulator(model, threads=settings.threads) as sim:
        for first in range(0, len(variants), chunk):
            group = list(variants[first : first + chunk])
            episodes = [
                variant_episode(source, config, v.transform, v.initial_state) for v in group
            ]
            states = [full_state_rows(model, ep, source.bound) for ep in episodes]
            controls = [control_rows(model, ep, source.bound) for ep in episodes]
            windows = [Window(i, 0, ep.num_samples) for i, ep in enumerate(episodes)]
            with contextlib.ExitStack() as applied:
                for m, v in zip(models, group, strict=False):
                    applied.enter_context(apply(m, v))
                results = simulate_windows(
                    sim,
                    windows,
                    states,
                    controls,
                    [source.alignment] * len(group),
                    budget=settings.budget,
                    models=list(models[: len(group)]),
                )
            b = source.bound
            for v, ep, r in zip(group, episodes, results, strict=True):
                predicted = {"qpos": r.qpos[None, :, b.qpos_index]}
                if b.qvel_index is not None:
                    predicted["qvel"] = r.qvel[None, :, b.qvel_index]
                trace = SimTrace(
                    ep,
                    settings.mode,
                    np.zeros(1, dtype=int),
                    predicted,
                    source.alignment,
                    b,
                    np.array([r.diverged]),
                )
                dist = r.sensors[:, sensor]
                dist = dist[np.isfinite(dist)]
                depth = max(0.0, -float(dist.min())) if dist.size else 0.0
                yield v, trace, reject_reason(trace, source, config, depth, limit=limit)


def model_copies(scene: Scene, n: int) -> list[mujoco.MjModel]:
    return [copy.copy(scene.model) for _ in range(n)]


def replay_provenance(
    scene: Scene,
    raw: Episode,
    prov: Provenance,
    config: AugmentConfig,
    *,
    settings: ReplaySettings | None = None,
    metadata: Mapping | None = None,
) -> tuple[Episode, str | None]:
    """Rebuild one variant from its Provenance alone (crop, interaction start, transform,
    initial offsets, exact physics values, sensor noise) and replay it by itself.

    Returns (the episode as the dataset holds it, reject reason or None)."""
    settings = settings or ReplaySettings("open_loop", threads=1)
    t = dict(prov.transform)
    crop = tuple(t["crop"]) if t.get("crop") else None
    source = prepare_source(scene, config, raw, settings, crop=crop, t_start=t.get("t_start"))
    oc = t.get("object_centric")
    noise = t.get("sensor_noise")
    v = Variant(
        prov.variant or 0,
        dict(prov.params),
        PlanarTransform.from_dict(oc) if oc else None,
        dict(t.get("initial_state") or {}),
        SensorNoise.from_dict(noise) if noise else None,
    )
    limit = float(t.get("max_penetration", config.max_penetration))
    sensing, sensor = sensing_scene(scene)
    ((_, trace, reason),) = simulate(
        sensing,
        source,
        config,
        [v],
        settings,
        models=model_copies(sensing, 1),
        limit=limit,
        sensor=sensor,
    )
    episode = output_episode(trace, source, v.index, metadata or raw.metadata, noise=v.noise)
    return episode, reason
