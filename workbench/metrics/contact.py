"""First contact between two bodies along a simulated trajectory (geometry, not dynamics)."""

from __future__ import annotations

import mujoco
import numpy as np

from workbench.errors import SettingsError


def body_geoms(model: mujoco.MjModel, body: str) -> list[int]:
    """Geoms of a body and of its descendants that are welded to it (e.g. a finger on a hand)."""
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    if bid < 0:
        names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)]
        raise SettingsError(f"contact body {body!r}: unknown; bodies are {names}")
    family = {bid}
    for b in range(model.nbody):
        parent = b
        while parent not in family and parent != 0:
            parent = int(model.body_parentid[parent])
        if parent in family and model.body_weldid[b] == model.body_weldid[bid]:
            family.add(b)
    return [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in family]


def first_contact(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    mocap: np.ndarray | None,
    times: np.ndarray,
    body1: str,
    body2: str,
    *,
    margin: float = 0.0,
) -> float | None:
    """Time [s] of the first sample at which any geom of `body1` is within `margin` [m] of a geom
    of `body2`, given (T, nq) positions and (T, 7 nmocap) mocap poses (pos then quat); None if
    never. NaN rows (a diverged replay) end the search."""
    data = mujoco.MjData(model)
    g1, g2 = body_geoms(model, body1), body_geoms(model, body2)
    n = model.nmocap
    for t in range(qpos.shape[0]):
        if not np.isfinite(qpos[t]).all():
            return None
        data.qpos[:] = qpos[t]
        if mocap is not None and n:
            data.mocap_pos[:] = mocap[t, : 3 * n].reshape(n, 3)
            data.mocap_quat[:] = mocap[t, 3 * n :].reshape(n, 4)
        mujoco.mj_kinematics(model, data)
        for a in g1:
            for b in g2:
                if mujoco.mj_geomDistance(model, data, a, b, margin + 1e-3, None) <= margin:
                    return float(times[t])
    return None
