"""Kinematic observations of simulated states: poses of tracked bodies (any body, free joint or
not) and positions of scene markers, by forward kinematics of the simulated qpos (with the
mocap poses that drove it), for comparison with `body_pose:<body>` and `marker:<name>`
recordings.
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np

from workbench.scenes.markers import MarkerSet


@dataclasses.dataclass(frozen=True)
class Observed:
    """What a replay observes besides its joint state.

    bodies: ((body id, `body_pose:<body>` signal, recorded columns 3 or 7), ...) tracked bodies.
    markers: scene markers compared with `marker:<name>` signals (`signals`, in order), or None.
    """

    bodies: tuple[tuple[int, str, int], ...] = ()
    markers: MarkerSet | None = None
    signals: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.bodies) or self.markers is not None


def observe(
    model: mujoco.MjModel, observed: Observed, qpos: np.ndarray, mocap: np.ndarray | None
) -> dict[str, np.ndarray]:
    """signal -> (L, k) simulated values: `body_pose:<body>` (x y z [m], qw qx qy qz, or x y z
    for 3-column recordings) and `marker:<name>` (x y z [m]) from (L, nq) positions and (L,
    7 nmocap) mocap poses (pos then quat); rows with a non-finite qpos are NaN."""
    L = qpos.shape[0]
    data = mujoco.MjData(model)
    n = model.nmocap
    bodies = np.full((L, len(observed.bodies), 7), np.nan)
    k = 0 if observed.markers is None else len(observed.markers.names)
    marks = np.full((L, k, 3), np.nan)
    flex = observed.markers is not None and "flex" in observed.markers.kinds
    ids = [b for b, _, _ in observed.bodies]
    for t in range(L):
        if not np.isfinite(qpos[t]).all():
            continue
        data.qpos[:] = qpos[t]
        if mocap is not None and n:
            data.mocap_pos[:] = mocap[t, : 3 * n].reshape(n, 3)
            data.mocap_quat[:] = mocap[t, 3 * n :].reshape(n, 4)
        mujoco.mj_kinematics(model, data)
        if flex:
            mujoco.mj_flex(model, data)
        if ids:
            bodies[t, :, :3] = data.xpos[ids]
            bodies[t, :, 3:] = data.xquat[ids]
        if k:
            marks[t] = observed.markers.positions(data)
    out = {}
    for j, (_, signal, width) in enumerate(observed.bodies):
        out[signal] = bodies[:, j, :width]
    for j, signal in enumerate(observed.signals):
        out[signal] = marks[:, j]
    return out
