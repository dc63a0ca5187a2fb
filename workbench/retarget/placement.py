"""Where to put the robot's base so it can follow a path.

Candidates stand on the plane z = 0 of the objects scene (the table top of kinova_push) on a grid
of `step` around the path's footprint (its xy centroid -0.8 .. +0.4 m along x, +-0.4 m along
y), each turned to face the centroid; a candidate closer than `keep_out` (xy) to any path point
or to a movable object is skipped (the robot cannot stand where the hand goes). Each is scored
by following the path (every `stride`-th sample, same velocity limits per second) and ranked
by: fraction of samples reachable (higher first), then median tool error, then the smallest
joint-limit margin (larger first).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from workbench.errors import RetargetError
from workbench.retarget.assess import joint_margins
from workbench.retarget.compose import compile_quietly, compose
from workbench.retarget.ik import PathIK, follow_path


@dataclasses.dataclass(frozen=True)
class Placement:
    """The chosen base (x y z [m], yaw [deg]) and the score of every candidate tried."""

    base: tuple[float, float, float, float]
    candidates: tuple[dict, ...]


def candidates(
    path: np.ndarray, obstacles: np.ndarray, *, step: float = 0.2, keep_out: float = 0.2
) -> list[tuple[float, float, float, float]]:
    """Base poses around the path's xy footprint (see module doc)."""
    centre = path[:, :2].mean(0)
    out = []
    for dx in np.arange(-0.8, 0.4 + 1e-9, step):
        for dy in np.arange(-0.4, 0.4 + 1e-9, step):
            xy = centre + [dx, dy]
            near = np.linalg.norm(np.r_[path[:, :2], obstacles.reshape(-1, 2)] - xy, axis=1)
            if near.min() < keep_out:
                continue
            yaw = math.degrees(math.atan2(centre[1] - xy[1], centre[0] - xy[0]))
            out.append((float(xy[0]), float(xy[1]), 0.0, float(yaw)))
    return out


def choose_base(
    robot, objects, settings, path: np.ndarray, dt: float, *, stride: int = 5
) -> Placement:
    """The best base for following `path` ((T, 3) [m], sampled every dt [s]); see module doc."""
    model = objects.model
    movable = np.array(
        [model.body(b).pos[:2] for b in range(1, model.nbody) if model.body_jntnum[b] > 0]
    )
    poses = candidates(path, movable)
    if not poses:
        raise RetargetError(
            "--base auto: no base candidate stands clear of the path; give --base x,y,z,yaw"
        )
    sub = path[::stride]
    scored = []
    for base in poses:
        comp = compose(robot, objects, settings, base, keep_free_bodies=False)
        ik_model = compile_quietly(comp.make_spec)
        ik = PathIK(ik_model, comp.robot_bodies, comp.tool_body, comp.reference, settings)
        follow = follow_path(ik, sub, dt * stride)
        margins = joint_margins(ik_model, follow.qpos)
        scored.append(
            {
                "base": list(base),
                "reachable_fraction": float(np.mean(follow.error <= settings.tolerance)),
                "median_error_m": float(np.median(follow.error)),
                "min_margin": min((m["margin"] for m in margins.values()), default=0.0),
            }
        )
    best = max(
        scored,
        key=lambda s: (
            round(s["reachable_fraction"], 3),
            -round(s["median_error_m"], 4),
            s["min_margin"],
        ),
    )
    return Placement(tuple(best["base"]), tuple(scored))
