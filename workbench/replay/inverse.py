"""Inverse dynamics along recorded motion: the generalized force that motion requires."""

from __future__ import annotations

import mujoco
import numpy as np
from scipy.signal import savgol_filter

DERIVATIVE_SOURCES = ("auto", "positions", "velocities")


def motion_derivatives(
    qpos: np.ndarray,
    qvel: np.ndarray,
    dt: float,
    *,
    smooth_window: float,
    qvel_recorded: bool,
    scalar_qpos: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed (T, nq) qpos, (T, nv) qvel and (T, nv) qacc on a uniform grid of period dt [s].

    `smooth_window` > 0: Savitzky-Golay (cubic) over that many seconds, central derivatives.
    `smooth_window` == 0: raw samples, forward differences qacc[t] = (qvel[t+1] - qvel[t]) / dt
    (exact for data recorded from an Euler-type integrator at one step per sample); the last
    sample repeats the previous acceleration.
    `scalar_qpos`: qpos addresses of hinge/slide joints, smoothed too (quaternions never are).
    """
    if smooth_window > 0:
        window = max(5, int(round(smooth_window / dt)) | 1)
        window = min(window, qpos.shape[0] if qpos.shape[0] % 2 else qpos.shape[0] - 1)
        order = min(3, window - 1)
        if qvel_recorded:
            qvel_s = savgol_filter(qvel, window, order, axis=0)
            qacc = savgol_filter(qvel, window, order, deriv=1, delta=dt, axis=0)
        else:
            qvel_s = savgol_filter(qpos, window, order, deriv=1, delta=dt, axis=0)
            qacc = savgol_filter(qpos, window, order, deriv=2, delta=dt, axis=0)
        if scalar_qpos is not None and len(scalar_qpos):
            qpos = qpos.copy()
            qpos[:, scalar_qpos] = savgol_filter(qpos[:, scalar_qpos], window, order, axis=0)
        return qpos, qvel_s, qacc
    if not qvel_recorded:
        qvel = np.gradient(qpos, dt, axis=0)
    qacc = np.empty_like(qvel)
    qacc[:-1] = np.diff(qvel, axis=0) / dt
    qacc[-1] = qacc[-2] if qvel.shape[0] > 1 else 0.0
    return qpos, qvel, qacc


def recorded_motion(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    qvel: np.ndarray,
    dt: float,
    smooth_window: float,
    *,
    qvel_recorded: bool,
    derivatives: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed (qpos, qvel, qacc) of full-state rows, choosing the derivative source.

    `derivatives`: "positions" differentiates the recorded positions (consistent kinematics),
    "velocities" smooths and differentiates the recorded velocities (less noise when positions
    are quantized; needs recorded velocities). "auto": positions with smoothing and only
    hinge/slide joints (recorded velocities are often filtered with lag); otherwise the recorded
    velocities when present.
    """
    scalar = [
        model.jnt_qposadr[j]
        for j in range(model.njnt)
        if model.jnt_type[j] in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    ]
    if derivatives not in DERIVATIVE_SOURCES:
        raise ValueError(f"derivatives: expected one of {DERIVATIVE_SOURCES}, got {derivatives!r}")
    if derivatives == "velocities" and not qvel_recorded:
        raise ValueError(
            "derivatives: 'velocities' needs recorded joint velocities (a 'qvel' signal); "
            "this episode has none: use 'positions' or 'auto'"
        )
    if derivatives == "auto":
        use_qvel = qvel_recorded and (smooth_window == 0 or len(scalar) < model.njnt)
    else:
        use_qvel = derivatives == "velocities"
    return motion_derivatives(
        qpos,
        qvel,
        dt,
        smooth_window=smooth_window,
        qvel_recorded=use_qvel,
        scalar_qpos=np.array(scalar, dtype=int),
    )


def inverse_forces(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    qvel: np.ndarray,
    qacc: np.ndarray,
    *,
    discrete: bool = False,
) -> np.ndarray:
    """(T, nv) `qfrc_inverse` along a motion: the applied generalized force it needs [N or N m].

    `discrete` enables MuJoCo's discrete-time inverse (`invdiscrete`): qacc is then read as the
    finite-difference acceleration of the model's integrator, matching `mj_step` exactly.
    """
    data = mujoco.MjData(model)
    out = np.empty((qpos.shape[0], model.nv))
    saved = model.opt.enableflags
    if discrete:
        model.opt.enableflags |= mujoco.mjtEnableBit.mjENBL_INVDISCRETE
    try:
        for t in range(qpos.shape[0]):
            data.qpos[:] = qpos[t]
            data.qvel[:] = qvel[t]
            data.qacc[:] = qacc[t]
            mujoco.mj_inverse(model, data)
            out[t] = data.qfrc_inverse
    finally:
        model.opt.enableflags = saved
    return out
