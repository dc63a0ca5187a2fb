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

import dataclasses

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
        if values.shape[1] == 7:  # position-only drivers (3 columns) hold the model's orientation
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


def driver_signal(episode: Episode, body: str) -> str | None:
    """The signal that drives `body`: `body_pose:<body>` (x y z [qw qx qy qz]) or a position-only
    marker track `marker:<body>` (x y z); None when the episode has neither."""
    for signal in (f"body_pose:{body}", f"marker:{body}"):
        if signal in episode.signals:
            return signal
    return None


def bind_mocap(model: mujoco.MjModel, binding, episode: Episode, where: str):
    """((mocap id, signal), ...) of the driven bodies; BindingError when a driven body has no
    `body_pose:<body>` signal of 7 columns (x y z qw qx qy qz, unit quaternions) or 3 columns
    (x y z: position only, orientation held at the model's), or `marker:<body>` (x y z)."""
    out = []
    for body in getattr(binding, "driven_bodies", ()):
        signal = driver_signal(episode, body)
        if signal is None:
            raise BindingError(
                f"{where}: driven body {body!r}: expected a 'body_pose:{body}' signal (x y z qw "
                f"qx qy qz of the recorded pose, or x y z only) or 'marker:{body}' (x y z); "
                f"signals are {sorted(episode.signals)}"
            )
        values = episode.signals[signal].values
        widths = (3, 7) if signal.startswith("body_pose:") else (3,)
        if values.shape[1] not in widths:
            raise BindingError(
                f"{where}: signal {signal!r}: expected "
                + (
                    "7 columns (x y z qw qx qy qz) or 3 (x y z, orientation held)"
                    if len(widths) == 2
                    else "3 columns (x y z)"
                )
                + f", got {values.shape[1]}: {list(episode.signals[signal].columns)}"
            )
        if values.shape[1] == 7:
            norm = np.linalg.norm(values[:, 3:7], axis=1)
            bad = ~(np.abs(norm - 1.0) <= 1e-2)
            if bad.any():
                row = int(np.argmax(bad))
                raise BindingError(
                    f"{where}: signal {signal!r} row {row}: expected a unit quaternion in "
                    f"columns 3..6 (|norm - 1| <= 0.01), got norm {norm[row]:.6g}"
                )
        if not np.isfinite(values).all():
            row = int(np.argmax(~np.isfinite(values).all(axis=1)))
            raise BindingError(
                f"{where}: signal {signal!r} row {row}: expected finite values to drive body "
                f"{body!r}, got {values[row].tolist()}"
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
    """The episode with its `body_pose:` signals (x y z [qw qx qy qz]) and `marker:` positions
    (x y z) mapped from the capture frame to the scene frame by `binding.capture_frame`
    (unchanged when it is empty)."""
    frame = getattr(binding, "capture_frame", ())
    if not frame:
        return episode
    pos, quat = np.asarray(frame[:3], dtype=float), np.asarray(frame[3:], dtype=float)
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, quat)
    rot = rot.reshape(3, 3)
    signals = {}
    for name, sig in episode.signals.items():
        pose = name.startswith("body_pose:") and sig.values.shape[1] in (3, 7)
        marker = name.startswith("marker:") and sig.values.shape[1] == 3
        if not (pose or marker):
            continue
        values = sig.values.copy()
        values[:, :3] = sig.values[:, :3] @ rot.T + pos
        if values.shape[1] == 7:
            values[:, 3:] = _quat_products(quat, sig.values[:, 3:])
        signals[name] = Signal(values, sig.columns, sig.unit, "scene")
    return episode.with_signals(**signals) if signals else episode


def _quat_products(q: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """q * rows[t] for every (w, x, y, z) row (Hamilton product, as `mju_mulQuat`)."""
    w1, x1, y1, z1 = q
    w2, x2, y2, z2 = rows.T
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=1,
    )


