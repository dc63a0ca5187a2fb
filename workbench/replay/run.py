"""`replay`: episodes x scene x mode -> SimTraces, with all windows of all episodes batched."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import BindingError
from workbench.physics import values_applied
from workbench.physics.signal_params import apply_signal_params, split_params
from workbench.replay.binding import BoundEpisode, bind_episode
from workbench.replay.forward import Window, control_rows, full_state_rows, simulate_windows
from workbench.replay.inverse import DERIVATIVE_SOURCES, inverse_forces, recorded_motion
from workbench.replay.rollout import BatchSimulator
from workbench.replay.timeline import Alignment, align
from workbench.replay.trace import MODES, SimTrace
from workbench.replay.tracking import sensor_dof_columns, tracking_model
from workbench.scenes.scene import Scene


@dataclasses.dataclass(frozen=True)
class ReplaySettings:
    """How to replay.

    Attributes:
      mode: one of `open_loop`, `windows`, `tracking`, `inverse`.
      horizons: windows mode: prediction horizons [s]; windows last the longest one.
      window_stride: windows mode: seconds between window starts.
      smooth_window: inverse/tracking: Savitzky-Golay window [s] for velocities and accelerations
        of the recorded motion; 0 uses raw forward differences with discrete-time inverse dynamics.
      derivatives: inverse/tracking: where velocities and accelerations come from: "positions",
        "velocities" (recorded) or "auto" (see `workbench.replay.inverse.recorded_motion`).
      threads: rollout threads (default: the CPUs this process may use).
      budget: max floats of simulated state held per rollout call.
    """

    mode: str = "open_loop"
    horizons: tuple[float, ...] = (0.1, 0.25, 0.5)
    window_stride: float = 0.05
    smooth_window: float = 0.2
    derivatives: str = "auto"
    threads: int | None = None
    budget: int = 20_000_000

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {self.mode!r}")
        if not self.horizons or min(self.horizons) <= 0:
            raise ValueError(f"horizons: expected positive seconds, got {self.horizons}")
        if self.window_stride <= 0:
            raise ValueError(f"window_stride: expected > 0 s, got {self.window_stride}")
        if self.smooth_window < 0:
            raise ValueError(f"smooth_window: expected >= 0 s, got {self.smooth_window}")
        if self.derivatives not in DERIVATIVE_SOURCES:
            raise ValueError(
                f"derivatives: expected one of {DERIVATIVE_SOURCES}, got {self.derivatives!r}"
            )


Progress = Callable[[int, int], None]


def prepare(
    scene: Scene, episodes: Sequence[Episode], settings: ReplaySettings
) -> tuple[list[Episode], list[Alignment], list[BoundEpisode]]:
    """Align every episode and bind it to the scene; raises before anything is simulated."""
    bounds = bind_all(scene, episodes, settings)
    aligned, alignments = [], []
    for ep in episodes:
        ep2, al = align(ep, scene.binding.timestep)
        aligned.append(ep2)
        alignments.append(al)
    return aligned, alignments, bounds


def bind_all(
    scene: Scene, episodes: Sequence[Episode], settings: ReplaySettings
) -> list[BoundEpisode]:
    """Bind every episode's signals to the scene for this mode (no alignment, no simulation);
    raises BindingError naming the first episode and signal that does not fit."""
    need_ctrl = settings.mode in ("open_loop", "windows")
    need_torque = settings.mode == "inverse"
    return [
        bind_episode(scene, ep, need_ctrl=need_ctrl, need_torque=need_torque) for ep in episodes
    ]


def _windows_for(ep: Episode, index: int, al: Alignment, settings: ReplaySettings) -> list[Window]:
    T = ep.num_samples
    if settings.mode != "windows":
        return [Window(index, 0, T)]
    length = int(round(max(settings.horizons) / al.dt)) + 1
    stride = max(1, int(round(settings.window_stride / al.dt)))
    return [Window(index, s, length) for s in range(0, T - length + 1, stride)]


def _forward(
    model: mujoco.MjModel,
    episodes,
    alignments,
    bounds,
    settings,
    controls,
    progress: Progress | None,
    sensor_signal=None,
    episode_models: Sequence[mujoco.MjModel] | None = None,
) -> list[SimTrace]:
    """Forward-simulate every window of every episode; `episode_models` optionally gives each
    episode its own (equally sized) model, e.g. one physics variant per episode copy."""
    states = [full_state_rows(model, ep, b) for ep, b in zip(episodes, bounds, strict=True)]
    windows = [
        w
        for i, (ep, al) in enumerate(zip(episodes, alignments, strict=True))
        for w in _windows_for(ep, i, al, settings)
    ]
    results = [None] * len(windows)
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
                    controls,
                    alignments,
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
    traces = []
    for i, (ep, al, b) in enumerate(zip(episodes, alignments, bounds, strict=True)):
        mine = [(w, r) for w, r in zip(windows, results, strict=True) if w.episode == i]
        starts = np.array([w.start for w, _ in mine], dtype=int)
        predicted = {}
        if mine:
            predicted["qpos"] = np.stack([r.qpos[:, b.qpos_index] for _, r in mine])
            if b.qvel_index is not None:
                predicted["qvel"] = np.stack([r.qvel[:, b.qvel_index] for _, r in mine])
            if sensor_signal is not None and b.torque_index is not None:
                predicted["qfrc_actuator"] = np.stack(
                    [sensor_signal(r.sensors, b) for _, r in mine]
                )
        diverged = np.array([r.diverged for _, r in mine], dtype=bool)
        traces.append(SimTrace(ep, settings.mode, starts, predicted, al, b, diverged))
    return traces


def _inverse_rows(model, ep: Episode, al: Alignment, b: BoundEpisode, settings: ReplaySettings):
    qpos, qvel = full_state_rows(model, ep, b)
    qpos, qvel, qacc = recorded_motion(
        model,
        qpos,
        qvel,
        al.dt,
        settings.smooth_window,
        qvel_recorded=b.qvel_index is not None,
        derivatives=settings.derivatives,
    )
    discrete = settings.smooth_window == 0 and al.substeps == 1
    return qpos, qvel, inverse_forces(model, qpos, qvel, qacc, discrete=discrete)


def replay(
    scene: Scene,
    episodes: Sequence[Episode],
    settings: ReplaySettings | None = None,
    *,
    params: Mapping[str, float] | None = None,
    progress: Progress | None = None,
) -> list[SimTrace]:
    """Replay episodes in a scene.

    Args:
      scene: the scene (its compiled model is modified in place while `params` apply, then restored).
      episodes: recorded episodes whose signals bind to the scene.
      settings: mode and mode options.
      params: physics values by MuJoCo name (e.g. {"geom_friction[cube][0]": 0.2}), and
        measurement parameters `delay:<signal>` / `offset:<signal>[<column>]` applied to the
        recorded episodes (see `workbench.physics.signal_params`).
      progress: called with (windows done, windows total) during forward replays.
    Returns:
      One SimTrace per episode, in order.
    """
    settings = settings or ReplaySettings()
    params, signal_params = split_params(dict(params or {}))
    episodes = [apply_signal_params(ep, signal_params) for ep in episodes]
    episodes, alignments, bounds = prepare(scene, episodes, settings)
    mode = settings.mode
    if mode in ("open_loop", "windows"):
        with values_applied(scene.model, params):
            controls = [
                control_rows(scene.model, ep, b) for ep, b in zip(episodes, bounds, strict=True)
            ]
            return _forward(scene.model, episodes, alignments, bounds, settings, controls, progress)
    if mode == "inverse":
        traces = []
        with values_applied(scene.model, params):
            for ep, al, b in zip(episodes, alignments, bounds, strict=True):
                _, _, forces = _inverse_rows(scene.model, ep, al, b, settings)
                if settings.smooth_window == 0:  # forward differences: no acceleration at the end
                    forces[-1] = np.nan
                predicted = {"qfrc_actuator": forces[None, :, b.torque_index]}
                traces.append(
                    SimTrace(ep, mode, np.zeros(1, int), predicted, al, b, np.zeros(1, bool))
                )
                if progress:
                    progress(len(traces), len(episodes))
        return traces
    # tracking: inverse-dynamics feed-forward + PD servo, simulated forward in the servo variant
    servo = tracking_model(scene)
    columns = sensor_dof_columns(servo.model)
    controls = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(values_applied(scene.model, params))
        stack.enter_context(values_applied(servo.model, params))
        for ep, al, b in zip(episodes, alignments, bounds, strict=True):
            qpos, qvel, forces = _inverse_rows(scene.model, ep, al, b, settings)
            qpos_dofs = [scene.model.jnt_qposadr[scene.model.dof_jntid[d]] for d in servo.dofs]
            controls.append(
                servo.servo_command(qpos[:, qpos_dofs], qvel[:, servo.dofs], forces[:, servo.dofs])
            )
        missing = [
            d
            for b in bounds
            if b.torque_index is not None
            for d in b.torque_index
            if d not in columns
        ]
        if missing:
            raise BindingError(f"tracking: torque columns at dofs {missing} are not scalar joints")

        def forces_of(sensors: np.ndarray, b: BoundEpisode) -> np.ndarray:
            return sensors[:, [columns[d] for d in b.torque_index]]

        return _forward(
            servo.model,
            episodes,
            alignments,
            bounds,
            settings,
            controls,
            progress,
            sensor_signal=forces_of,
        )
