"""Window assembly shared by replay and calibration: which windows, their initial states (with
the command history of delayed actuators), their per-step commands, one rollout, and which
windows diverged.

`workbench.replay.forward` (every forward replay mode) and `workbench.calibrate.objective`
(the `windows` objective) both go through `window_list`, `window_batch` and `run_batch`, so a
calibration candidate's predictions are the replay's windows under the same values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import mujoco
import numpy as np

from workbench.errors import SettingsError
from workbench.replay.divergence import failed_steps, state_reason, warning_reason
from workbench.replay.drivers import mocap_defaults, substep_mocap
from workbench.replay.rollout import (
    BatchSimulator,
    history_length,
    initial_states,
    past_controls,
)


@dataclasses.dataclass(frozen=True)
class Window:
    """One forward simulation: `length` samples of episode `episode` from sample `start`."""

    episode: int
    start: int
    length: int


def window_list(
    lengths: Sequence[int], dts: Sequence[float], *, mode: str, horizon: float, stride: float
) -> list[Window]:
    """Windows of every episode, in episode then start order.

    `lengths`: samples per episode; `dts`: each one's replay sample period [s]. Mode `windows`:
    windows of `horizon` seconds (+1 sample) every `stride` seconds that fit in the episode;
    other modes: one window spanning each episode.
    """
    out = []
    for i, (T, dt) in enumerate(zip(lengths, dts, strict=True)):
        if mode != "windows":
            out.append(Window(i, 0, int(T)))
            continue
        length = int(round(horizon / dt)) + 1
        step = max(1, int(round(stride / dt)))
        out += [Window(i, s, length) for s in range(0, int(T) - length + 1, step)]
    return out


def substep_controls(rows: np.ndarray, n: int, interpolate: bool) -> np.ndarray:
    """((L-1)*n, nu) per-step commands from (L, nu) per-sample ones: held (zero-order) or, with
    `interpolate`, linear between samples (servo references)."""
    if not interpolate or n == 1:
        return np.repeat(rows[:-1], n, axis=0)
    frac = (np.arange(n) / n)[None, :, None]
    steps = rows[:-1, None, :] * (1 - frac) + rows[1:, None, :] * frac
    return steps.reshape(-1, rows.shape[1])


def substep_rows(model: mujoco.MjModel, rows: np.ndarray, n: int, interpolate: bool) -> np.ndarray:
    """Per-step control rows from (L, width) per-sample ones: the nu commands as
    `substep_controls`, mocap poses (columns past nu) always interpolated (positions linearly,
    quaternions by slerp)."""
    ctrl = substep_controls(rows[:, : model.nu], n, interpolate)
    if rows.shape[1] == model.nu:
        return ctrl
    return np.concatenate([ctrl, substep_mocap(rows[:, model.nu :], n, model.nmocap)], axis=1)


@dataclasses.dataclass(frozen=True)
class WindowBatch:
    """Inputs of one rollout call over windows that share `substeps`.

    Attributes:
      windows: (B,) the windows.
      init: (B, nstate) full-physics initial states (recorded state, command history).
      ctrl: (B, nstep, nu) per-step commands (zero past a window's end), or None (nu = 0).
      substeps: simulation steps per recorded sample.
      nstep: steps of the longest window, (max length - 1) * substeps.
    """

    windows: tuple[Window, ...]
    init: np.ndarray
    ctrl: np.ndarray | None
    substeps: int
    nstep: int

    def tiled(self, copies: int) -> WindowBatch:
        """The same windows `copies` times over (e.g. once per calibration candidate)."""
        return WindowBatch(
            self.windows * copies,
            np.tile(self.init, (copies, 1)),
            None if self.ctrl is None else np.tile(self.ctrl, (copies, 1, 1)),
            self.substeps,
            self.nstep,
        )

    @staticmethod
    def concatenate(batches: Sequence[WindowBatch]) -> WindowBatch:
        """Batches of equal `substeps` and `nstep` as one (e.g. one per corrected recording)."""
        first = batches[0]
        return WindowBatch(
            tuple(w for b in batches for w in b.windows),
            np.concatenate([b.init for b in batches]),
            None if first.ctrl is None else np.concatenate([b.ctrl for b in batches]),
            first.substeps,
            first.nstep,
        )


def window_batch(
    model: mujoco.MjModel,
    windows: Sequence[Window],
    states: Sequence[tuple[np.ndarray, np.ndarray]],
    controls: Sequence[np.ndarray | None],
    substeps: int,
    *,
    interpolate: bool = False,
) -> WindowBatch:
    """Initial states and commands of `windows`.

    Args:
      model: the replay model (its sizes and command history lengths).
      windows: what to simulate.
      states: per episode, (T, nq) qpos and (T, nv) qvel rows (`forward.full_state_rows`).
      controls: per episode, (T, nu) commands or None.
      substeps: simulation steps per recorded sample, common to all windows.
      interpolate: commands vary linearly between samples instead of being held.
    """
    windows = tuple(windows)
    length = max((w.length for w in windows), default=1)
    nstep = (length - 1) * substeps
    qpos0 = np.array([states[w.episode][0][w.start] for w in windows]).reshape(-1, model.nq)
    qvel0 = np.array([states[w.episode][1][w.start] for w in windows]).reshape(-1, model.nv)
    H = history_length(model)
    past = None
    if H and model.nu:
        past = np.stack(
            [
                past_controls(controls[w.episode][:, : model.nu], w.start, substeps, H)
                if controls[w.episode] is not None
                else np.zeros((H, model.nu))
                for w in windows
            ]
        )
    init = initial_states(model, qpos0, qvel0, past)
    ctrl = None
    width = max((c.shape[1] for c in controls if c is not None), default=model.nu)
    if width:
        ctrl = np.zeros((len(windows), nstep, width))
        if width > model.nu:  # mocap poses: the model's own where no recording drives them
            ctrl[:, :, model.nu :] = mocap_defaults(model)
        for b, w in enumerate(windows):
            rows = controls[w.episode]
            if rows is not None:
                ctrl[b, : (w.length - 1) * substeps] = substep_rows(
                    model, rows[w.start : w.start + w.length], substeps, interpolate
                )
    return WindowBatch(windows, init, ctrl, substeps, nstep)


@dataclasses.dataclass(frozen=True)
class BatchOutcome:
    """What one rollout call gave, per window, on the recorded timeline.

    Attributes:
      samples: (B, Lmax, nstate) full-physics state at each sample (sample 0: the initial
        state); NaN from a window's first unstable sample on and past its length.
      sensors: (B, Lmax, nsensordata); sample j = value during the step leaving sample j.
      diverged: (B,) whether the window went unstable.
      time_s: (B,) seconds after the window start at which it did (NaN where it did not).
      reason: (B,) "nan", "state limit", "mujoco warning[ <name>]", or "" where it did not.
    """

    samples: np.ndarray
    sensors: np.ndarray
    diverged: np.ndarray
    time_s: np.ndarray
    reason: tuple[str, ...]


def run_batch(
    sim: BatchSimulator,
    batch: WindowBatch,
    *,
    models: Sequence[mujoco.MjModel] | None = None,
    diagnose: Sequence[bool] | None = None,
) -> BatchOutcome:
    """Roll out a batch and mark what diverged.

    Args:
      sim: batch simulator of the replay model.
      batch: the windows' inputs.
      models: optional per-window models (sizes of `sim.model`, e.g. physics variants).
      diagnose: per window, whether to name the MuJoCo warning of a diverged window (re-runs it
        with `mj_step`; otherwise its reason is plain "mujoco warning").
    """
    B = len(batch.windows)
    if models is not None and len(models) != B:
        raise SettingsError(f"models: expected one model per window ({B}), got {len(models)}")
    model, n = sim.model, batch.substeps
    nstate = batch.init.shape[1]
    if batch.nstep == 0:
        states = np.empty((B, 0, nstate))
        sensors = np.empty((B, 0, model.nsensordata))
    else:
        states, sensors = sim.run(batch.init, batch.ctrl, batch.nstep, models=models)
    ts = np.array([(models[b] if models is not None else model).opt.timestep for b in range(B)])
    failed = failed_steps(batch.init, states, ts[:, None])
    Lmax = batch.nstep // n + 1
    samples = np.concatenate([batch.init[:, None], states[:, n - 1 :: n]], axis=1)
    samples_sensors = np.full((B, Lmax, model.nsensordata), np.nan)
    samples_sensors[:, : Lmax - 1] = sensors[:, ::n][:, : Lmax - 1]
    diverged = np.zeros(B, dtype=bool)
    time_s = np.full(B, np.nan)
    reasons = [""] * B
    for b, w in enumerate(batch.windows):
        first, reason, at = w.length, state_reason(batch.init[b, 1:]), 0.0
        if reason is not None:
            first = 0
        elif 0 <= failed[b] < (w.length - 1) * n:  # a failure in a batch's padding is not one
            step = int(failed[b])
            first, at, reason = step // n + 1, step * ts[b], "mujoco warning"
            if diagnose is not None and diagnose[b]:
                m = models[b] if models is not None else model
                ctrl = None if batch.ctrl is None else batch.ctrl[b]
                reason = warning_reason(m, batch.init[b], ctrl, step)
        if first < w.length:
            diverged[b], time_s[b], reasons[b] = True, at, reason
        samples[b, first:] = np.nan
        samples_sensors[b, max(first - 1, 0) :] = np.nan
        samples_sensors[b, w.length - 1 :] = np.nan
    return BatchOutcome(samples, samples_sensors, diverged, time_s, tuple(reasons))
