"""Error measures on arrays (pure numpy; NaN marks samples that were not simulated)."""

from __future__ import annotations

import numpy as np


def quat_geodesic_deg(q_sim: np.ndarray, q_real: np.ndarray) -> np.ndarray:
    """(...,) rotation angle [deg] between unit quaternions (..., 4) stored w, x, y, z.

    Normalises both; sign-invariant (q and -q are the same rotation).
    """
    a = q_sim / np.linalg.norm(q_sim, axis=-1, keepdims=True)
    b = q_real / np.linalg.norm(q_real, axis=-1, keepdims=True)
    dot = np.clip(np.abs(np.sum(a * b, axis=-1)), 0.0, 1.0)
    return np.degrees(2.0 * np.arccos(dot))


def pose_errors(sim: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position error [m] and geodesic rotation error [deg] of (..., 7) poses (x y z qw qx qy qz)."""
    return (
        np.linalg.norm(sim[..., :3] - real[..., :3], axis=-1),
        quat_geodesic_deg(sim[..., 3:7], real[..., 3:7]),
    )


def summary(err: np.ndarray) -> dict[str, float]:
    """rmse, mae, max and final (last finite) of a (T,) error series; NaNs ignored."""
    finite = err[np.isfinite(err)]
    if finite.size == 0:
        return {
            "rmse": float("nan"),
            "mae": float("nan"),
            "max": float("nan"),
            "final": float("nan"),
        }
    return {
        "rmse": float(np.sqrt(np.mean(finite**2))),
        "mae": float(np.mean(np.abs(finite))),
        "max": float(np.max(np.abs(finite))),
        "final": float(np.abs(finite[-1])),
    }


def first_exceedance(err: np.ndarray, threshold: float, dt: float) -> float:
    """Time [s] of the first sample whose |error| exceeds threshold (or a NaN sample: diverged);
    the series' duration when it never does (right-censored)."""
    over = ~(np.abs(err) <= threshold)
    return float(np.argmax(over) * dt) if over.any() else float((err.shape[0] - 1) * dt)


def impact_index(z: np.ndarray, dt: float, *, dv: float = 0.3) -> int | None:
    """Index of the first impact in a height series: vertical velocity jumps up by more than `dv`
    [m/s] between consecutive samples (free flight only ever lowers it by g*dt). None if none."""
    vz = np.diff(z) / dt
    jumps = np.flatnonzero(np.diff(vz) > dv)
    return int(jumps[0] + 1) if jumps.size else None
