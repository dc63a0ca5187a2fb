"""First contact between two bodies along a simulated trajectory (geometry, not dynamics)."""

from __future__ import annotations

from collections.abc import Sequence

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


def contact_onset_errors(
    model: mujoco.MjModel,
    trace,
    driven: Sequence[str],
    passive: Sequence[str],
    *,
    threshold: float = 0.001,
) -> dict[str, float]:
    """`contact/<passive>/onset_error_s` of a one-window (open_loop/tracking) trace: the time of
    the first simulated contact of any `driven` body with the passive body minus the time the
    recorded passive body starts moving (`motion_onset`, `threshold` [m]); also the two times
    (`.../sim_contact_s`, `.../real_onset_s`, from the trace's start). Bodies where either event is
    missing are left out. The model's current values apply (geometry such as a tool point)."""
    from workbench.metrics.events import motion_onset
    from workbench.replay.drivers import mocap_rows

    if trace.mode not in ("open_loop", "tracking") or "qpos" not in trace.predicted:
        return {}
    ep, bound = trace.episode, trace.bound
    start = int(trace.starts[0])
    sim = trace.predicted["qpos"][0]
    T = sim.shape[0]
    times = ep.times[start : start + T]
    qpos = np.tile(model.qpos0, (T, 1))
    qpos[:, bound.qpos_index] = sim
    mocap = mocap_rows(model, ep, bound.mocap)[start : start + T] if model.nmocap else None
    out = {}
    for obj in passive:
        signal = f"body_pose:{obj}"
        if signal not in ep.signals:
            continue
        real = motion_onset(
            ep.signals[signal].values[start : start + T, :3], times, threshold=threshold
        )
        hits = [first_contact(model, qpos, mocap, times, hand, obj) for hand in driven]
        hits = [h for h in hits if h is not None]
        if real is None or not hits:
            continue
        t0 = float(times[0])
        out[f"contact/{obj}/onset_error_s"] = min(hits) - real
        out[f"contact/{obj}/sim_contact_s"] = min(hits) - t0
        out[f"contact/{obj}/real_onset_s"] = real - t0
    return out
