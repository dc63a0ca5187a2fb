"""When a simulated window went unstable, and why.

`mujoco.rollout` stops a rollout at MuJoCo's first warning (a NaN or a value beyond `mjMAXVAL`
in qpos/qvel/qacc makes `mj_step` reset the data and warn; full contact or constraint buffers
warn too): every later output repeats the state after the failing step, so the clock stops. The
replay finds the failing step from the clock (`failed_steps`), and names the warning by re-running
that one window with a plain `mj_step` loop (`warning_reason`).
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np

from workbench.replay.drivers import control_spec
from workbench.replay.rollout import STATE_SPEC

STATE_LIMIT = float(mujoco.mjMAXVAL)  # MuJoCo's own bound on |qpos|, |qvel|, |qacc|
REASONS = ("nan", "state limit", "mujoco warning")


@dataclasses.dataclass(frozen=True)
class Divergence:
    """The first unstable window of a replayed episode.

    Attributes:
      time_s: seconds after the episode's first sample at which the simulation became unstable:
        the start of the failing simulation step, or the window start when the recorded state
        it starts from is already non-finite or beyond `STATE_LIMIT`.
      reason: "nan" (non-finite state), "state limit" (|qpos| or |qvel| > 1e10) or
        "mujoco warning <name>" (e.g. "mujoco warning mjWARN_BADQACC").
      window_start_s: seconds after the episode's first sample at which that window starts.
    """

    time_s: float
    reason: str
    window_start_s: float = 0.0

    def as_dict(self) -> dict[str, float | str]:
        return dataclasses.asdict(self)


def state_reason(values: np.ndarray) -> str | None:
    """ "nan", "state limit" or None for a state vector (or any array of state values)."""
    if not np.isfinite(values).all():
        return "nan"
    if values.size and np.abs(values).max() > STATE_LIMIT:
        return "state limit"
    return None


def failed_steps(init: np.ndarray, states: np.ndarray, timestep: float | np.ndarray) -> np.ndarray:
    """(B,) index of the step during which each rollout hit a MuJoCo warning, or -1.

    `init`: (B, nstate) full-physics initial states; `states`: (B, nstep, nstate) rollout output;
    `timestep`: [s], a scalar or (B, 1). A step whose output time is not start + (step + 1) *
    timestep was reset or frozen; a frozen output (equal to the previous one) means the warning
    came in the step before it.
    """
    B, nstep = states.shape[:2]
    out = np.full(B, -1, dtype=int)
    if nstep == 0:
        return out
    t0 = init[:, :1]
    expected = t0 + timestep * np.arange(1, nstep + 1)[None, :]
    time = states[..., 0]
    bad = ~(np.abs(time - expected) <= 1e-9 + 1e-9 * np.abs(expected))
    bad |= ~np.isfinite(states).all(axis=-1)
    for b in np.flatnonzero(bad.any(axis=1)):
        f = int(np.argmax(bad[b]))
        frozen = f > 0 and np.array_equal(states[b, f], states[b, f - 1])
        out[b] = f - 1 if frozen else f
    return out


def warning_reason(
    model: mujoco.MjModel, init: np.ndarray, ctrl: np.ndarray | None, step: int
) -> str:
    """Re-run one window with `mj_step` up to `step` and name the first MuJoCo warnings it raises:
    "mujoco warning mjWARN_BADQACC" (several joined by '+'), or "mujoco warning" if none repeats."""
    data = mujoco.MjData(model)
    mujoco.mj_resetData(model, data)
    mujoco.mj_setState(model, data, init, STATE_SPEC)
    spec = control_spec(model, ctrl.shape[-1]) if ctrl is not None else 0
    for k in range(step + 1):
        if ctrl is not None and ctrl.shape[-1]:
            mujoco.mj_setState(model, data, ctrl[k], spec)
        mujoco.mj_step(model, data)
        raised = [w for w in range(len(data.warning)) if data.warning[w].number]
        if raised:
            return "mujoco warning " + "+".join(mujoco.mjtWarning(w).name for w in raised)
    return "mujoco warning"
