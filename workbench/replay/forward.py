"""Forward replays as batched rollouts: `open_loop`, `windows` and `tracking`.

Every replay is a list of windows (episode, start sample, length); windows of all episodes are
sorted by length, packed into batches and run through one `mujoco.rollout` call per batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.replay.binding import BoundEpisode
from workbench.replay.rollout import (
    BatchSimulator,
    history_length,
    initial_states,
    past_controls,
    state_slices,
)
from workbench.replay.timeline import Alignment


@dataclasses.dataclass(frozen=True)
class Window:
    """One forward simulation: `length` samples of `episode` from sample `start`."""

    episode: int
    start: int
    length: int


@dataclasses.dataclass
class WindowResult:
    qpos: np.ndarray  # (L, nq)
    qvel: np.ndarray  # (L, nv)
    sensors: np.ndarray  # (L, nsensordata), sample j = value during the step leaving sample j
    diverged: bool


def full_state_rows(
    model: mujoco.MjModel, episode: Episode, bound: BoundEpisode
) -> tuple[np.ndarray, np.ndarray]:
    """(T, nq) qpos and (T, nv) qvel: recorded columns over the model's defaults (qpos0, zero)."""
    T = episode.num_samples
    qpos = np.tile(model.qpos0, (T, 1))
    qpos[:, bound.qpos_index] = episode.signals["qpos"].values
    qvel = np.zeros((T, model.nv))
    if bound.qvel_index is not None:
        qvel[:, bound.qvel_index] = episode.signals["qvel"].values
    return qpos, qvel


def control_rows(model: mujoco.MjModel, episode: Episode, bound: BoundEpisode) -> np.ndarray | None:
    """(T, nu) recorded commands in actuator order (zero for undriven actuators), or None."""
    if model.nu == 0:
        return None
    ctrl = np.zeros((episode.num_samples, model.nu))
    if bound.ctrl_index is not None:
        ctrl[:, bound.ctrl_index] = episode.signals["ctrl"].values
    return ctrl


def _substep_controls(rows: np.ndarray, n: int, interpolate: bool) -> np.ndarray:
    """((L-1)*n, nu) per-step commands from (L, nu) per-sample ones."""
    if not interpolate or n == 1:
        return np.repeat(rows[:-1], n, axis=0)
    frac = (np.arange(n) / n)[None, :, None]
    steps = rows[:-1, None, :] * (1 - frac) + rows[1:, None, :] * frac
    return steps.reshape(-1, rows.shape[1])


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
) -> list[WindowResult]:
    """Roll out every window from its recorded state under its (zero-order-held) commands.

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
    """
    if models is not None and len(models) != len(windows):
        raise ValueError(f"models: expected one per window ({len(windows)}), got {len(models)}")
    model = sim.model
    substeps = {alignment[w.episode].substeps for w in windows}
    if len(substeps) > 1:
        raise ValueError(
            f"simulate_windows: expected one substeps value per call, got {sorted(substeps)}"
        )
    n = substeps.pop() if substeps else 1
    nstate = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    qs, vs = state_slices(model)
    results: list[WindowResult | None] = [None] * len(windows)
    for batch in _batches(windows, nstate, n, budget):
        length = max(windows[i].length for i in batch)
        nstep = (length - 1) * n
        qpos0 = np.stack([states[windows[i].episode][0][windows[i].start] for i in batch])
        qvel0 = np.stack([states[windows[i].episode][1][windows[i].start] for i in batch])
        H = history_length(model)
        past = None
        if H and model.nu:
            past = np.stack(
                [
                    past_controls(controls[windows[i].episode], windows[i].start, n, H)
                    if controls[windows[i].episode] is not None
                    else np.zeros((H, model.nu))
                    for i in batch
                ]
            )
        init = initial_states(model, qpos0, qvel0, past)
        ctrl = None
        if model.nu:
            ctrl = np.zeros((len(batch), nstep, model.nu))
            for b, i in enumerate(batch):
                w, rows = windows[i], controls[windows[i].episode]
                if rows is not None:
                    ctrl[b, : (w.length - 1) * n] = _substep_controls(
                        rows[w.start : w.start + w.length], n, interpolate
                    )
        if nstep == 0:
            out_states, out_sensors = (
                np.empty((len(batch), 0, nstate)),
                np.empty((len(batch), 0, model.nsensordata)),
            )
        else:
            batch_models = [models[i] for i in batch] if models is not None else None
            out_states, out_sensors = sim.run(init, ctrl, nstep, models=batch_models)
        for b, i in enumerate(batch):
            L = windows[i].length
            samples = np.concatenate(
                [init[b : b + 1], out_states[b, n - 1 : (L - 1) * n : n]], axis=0
            )
            sensors = np.full((L, model.nsensordata), np.nan)
            sensors[: L - 1] = out_sensors[b, 0 : (L - 1) * n : n]
            bad = ~np.isfinite(samples).all(axis=1)
            # mj_step resets the data (time back to 0) on instability: catch it via the clock
            expected = samples[0, 0] + np.arange(L) * n * model.opt.timestep
            bad |= np.abs(samples[:, 0] - expected) > 1e-6 + 1e-9 * np.abs(expected)
            diverged = bool(bad.any())
            if diverged:
                first = int(np.argmax(bad))
                samples[first:] = np.nan
                sensors[max(first - 1, 0) :] = np.nan
            results[i] = WindowResult(samples[:, qs], samples[:, vs], sensors, diverged)
    return results  # type: ignore[return-value]
