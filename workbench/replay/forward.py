"""Forward replays as batched rollouts: `open_loop`, `windows` and `tracking`.

Every replay is a list of windows (episode, start sample, length); windows of all episodes are
sorted by length, packed into batches and run through one `mujoco.rollout` call per batch
(`workbench.replay.windows`, shared with calibration).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import SettingsError
from workbench.replay.binding import BoundEpisode
from workbench.replay.divergence import Divergence, warning_reason
from workbench.replay.drivers import derived_velocities, mocap_rows
from workbench.replay.observe import observe
from workbench.replay.rollout import BatchSimulator, state_slices
from workbench.replay.settings import ReplaySettings
from workbench.replay.timeline import Alignment
from workbench.replay.trace import SimTrace
from workbench.replay.windows import Window, run_batch, window_batch, window_list

Progress = Callable[[int, int], None]
SensorSignal = Callable[[np.ndarray, BoundEpisode], np.ndarray]


@dataclasses.dataclass
class WindowResult:
    """One simulated window: (L, nq) qpos, (L, nv) qvel, (L, nsensordata) sensors (sample j =
    value during the step leaving sample j), NaN from its first unstable sample on; `time_s`:
    seconds after the window start at which it diverged (NaN if it did not), and why."""

    qpos: np.ndarray
    qvel: np.ndarray
    sensors: np.ndarray
    diverged: bool
    time_s: float = float("nan")
    reason: str = ""


def full_state_rows(
    model: mujoco.MjModel, episode: Episode, bound: BoundEpisode
) -> tuple[np.ndarray, np.ndarray]:
    """(T, nq) qpos and (T, nv) qvel: recorded columns over the model's defaults (qpos0, zero);
    recorded quaternions of free/ball joints renormalised (binding refused far-off ones)."""
    T = episode.num_samples
    qpos = np.tile(model.qpos0, (T, 1))
    qpos[:, bound.qpos_index] = episode.signals["qpos"].values
    for cols in bound.qpos_quaternions:
        addr = bound.qpos_index[list(cols)]
        norm = np.linalg.norm(qpos[:, addr], axis=1, keepdims=True)
        qpos[:, addr] /= np.where(norm > 0, norm, 1.0)
    qvel = np.zeros((T, model.nv))
    if bound.qvel_index is not None:
        qvel[:, bound.qvel_index] = episode.signals["qvel"].values
    elif bound.derive_qvel and T > 1:
        dt = float(np.median(np.diff(episode.times)))
        qvel = derived_velocities(model, qpos, dt)
    return qpos, qvel


def control_rows(model: mujoco.MjModel, episode: Episode, bound: BoundEpisode) -> np.ndarray | None:
    """(T, nu) recorded commands in actuator order (zero for undriven actuators; the recorded
    position for the servo of a driven joint), or None; with mocap bodies in the model,
    (T, nu + 7 nmocap) rows that also hold their poses (`workbench.replay.drivers`)."""
    if model.nu == 0 and model.nmocap == 0:
        return None
    ctrl = np.zeros((episode.num_samples, model.nu))
    if bound.ctrl_index is not None:
        ctrl[:, bound.ctrl_index] = episode.signals["ctrl"].values
    for actuator, column in bound.driven:
        ctrl[:, actuator] = episode.signals["qpos"].values[:, column]
    if model.nmocap:
        ctrl = np.concatenate([ctrl, mocap_rows(model, episode, bound.mocap)], axis=1)
    return ctrl


def _batches(windows: list[Window], nstate: int, substeps: int, budget: int) -> list[list[int]]:
    order = sorted(range(len(windows)), key=lambda i: windows[i].length)
    batches, current = [], []
    for i in order:
        steps = (windows[i].length - 1) * substeps
        # a batch pads to its longest window: cap the padding at 10 % of the shortest one
        too_long = current and windows[i].length > 1.1 * windows[current[0]].length + 1
        if current and (too_long or (len(current) + 1) * steps * nstate > budget):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def simulate_windows(
    sim: BatchSimulator,
    windows: list[Window],
    states: list[tuple[np.ndarray, np.ndarray]],
    controls: list[np.ndarray | None],
    alignment: list[Alignment],
    *,
    budget: int = 20_000_000,
    interpolate: bool = False,
    models: Sequence[mujoco.MjModel] | None = None,
    diagnose: Sequence[bool] | None = None,
) -> list[WindowResult]:
    """Roll out every window from its recorded state under its recorded commands.

    Args:
      sim: batch simulator of the replay model.
      windows: what to simulate; all windows of one call must share `substeps`.
      states: per episode, (T, nq) qpos and (T, nv) qvel rows (see `full_state_rows`).
      controls: per episode, (T, nu) commands or None.
      alignment: per episode; its `substeps` simulation steps per recorded sample.
      budget: max floats of state output per rollout call (bounds memory).
      interpolate: commands vary linearly between samples (servo references) instead of being
        held (recorded commands, zero-order hold).
      models: optional per-window model (same sizes as `sim.model`, e.g. physics variants);
        default: every window runs in `sim.model`.
      diagnose: per window, whether to name the MuJoCo warning when it diverges.
    """
    if models is not None and len(models) != len(windows):
        raise SettingsError(f"models: expected one per window ({len(windows)}), got {len(models)}")
    model = sim.model
    substeps = {alignment[w.episode].substeps for w in windows}
    if len(substeps) > 1:
        raise SettingsError(
            f"simulate_windows: expected one substeps value per call, got {sorted(substeps)}"
        )
    n = substeps.pop() if substeps else 1
    nstate = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    qs, vs = state_slices(model)
    results: list[WindowResult | None] = [None] * len(windows)
    for batch in _batches(windows, nstate, n, budget):
        inputs = window_batch(
            model, [windows[i] for i in batch], states, controls, n, interpolate=interpolate
        )
        out = run_batch(
            sim,
            inputs,
            models=None if models is None else [models[i] for i in batch],
            diagnose=None if diagnose is None else [diagnose[i] for i in batch],
        )
        for b, i in enumerate(batch):
            L = windows[i].length
            results[i] = WindowResult(
                out.samples[b, :L, qs],
                out.samples[b, :L, vs],
                out.sensors[b, :L],
                bool(out.diverged[b]),
                float(out.time_s[b]),
                out.reason[b],
            )
    return results  # type: ignore[return-value]


def forward_traces(
    model: mujoco.MjModel,
    episodes: Sequence[Episode],
    alignments: Sequence[Alignment],
    bounds: Sequence[BoundEpisode],
    settings: ReplaySettings,
    controls: Sequence[np.ndarray | None],
    progress: Progress | None = None,
    *,
    sensor_signal: SensorSignal | None = None,
    episode_models: Sequence[mujoco.MjModel] | None = None,
) -> list[SimTrace]:
    """Forward-simulate every window of every episode into one SimTrace per episode.

    `controls`: per episode (T, nu) commands of `model`; `sensor_signal` maps a window's
    sensordata to its simulated `qfrc_actuator` (tracking), with commands interpolated between
    samples; `episode_models` optionally gives each episode its own (equally sized) model, e.g.
    one physics variant per episode copy. The first diverged window of each episode is re-run to
    name its MuJoCo warning.
    """
    states = [full_state_rows(model, ep, b) for ep, b in zip(episodes, bounds, strict=True)]
    windows = window_list(
        [ep.num_samples for ep in episodes],
        [al.dt for al in alignments],
        mode=settings.mode,
        horizon=max(settings.horizons),
        stride=settings.window_stride,
    )
    results: list[WindowResult | None] = [None] * len(windows)
    with BatchSimulator(model, threads=settings.threads) as sim:
        by_substeps: dict[int, list[int]] = {}
        for k, w in enumerate(windows):
            by_substeps.setdefault(alignments[w.episode].substeps, []).append(k)
        done = 0
        for keys in by_substeps.values():
            # chunks of windows keep progress visible and memory bounded
            for c in range(0, len(keys), 512):
                chunk = keys[c : c + 512]
                out = simulate_windows(
                    sim,
                    [windows[k] for k in chunk],
                    states,
                    list(controls),
                    list(alignments),
                    budget=settings.budget,
                    interpolate=sensor_signal is not None,
                    models=None
                    if episode_models is None
                    else [episode_models[windows[k].episode] for k in chunk],
                )
                for k, r in zip(chunk, out, strict=True):
                    results[k] = r
                done += len(chunk)
                if progress:
                    progress(done, len(windows))
        by_episode: list[list[int]] = [[] for _ in episodes]
        for k, w in enumerate(windows):
            by_episode[w.episode].append(k)
        traces = []
        for i, (ep, al, b) in enumerate(zip(episodes, alignments, bounds, strict=True)):
            mine = by_episode[i]
            predicted = {}
            if mine:
                if not b.rest_state:  # a rest state was not recorded: nothing to compare
                    predicted["qpos"] = np.stack([results[k].qpos[:, b.qpos_index] for k in mine])
                if b.qvel_index is not None:
                    predicted["qvel"] = np.stack([results[k].qvel[:, b.qvel_index] for k in mine])
                if sensor_signal is not None and b.torque_index is not None:
                    predicted["qfrc_actuator"] = np.stack(
                        [sensor_signal(results[k].sensors, b) for k in mine]
                    )
            if mine and b.observed:
                predicted.update(
                    _observations(
                        model,
                        b,
                        [windows[k] for k in mine],
                        [results[k] for k in mine],
                        controls[i],
                    )
                )
            diverged = np.array([results[k].diverged for k in mine], dtype=bool)
            divergence = None
            if diverged.any():
                k = mine[int(np.argmax(diverged))]
                divergence = _first_divergence(
                    model,
                    windows[k],
                    results[k],
                    states,
                    controls,
                    al,
                    interpolate=sensor_signal is not None,
                    window_model=None if episode_models is None else episode_models[i],
                )
            starts = np.array([windows[k].start for k in mine], dtype=int)
            traces.append(
                SimTrace(ep, settings.mode, starts, predicted, al, b, diverged, divergence)
            )
    return traces


def _observations(model, b: BoundEpisode, windows, results, controls) -> dict[str, np.ndarray]:
    """signal -> (W, L, k) tracked body poses and marker positions of the windows (forward
    kinematics of each simulated sample with the mocap poses that drove it)."""
    per: dict[str, list[np.ndarray]] = {}
    for w, r in zip(windows, results, strict=True):
        mocap = None
        if model.nmocap and controls is not None:
            mocap = controls[w.start : w.start + w.length, model.nu :]
        for signal, values in observe(model, b.observed, r.qpos, mocap).items():
            per.setdefault(signal, []).append(values)
    return {k: np.stack(v) for k, v in per.items()}


def _first_divergence(
    model: mujoco.MjModel,
    window: Window,
    result: WindowResult,
    states: Sequence[tuple[np.ndarray, np.ndarray]],
    controls: Sequence[np.ndarray | None],
    al: Alignment,
    *,
    interpolate: bool,
    window_model: mujoco.MjModel | None,
) -> Divergence:
    """The Divergence of an episode's first diverged window, its MuJoCo warning named."""
    reason = result.reason
    if reason == "mujoco warning":
        inputs = window_batch(
            model, [window], states, controls, al.substeps, interpolate=interpolate
        )
        m = window_model if window_model is not None else model
        step = int(round(result.time_s / m.opt.timestep))
        ctrl = None if inputs.ctrl is None else inputs.ctrl[0]
        reason = warning_reason(m, inputs.init[0], ctrl, step)
    start = window.start * al.dt
    return Divergence(start + result.time_s, reason, start)
