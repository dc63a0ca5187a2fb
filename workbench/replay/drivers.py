"""Kinematic drivers: bodies moved along recorded poses (mocap bodies), joints along recorded
positions (their position actuators), and the passive bodies whose recorded poses become the
state of their free joints.

Mocap bodies are driven through `mujoco.rollout`'s control spec: each step's control vector is
[ctrl (nu), mocap_pos (nmocap x 3), mocap_quat (nmocap x 4)] (`mjSTATE_CTRL | mjSTATE_MOCAP_POS |
mjSTATE_MOCAP_QUAT`, in MuJoCo's state order), set before the step. Between recorded samples the
positions are interpolated linearly and the orientations by slerp, so step k of a sample period
of n steps sees the pose at fraction k / n (the pose at the step's start time).
"""

from __future__ import annotations

import mujoco
import numpy as np

from workbench.episode import Episode, Signal
from workbench.errors import BindingError
from workbench.replay.timeline import slerp
from workbench.scenes.driven import free_joint

CTRL_SPEC = int(mujoco.mjtState.mjSTATE_CTRL)
MOCAP_SPEC = int(
    mujoco.mjtState.mjSTATE_CTRL
    | mujoco.mjtState.mjSTATE_MOCAP_POS
    | mujoco.mjtState.mjSTATE_MOCAP_QUAT
)
POSE_COLUMNS = ("x", "y", "z", "qw", "qx", "qy", "qz")


def control_width(model: mujoco.MjModel) -> int:
    """Columns of a per-step control vector: nu, plus 7 per mocap body when the model has any."""
    return model.nu + 7 * model.nmocap


def control_spec(model: mujoco.MjModel, width: int) -> int:
    """The `mjtState` spec of control rows `width` wide (ctrl only, or ctrl + mocap poses)."""
    if model.nmocap and width == control_width(model):
        return MOCAP_SPEC
    return CTRL_SPEC


def mocap_defaults(model: mujoco.MjModel) -> np.ndarray:
    """(7 * nmocap,) the model's own mocap poses (what `mj_resetData` sets), pos then quat."""
    bodies = [b for b in range(model.nbody) if model.body_mocapid[b] >= 0]
    bodies.sort(key=lambda b: model.body_mocapid[b])
    pos = model.body_pos[bodies].reshape(-1)
    quat = model.body_quat[bodies].reshape(-1)
    return np.concatenate([pos, quat])


def mocap_rows(model: mujoco.MjModel, episode: Episode, mocap: tuple[tuple[int, str], ...]):
    """(T, 7 * nmocap) recorded poses of the driven mocap bodies (`mocap`: (mocap id, signal)),
    the model's own poses for the others; positions first, then quaternions (w x y z)."""
    T, n = episode.num_samples, model.nmocap
    rows = np.tile(mocap_defaults(model), (T, 1))
    for mid, signal in mocap:
        values = episode.signals[signal].values
        rows[:, 3 * mid : 3 * mid + 3] = values[:, :3]
        q = values[:, 3:7] / np.linalg.norm(values[:, 3:7], axis=1, keepdims=True)
        rows[:, 3 * n + 4 * mid : 3 * n + 4 * mid + 4] = q
    return rows


