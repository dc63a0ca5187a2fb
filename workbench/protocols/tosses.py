"""The cube-toss protocol of Acosta, Bianchini, Posa, "Validating Robotics Simulators on Real-World
Impacts" (RA-L 2022), on the ContactNets tosses.

- Each toss starts `lead_samples` samples before the first sample that could touch the table
  (centre height <= h * sqrt(3), h the half width).
- Its initial linear velocity is re-fitted from the pre-contact flight: a least-squares parabola
  with known gravity through the samples before that first possible touch.
- Scores per toss: ContactNets' mean position error in % of the cube width, mean geodesic rotation
  error [deg], penetration of the simulated cube into the table [mm], and Acosta's loss
  e_q = mean_t(|dp_t|^2 / h + theta_t^2) (dp [m], theta [rad]).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np

from workbench.episode import Episode, Signal
from workbench.errors import EpisodeError
from workbench.metrics.errors import pose_errors
from workbench.replay.trace import SimTrace


@dataclasses.dataclass(frozen=True)
class TossProtocol:
    """Settings of the protocol; `body` is the free joint whose qpos/qvel columns hold the pose."""

    half_width: float = 0.0524
    gravity: float = 9.81
    lead_samples: int = 3
    body: str = "cube"


def _columns(sig: Signal, body: str, n: int) -> list[int]:
    want = [f"{body}[{i}]" for i in range(n)]
    missing = [c for c in want if c not in sig.columns]
    if missing:
        raise EpisodeError(f"toss protocol: expected columns {want}, missing {missing}")
    return [sig.columns.index(c) for c in want]


def first_touch(episode: Episode, protocol: TossProtocol = TossProtocol()):
    """(qpos signal, qvel signal, qpos columns, qvel columns, index of the first sample where the
    cube's centre comes within h*sqrt(3) of the table: the first possible contact)."""
    qpos, qvel = episode.signal("qpos"), episode.signal("qvel")
    qc, vc = _columns(qpos, protocol.body, 7), _columns(qvel, protocol.body, 6)
    z = qpos.values[:, qc[2]]
    reach = np.flatnonzero(z <= protocol.half_width * np.sqrt(3))
    if reach.size == 0:
        raise EpisodeError(f"toss {episode.id!r}: never comes within h*sqrt(3) of the table")
    return qpos, qvel, qc, vc, int(reach[0])


def prepare_toss(episode: Episode, protocol: TossProtocol = TossProtocol()) -> Episode:
    """Trim a toss to start just before its first possible contact; re-fit its initial velocity."""
    qpos, qvel, qc, vc, touch = first_touch(episode, protocol)
    start = max(touch - protocol.lead_samples, 0)
    if episode.num_samples - start < 2:
        raise EpisodeError(
            f"toss {episode.id!r}: fewer than 2 samples after the start sample {start}"
        )
    flight = max(touch, 2)
    t = episode.times[:flight] - episode.times[start]
    design = np.stack([np.ones(flight), t], axis=1)
    velocity = qvel.values.copy()
    for k in range(3):
        y = qpos.values[:flight, qc[k]] + (0.5 * protocol.gravity * t**2 if k == 2 else 0.0)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        velocity[start, vc[k]] = coef[1]  # d/dt of the parabola at the start sample (t = 0)
    refit = episode.with_signals(qvel=dataclasses.replace(qvel, values=velocity))
    trimmed = refit.slice(start, episode.num_samples)
    return dataclasses.replace(
        trimmed,
        metadata={
            **episode.metadata,
            "toss_start_sample": start,
            "first_possible_touch_sample": touch,
        },
    )


def _penetration(poses: np.ndarray, h: float) -> np.ndarray:
    """(T,) depth [m] of the lowest cube corner below z = 0 (0 when above)."""
    corners = np.array(list(itertools.product((-h, h), repeat=3)))
    w, x, y, z = (poses[:, 3 + i] for i in range(4))
    norm = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / norm, x / norm, y / norm, z / norm
    # third row of the rotation matrix: world z of body axes
    rz = np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1)
    lowest = poses[:, 2] + (rz @ corners.T).min(axis=1)
    return np.maximum(0.0, -lowest)


def toss_scores(trace: SimTrace, protocol: TossProtocol = TossProtocol()) -> dict[str, float]:
    """Scores of one open-loop replay of a prepared toss."""
    cols = _columns(trace.episode.signal("qpos"), protocol.body, 7)
    sim = trace.predicted["qpos"][0][:, cols]
    real = trace.recorded("qpos")[0][:, cols]
    ok = np.all(np.isfinite(sim), axis=1)
    if not ok.any():
        nan = float("nan")
        return {
            "position_error_pct_width": nan,
            "rotation_error_deg": nan,
            "penetration_mm": nan,
            "e_q": nan,
        }
    dp, theta = pose_errors(sim[ok], real[ok])
    h = protocol.half_width
    return {
        "position_error_pct_width": float(100.0 * np.mean(dp) / (2 * h)),
        "rotation_error_deg": float(np.mean(theta)),
        "penetration_mm": float(1000.0 * np.max(_penetration(sim[ok], h))),
        "e_q": float(np.mean(dp**2 / h + np.radians(theta) ** 2)),
    }


def score_tosses(
    traces: Sequence[SimTrace], protocol: TossProtocol = TossProtocol()
) -> dict[str, float]:
    """The protocol's summary over tosses: median and mean position error [% width], mean rotation
    error [deg], mean of per-toss max penetration [mm], mean e_q; plus n and diverged tosses."""
    per = [toss_scores(t, protocol) for t in traces]
    col = {k: np.array([p[k] for p in per]) for k in per[0]} if per else {}
    fin = {k: v[np.isfinite(v)] for k, v in col.items()}
    return {
        "n": len(per),
        "diverged": int(sum(t.diverged.any() for t in traces)),
        "median_position_error_pct_width": float(np.median(fin["position_error_pct_width"])),
        "mean_position_error_pct_width": float(np.mean(fin["position_error_pct_width"])),
        "mean_rotation_error_deg": float(np.mean(fin["rotation_error_deg"])),
        "mean_penetration_mm": float(np.mean(fin["penetration_mm"])),
        "mean_e_q": float(np.mean(fin["e_q"])),
    }
