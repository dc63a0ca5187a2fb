"""Stability of a model's settings: step it and look for the ways MuJoCo fails.

Deformables fail quietly: MuJoCo does not raise on a blow-up, it counts a warning
(`mjWARN_BADQACC`: NaN, Inf or huge acceleration), resets the state to qpos0 and keeps going, so
the output looks finite. `check_stability` steps a model for a given simulated time (optionally
driving it each step, e.g. moving mocap bodies) and reports the first of:

- a MuJoCo warning counter that rose (bad qpos/qvel/qacc, contact or constraint buffer full),
- NaN or Inf in qpos/qvel,
- kinetic-energy blow-up: the RMS speed sqrt(2 KE / total mass) above `max_speed` [m/s].

`require_stable` raises SimulationDiverged with that reason.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import mujoco
import numpy as np

from workbench.errors import SimulationDiverged

_WARNINGS = {
    mujoco.mjtWarning.mjWARN_INERTIA: "inertia too small or not positive-definite",
    mujoco.mjtWarning.mjWARN_CONTACTFULL: "contact buffer full",
    mujoco.mjtWarning.mjWARN_CNSTRFULL: "constraint buffer full",
    mujoco.mjtWarning.mjWARN_BADQPOS: "NaN/Inf/huge value in qpos (state reset)",
    mujoco.mjtWarning.mjWARN_BADQVEL: "NaN/Inf/huge value in qvel (state reset)",
    mujoco.mjtWarning.mjWARN_BADQACC: "NaN/Inf/huge value in qacc (state reset)",
    mujoco.mjtWarning.mjWARN_BADCTRL: "NaN/Inf/huge value in ctrl",
}

Drive = Callable[[mujoco.MjModel, mujoco.MjData], None]


@dataclasses.dataclass(frozen=True)
class StabilityReport:
    """Outcome of `check_stability`.

    stable: no failure found; reason: '' or what failed and when; time: simulated seconds
    reached; warnings: MuJoCo warning name -> count; max_rms_speed: [m/s];
    steps_per_second: wall-clock stepping rate (drive and checks included).
    """

    stable: bool
    reason: str
    time: float
    steps: int
    warnings: dict[str, int]
    max_rms_speed: float
    steps_per_second: float


def _warning_counts(data: mujoco.MjData) -> dict[str, int]:
    return {
        w.name: int(data.warning[int(w)].number)
        for w in _WARNINGS
        if data.warning[int(w)].number > 0
    }


def check_stability(
    model: mujoco.MjModel,
    *,
    seconds: float = 5.0,
    drive: Drive | None = None,
    data: mujoco.MjData | None = None,
    max_speed: float = 20.0,
    check_every: int = 10,
) -> StabilityReport:
    """Step `model` for `seconds` of simulated time and report the first failure (module doc).

    `drive(model, data)` is called before every step (set mocap_pos, ctrl, ...). `data` (default:
    a fresh MjData at qpos0) is stepped in place.
    """
    if not np.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"seconds: expected a number > 0, got {seconds!r}")
    data = mujoco.MjData(model) if data is None else data
    steps = int(round(seconds / model.opt.timestep))
    total_mass = float(model.body_subtreemass[0]) or 1.0
    max_rms = 0.0
    start = time.perf_counter()
    reason = ""
    step = 0
    for step in range(1, steps + 1):
        if drive is not None:
            drive(model, data)
        mujoco.mj_step(model, data)
        if step % check_every and step != steps:
            continue
        counts = _warning_counts(data)
        if counts:
            first = next(iter(counts))
            reason = (
                f"MuJoCo warning {first} ({_WARNINGS[mujoco.mjtWarning.__members__[first]]}) "
                f"by t={data.time:.4g} s"
            )
            break
        if not (np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()):
            reason = f"NaN or Inf in the state by t={data.time:.4g} s"
            break
        mujoco.mj_energyVel(model, data)
        rms = float(np.sqrt(max(2.0 * data.energy[1], 0.0) / total_mass))
        max_rms = max(max_rms, rms)
        if rms > max_speed:
            reason = (
                f"kinetic energy blow-up: RMS speed {rms:.3g} m/s > {max_speed:g} m/s "
                f"by t={data.time:.4g} s"
            )
            break
    wall = time.perf_counter() - start
    return StabilityReport(
        stable=not reason,
        reason=reason,
        time=float(data.time),
        steps=step,
        warnings=_warning_counts(data),
        max_rms_speed=max_rms,
        steps_per_second=step / wall if wall > 0 else float("inf"),
    )


def require_stable(model: mujoco.MjModel, *, what: str = "model", **kwargs) -> StabilityReport:
    """`check_stability`, raising SimulationDiverged (with the reason and settings) on failure."""
    report = check_stability(model, **kwargs)
    if not report.stable:
        raise SimulationDiverged(
            f"{what}: unstable at timestep {model.opt.timestep:g} s "
            f"(integrator {mujoco.mjtIntegrator(model.opt.integrator).name}): {report.reason}; "
            "expected a smaller timestep or more damping"
        )
    return report