def substep_mocap(rows: np.ndarray, n: int, nmocap: int) -> np.ndarray:
    """((L-1)*n, 7*nmocap) per-step mocap poses from (L, 7*nmocap) per-sample ones: positions
    linear, quaternions slerped, step k at fraction (k mod n) / n of its sample period."""
    L = rows.shape[0]
    steps = (L - 1) * n
    grid = np.arange(steps) / n
    samples = np.arange(L, dtype=float)
    out = np.empty((steps, rows.shape[1]))
    pos = rows[:, : 3 * nmocap]
    i = np.minimum(np.arange(steps) // n, L - 2)
    frac = (grid - i)[:, None]
    out[:, : 3 * nmocap] = pos[i] * (1 - frac) + pos[i + 1] * frac
    for m in range(nmocap):
        cols = slice(3 * nmocap + 4 * m, 3 * nmocap + 4 * m + 4)
        out[:, cols] = slerp(samples, rows[:, cols], grid)
    return out


def bind_mocap(model: mujoco.MjModel, binding, episode: Episode, where: str):
    """((mocap id, signal), ...) of the driven bodies; BindingError when a driven body has no
    `body_pose:<body>` signal of 7 columns (x y z qw qx qy qz) with unit quaternions."""
    out = []
    for body in getattr(binding, "driven_bodies", ()):
        signal = f"body_pose:{body}"
        if signal not in episode.signals:
            raise BindingError(
                f"{where}: driven body {body!r}: expected a {signal!r} signal (x y z qw qx qy qz "
                f"of the recorded pose); signals are {sorted(episode.signals)}"
            )
        values = episode.signals[signal].values
        if values.shape[1] != 7:
            raise BindingError(
                f"{where}: signal {signal!r}: expected 7 columns (x y z qw qx qy qz), got "
                f"{values.shape[1]}: {list(episode.signals[signal].columns)}"
            )
        norm = np.linalg.norm(values[:, 3:7], axis=1)
        bad = ~(np.abs(norm - 1.0) <= 1e-2)
        if bad.any():
            row = int(np.argmax(bad))
            raise BindingError(
                f"{where}: signal {signal!r} row {row}: expected a unit quaternion in columns "
                f"3..6 (|norm - 1| <= 0.01), got norm {norm[row]:.6g}"
            )
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
        out.append((int(model.body_mocapid[bid]), signal))
    return tuple(out)


def with_passive_state(model: mujoco.MjModel, binding, episode: Episode) -> Episode:
    """The episode with each passive body's recorded pose (`body_pose:<body>`) as the qpos of
    its free joint (`<joint>[0..6]`), added to (or replacing those columns of) `qpos`."""
    bodies = getattr(binding, "passive_bodies", ())
    if not bodies:
        return episode
    where = f"episode {episode.id!r}"
    cols: dict[str, np.ndarray] = {}
    if "qpos" in episode.signals:
        sig = episode.signals["qpos"]
        cols = {c: sig.values[:, k] for k, c in enumerate(sig.columns)}
    for body in bodies:
        signal = f"body_pose:{body}"
        if signal not in episode.signals:
            raise BindingError(
                f"{where}: passive body {body!r}: expected a {signal!r} signal (x y z qw qx qy "
                f"qz); signals are {sorted(episode.signals)}"
            )
        values = episode.signals[signal].values
        if values.shape[1] != 7:
            raise BindingError(
                f"{where}: signal {signal!r}: expected 7 columns (x y z qw qx qy qz), got "
                f"{values.shape[1]}"
            )
        joint = free_joint(model, body)
        for i in range(7):
            cols[f"{joint}[{i}]"] = values[:, i]
    values = np.stack(list(cols.values()), axis=1)
    unit = episode.signals["qpos"].unit if "qpos" in episode.signals else "m, quaternion"
    return episode.with_signals(qpos=Signal(values, tuple(cols), unit, "scene"))


def derived_velocities(model: mujoco.MjModel, qpos: np.ndarray, dt: float) -> np.ndarray:
    """(T, nv) velocities from (T, nq) positions by `mj_differentiatePos`: central differences
    inside, one-sided at the ends (quaternion joints handled by MuJoCo)."""
    T = qpos.shape[0]
    out = np.zeros((T, model.nv))
    if T < 2:
        return out
    for t in range(T):
        a, b = max(t - 1, 0), min(t + 1, T - 1)
        mujoco.mj_differentiatePos(model, out[t], (b - a) * dt, qpos[a], qpos[b])
    return out


def to_scene_frame(binding, episode: Episode) -> Episode:
    """The episode with its `body_pose:` signals (x y z qw qx qy qz) mapped from the capture frame
    to the scene frame by `binding.capture_frame` (unchanged when it is empty)."""
    frame = getattr(binding, "capture_frame", ())
    if not frame:
        return episode
    pos, quat = np.asarray(frame[:3]), np.asarray(frame[3:])
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, quat)
    rot = rot.reshape(3, 3)
    signals = {}
    for name, sig in episode.signals.items():
        if not name.startswith("body_pose:") or sig.values.shape[1] != 7:
            continue
        values = sig.values.copy()
        values[:, :3] = sig.values[:, :3] @ rot.T + pos
        for t in range(values.shape[0]):
            mujoco.mju_mulQuat(values[t, 3:], quat, sig.values[t, 3:].copy())
        signals[name] = Signal(values, sig.columns, sig.unit, "scene")
    return episode.with_signals(**signals) if signals else episode
