"""How well a robot followed a path: error statistics, the stretches it could not follow (and
why), and how close the joints came to their limits."""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np

from workbench.retarget.ik import PathFollow, PathIK


@dataclasses.dataclass(frozen=True)
class Stretch:
    """A run of consecutive samples whose tool error exceeds the tolerance.

    kind: "unreachable" (the worst target of the stretch is out of reach even without velocity
    limits, starting from where the stretch began) or "infeasible" (reachable, but not at the
    recorded speed within the joint velocity limits, joint limits and clearance).
    """

    start_s: float
    end_s: float
    samples: int
    max_error_m: float
    kind: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of the True runs of a (T,) bool mask."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def stretches(
    ik: PathIK, times: np.ndarray, targets: np.ndarray, follow: PathFollow, tolerance: float
) -> list[Stretch]:
    """The stretches where the error exceeds `tolerance` [m], each classified (see Stretch)."""
    out = []
    for start, stop in runs(follow.error > tolerance):
        worst = start + int(np.argmax(follow.error[start:stop]))
        left = ik.settle(targets[worst], follow.qpos[start])
        out.append(
            Stretch(
                float(times[start]),
                float(times[stop - 1]),
                int(stop - start),
                float(follow.error[worst]),
                "unreachable" if left > tolerance else "infeasible",
            )
        )
    return out


def joint_margins(model: mujoco.MjModel, qpos: np.ndarray) -> dict[str, dict]:
    """Per limited joint: the smallest distance to either limit over the path [rad or m], its
    fraction of the range, and the joint's lowest and highest position."""
    out = {}
    for j in range(model.njnt):
        if not model.jnt_limited[j]:
            continue
        low, high = model.jnt_range[j]
        q = qpos[:, model.jnt_qposadr[j]]
        margin = float(min(q.min() - low, high - q.max()))
        out[model.joint(j).name] = {
            "margin": margin,
            "margin_fraction": margin / float(high - low),
            "min": float(q.min()),
            "max": float(q.max()),
        }
    return out


def summary(times: np.ndarray, follow: PathFollow, tolerance: float) -> dict[str, float]:
    """Median, 95th percentile and largest tool error [m], the fraction of samples within
    `tolerance`, and the QP failures."""
    e = follow.error
    return {
        "median_error_m": float(np.median(e)),
        "p95_error_m": float(np.percentile(e, 95)),
        "max_error_m": float(e.max()),
        "reachable_fraction": float(np.mean(e <= tolerance)),
        "samples": int(e.size),
        "qp_failures": int(follow.qp_failures.sum()),
        "duration_s": float(times[-1] - times[0]),
    }
