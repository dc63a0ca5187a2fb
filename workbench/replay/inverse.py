"""Inverse dynamics along recorded motion: the generalized force that motion requires."""

from __future__ import annotations

import mujoco
import numpy as np

from workbench.errors import SettingsError

DERIVATIVE_SOURCES = ("auto", "positions", "velocities")


_SCALAR = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


def quaternion_addresses(model: mujoco.MjModel) -> list[np.ndarray]:
    """qpos addresses (4,) of the quaternion of every free and ball joint (w x y z)."""
    out = []
    for j in range(model.njnt):
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            out.append(model.jnt_qposadr[j] + np.arange(3, 7))
        elif model.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            out.append(model.jnt_qposadr[j] + np.arange(4))
    return out


def tangent_path(model: mujoco.MjModel, qpos: np.ndarray) -> np.ndarray:
    """(T, nv) positions in velocity coordinates: hinge/slide joints and free-joint translations
    as recorded, rotations of free/ball joints as the running sum of `mj_differentiatePos`
    increments (body-frame rotation vectors), so its time derivative is qvel."""
    T = qpos.shape[0]
    path = np.zeros((T, model.nv))
    step = np.zeros(model.nv)
    for t in range(1, T):
        mujoco.mj_differentiatePos(model, step, 1.0, qpos[t - 1], qpos[t])
        path[t] = path[t - 1] + step
    for j in range(model.njnt):
        q, d = model.jnt_qposadr[j], model.jnt_dofadr[j]
        if model.jnt_type[j] in _SCALAR:
            path[:, d] = qpos[:, q]
        elif model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            path[:, d : d + 3] = qpos[:, q : q + 3]
    return path


def smooth_positions(
    model: mujoco.MjModel, qpos: np.ndarray, window: int, order: int
) -> np.ndarray:
    """(T, nq) Savitzky-Golay smoothed positions; quaternions made sign-continuous before and
    renormalised after, so they stay unit rotations."""
    qpos = qpos.copy()
    quats = quaternion_addresses(model)
    for addr in quats:
        q = qpos[:, addr]
        flips = np.cumsum(np.r_[False, np.sum(q[1:] * q[:-1], axis=1) < 0]) % 2
        qpos[:, addr] = np.where(flips[:, None] == 1, -q, q)
    from scipy.signal import savgol_filter  # here: scipy.signal is slow to import

    qpos = savgol_filter(qpos, window, order, axis=0)
    for addr in quats:
        norm = np.linalg.norm(qpos[:, addr], axis=1, keepdims=True)
        qpos[:, addr] /= np.where(norm > 0, norm, 1.0)
    return qpos


def motion_derivatives(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    qvel: np.ndarray,
    dt: float,
    *,
    smooth_window: float,
    qvel_recorded: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smoothed (T, nq) qpos, (T, nv) qvel and (T, nv) qacc on a uniform grid of period dt [s].

    `smooth_window` > 0: Savitzky-Golay (cubic) over that many seconds, central derivatives.
    `smooth_window` == 0: raw samples, forward differences qacc[t] = (qvel[t+1] - qvel[t]) / dt
    (exact for data recorded from an Euler-type integrator at one step per sample); the last
    sample repeats the previous acceleration.
    Velocities from positions differentiate `tangent_path` (free/ball joints through
    `mj_differentiatePos`, so nq != nv is handled); smoothed quaternions are renormalised.
    """
    T = qpos.shape[0]
    if smooth_window > 0 and T >= 3:
        from scipy.signal import savgol_filter  # here: scipy.signal is slow to import

        window = max(5, int(round(smooth_window / dt)) | 1)
        window = min(window, T if T % 2 else T - 1)
        order = min(3, window - 1)
        source = qvel if qvel_recorded else tangent_path(model, qpos)
        first = 0 if qvel_recorded else 1
        qvel_s = savgol_filter(source, window, order, deriv=first, delta=dt, axis=0)
        qacc = savgol_filter(source, window, order, deriv=first + 1, delta=dt, axis=0)
        return smooth_positions(model, qpos, window, order), qvel_s, qacc
    if not qvel_recorded:
        qvel = np.gradient(tangent_path(model, qpos), dt, axis=0) if T > 1 else np.zeros_like(qvel)
    qacc = np.zeros_like(qvel)
    if T > 1:
        qacc[:-1] = np.diff(qvel, axis=0) / dt
        qacc[-1] = qacc[-2]
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
    if derivatives not in DERIVATIVE_SOURCES:
        raise SettingsError(
            f"--derivatives: expected one of {list(DERIVATIVE_SOURCES)}, got {derivatives!r}"
        )
    if derivatives == "velocities" and not qvel_recorded:
        raise SettingsError(
            "--derivatives: 'velocities' needs recorded joint velocities (a 'qvel' signal); "
            "this episode has none: use 'positions' or 'auto'"
        )
    if derivatives == "auto":
        scalar = sum(int(model.jnt_type[j]) in _SCALAR for j in range(model.njnt))
        use_qvel = qvel_recorded and (smooth_window == 0 or scalar < model.njnt)
    else:
        use_qvel = derivatives == "velocities"
    return motion_derivatives(
        model, qpos, qvel, dt, smooth_window=smooth_window, qvel_recorded=use_qvel
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