def welded_pose(model: mujoco.MjModel, hand: str, target: str, target_pose: np.ndarray):
    """(T, 7) poses of a dynamic `hand` welded to `target` whose (T, 7) poses are given (x y z
    qw qx qy qz): the target's pose composed with the weld's relative pose (`eq_data`)."""
    from workbench.scenes.driven import weld_between

    hid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, hand)
    tid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, target)
    e = weld_between(model, tid, hid)
    relpos, relquat = model.eq_data[e, 3:6].copy(), model.eq_data[e, 6:10].copy()
    relquat /= np.linalg.norm(relquat)
    if int(model.eq_obj1id[e]) == hid:  # the weld holds the target relative to the hand: invert
        inv = np.zeros(4)
        mujoco.mju_negQuat(inv, relquat)
        pos = np.zeros(3)
        mujoco.mju_rotVecQuat(pos, -relpos, inv)
        relpos, relquat = pos, inv
    out = np.empty((target_pose.shape[0], 7))
    for t, row in enumerate(target_pose):
        q = row[3:7] / np.linalg.norm(row[3:7])
        mujoco.mju_rotVecQuat(out[t, :3], relpos, q)
        out[t, :3] += row[:3]
        mujoco.mju_mulQuat(out[t, 3:], q, relquat)
    return out


def with_welded_state(model: mujoco.MjModel, binding, episode: Episode) -> Episode:
    """The episode with each welded dynamic body's free joint (`<joint>[0..6]` of `qpos`) at its
    mocap target's recorded pose composed with the weld's relative pose, so every window starts
    with the hand where the weld holds it (a target without recorded orientation keeps the
    model's). Targets without a recorded driver signal are left to `bind_mocap` to report."""
    welded = dict(getattr(binding, "welded_bodies", {}) or {})
    if not welded:
        return episode
    cols: dict[str, np.ndarray] = {}
    if "qpos" in episode.signals:
        sig = episode.signals["qpos"]
        cols = {c: sig.values[:, k] for k, c in enumerate(sig.columns)}
    added = False
    for hand, target in welded.items():
        signal = driver_signal(episode, target)
        if signal is None:
            continue
        values = episode.signals[signal].values
        pose = np.empty((values.shape[0], 7))
        pose[:, :3] = values[:, :3]
        if values.shape[1] == 7:
            pose[:, 3:] = values[:, 3:7]
        else:
            tid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, target)
            pose[:, 3:] = model.body_quat[tid]
        joint = free_joint(model, hand, "binding.welded_bodies")
        for i, column in enumerate(welded_pose(model, hand, target, pose).T):
            cols[f"{joint}[{i}]"] = column
        added = True
    if not added:
        return episode
    unit = episode.signals["qpos"].unit if "qpos" in episode.signals else "m, quaternion"
    values = np.stack(list(cols.values()), axis=1)
    return episode.with_signals(qpos=Signal(values, tuple(cols), unit, "scene"))


REST_STATE = (
    "rest_state"  # episode metadata key: its `qpos` is the model's rest state, not recorded
)


def with_rest_state(model: mujoco.MjModel, binding, episode: Episode) -> Episode:
    """With `binding.start_at_rest`, an episode without `qpos` gets its state joints' qpos0 as a
    constant `qpos` signal (marked in its metadata: replays start there, nothing compares it)."""
    if not getattr(binding, "start_at_rest", False) or "qpos" in episode.signals:
        return episode
    columns, values = [], []
    for joint in binding.state_joints:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
        adr = int(model.jnt_qposadr[jid])
        width = {0: 7, 1: 4}.get(int(model.jnt_type[jid]), 1)
        for i in range(width):
            columns.append(f"{joint}[{i}]" if width > 1 else joint)
            values.append(model.qpos0[adr + i])
    rows = np.tile(np.asarray(values, float), (episode.num_samples, 1))
    return dataclasses.replace(
        episode,
        signals={**episode.signals, "qpos": Signal(rows, tuple(columns), "rest", "scene")},
        metadata={**episode.metadata, REST_STATE: True},
    )
