"""The `inverse` and `tracking` modes: inverse dynamics along the recorded motion, and a servo
that follows it (`open_loop` and `windows` are plain `forward_traces`)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.physics import values_applied
from workbench.replay.binding import BoundEpisode
from workbench.replay.divergence import STATE_LIMIT, Divergence, state_reason
from workbench.replay.drivers import mocap_rows
from workbench.replay.forward import Progress, forward_traces, full_state_rows
from workbench.replay.inverse import inverse_forces, recorded_motion
from workbench.replay.settings import ReplaySettings
from workbench.replay.timeline import Alignment
from workbench.replay.trace import SimTrace
from workbench.replay.tracking import sensor_dof_columns, tracking_model
from workbench.scenes.scene import Scene


def motion_rows(
    model: mujoco.MjModel,
    episode: Episode,
    alignment: Alignment,
    bound: BoundEpisode,
    settings: ReplaySettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, nq) qpos, (T, nv) qvel, (T, nv) qacc of the smoothed recorded motion."""
    qpos, qvel = full_state_rows(model, episode, bound)
    return recorded_motion(
        model,
        qpos,
        qvel,
        alignment.dt,
        settings.smooth_window,
        qvel_recorded=bound.qvel_index is not None,
        derivatives=settings.derivatives,
    )


def inverse_rows(
    model: mujoco.MjModel,
    episode: Episode,
    alignment: Alignment,
    bound: BoundEpisode,
    settings: ReplaySettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`motion_rows` and the (T, nv) generalized force that motion requires [N or N m]
    (discrete-time inverse dynamics with raw differences at one step per sample)."""
    qpos, qvel, qacc = motion_rows(model, episode, alignment, bound, settings)
    discrete = settings.smooth_window == 0 and alignment.substeps == 1
    return qpos, qvel, qacc, inverse_forces(model, qpos, qvel, qacc, discrete=discrete)


def _motion_divergence(rows: Sequence[np.ndarray], dt: float) -> Divergence | None:
    """The first sample whose motion or force is non-finite or beyond MuJoCo's state limit."""
    stacked = np.concatenate(rows, axis=1)
    bad = ~(np.abs(stacked) <= STATE_LIMIT).all(axis=1)  # NaN compares False
    if not bad.any():
        return None
    t = int(np.argmax(bad))
    return Divergence(t * dt, state_reason(stacked[t]) or "nan", 0.0)


def inverse_traces(
    scene: Scene,
    episodes: Sequence[Episode],
    alignments: Sequence[Alignment],
    bounds: Sequence[BoundEpisode],
    settings: ReplaySettings,
    params: Mapping[str, float],
    progress: Progress | None = None,
) -> list[SimTrace]:
    """One single-window trace per episode: required force at every recorded sample (NaN at the
    last one with raw forward differences, which has no acceleration)."""
    traces = []
    with values_applied(scene.model, params):
        for ep, al, b in zip(episodes, alignments, bounds, strict=True):
            qpos, qvel, qacc, forces = inverse_rows(scene.model, ep, al, b, settings)
            divergence = _motion_divergence([qpos, qvel, qacc, forces], al.dt)
            if settings.smooth_window == 0:  # forward differences: no acceleration at the end
                forces[-1] = np.nan
            predicted = {"qfrc_actuator": forces[None, :, b.torque_index]}
            diverged = np.array([divergence is not None])
            traces.append(
                SimTrace(ep, "inverse", np.zeros(1, int), predicted, al, b, diverged, divergence)
            )
            if progress:
                progress(len(traces), len(episodes))
    return traces


def tracking_traces(
    scene: Scene,
    episodes: Sequence[Episode],
    alignments: Sequence[Alignment],
    bounds: Sequence[BoundEpisode],
    settings: ReplaySettings,
    params: Mapping[str, float],
    progress: Progress | None = None,
) -> list[SimTrace]:
    """Inverse-dynamics feed-forward + PD servo on the hinge/slide state joints, simulated
    forward in the scene's servo variant (free/ball joints move under the physics)."""
    servo = tracking_model(scene)
    columns = sensor_dof_columns(servo.model)
    model = scene.model
    qpos_dofs = [model.jnt_qposadr[model.dof_jntid[d]] for d in servo.dofs]
    controls = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(values_applied(scene.model, params))
        stack.enter_context(values_applied(servo.model, params))
        for ep, al, b in zip(episodes, alignments, bounds, strict=True):
            qpos, qvel, _, forces = inverse_rows(model, ep, al, b, settings)
            cmd = (
                servo.servo_command(qpos[:, qpos_dofs], qvel[:, servo.dofs], forces[:, servo.dofs])
                if servo.model.nu
                else np.zeros((ep.num_samples, 0))
            )
            if servo.model.nmocap:  # driven bodies follow their recorded poses here too
                cmd = np.concatenate([cmd, mocap_rows(servo.model, ep, b.mocap)], axis=1)
            controls.append(cmd if cmd.shape[1] else None)

        def forces_of(sensors: np.ndarray, b: BoundEpisode) -> np.ndarray:
            return sensors[:, [columns[d] for d in b.torque_index]]

        return forward_traces(
            servo.model,
            episodes,
            alignments,
            bounds,
            settings,
            controls,
            progress,
            sensor_signal=forces_of,
        )
