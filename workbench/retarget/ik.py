"""Differential inverse kinematics along a tool path (mink: a QP per step with joint limits,
joint velocity limits and collision avoidance).

The IK model is the robot among the static objects (`compose(..., keep_free_bodies=False)`):
every joint is a robot joint. Each recorded sample's target is approached in `iterations` QP
steps of dt / iterations, so joint speeds stay within the velocity limit over the sample period.
Collision avoidance keeps `clearance` between robot geoms that are not parent and child, and
between the robot (except its fingertip, which is meant to touch) and the static objects.
"""

from __future__ import annotations

import dataclasses

import mink
import mujoco
import numpy as np

from workbench.errors import RetargetError
from workbench.retarget.compose import TIP_SITE


@dataclasses.dataclass(frozen=True)
class PathFollow:
    """The IK solution along a path.

    Attributes:
      qpos: (T, n) joint positions of the robot [rad or m], model order.
      tool: (T, 3) tool positions reached [m, scene frame].
      error: (T,) distance between reached and target tool positions [m].
      qp_failures: (T,) bool, samples where the QP had no solution (the robot held still).
    """

    qpos: np.ndarray
    tool: np.ndarray
    error: np.ndarray
    qp_failures: np.ndarray


class PathIK:
    """The QP problem of one robot: tasks, limits, and a configuration stepped in place."""

    def __init__(self, model: mujoco.MjModel, robot_bodies, tool_body: str, reference, settings):
        self.model = model
        self.settings = settings
        self.configuration = mink.Configuration(model)
        self.reference = np.asarray(reference, dtype=float)
        self.configuration.update(self.reference)
        self.tool = mink.FrameTask(
            TIP_SITE,
            "site",
            position_cost=1.0,
            orientation_cost=settings.orientation_cost,
            lm_damping=1.0,  # Levenberg-Marquardt: bounded steps toward far or unreachable targets
        )
        self.posture = mink.PostureTask(model, cost=settings.posture_cost)
        self.posture.set_target(self.reference)
        self.orientation = self.configuration.get_transform_frame_to_world(
            TIP_SITE, "site"
        ).rotation()
        joints = [model.joint(j).name for j in range(model.njnt)]
        self.static_limits = [mink.ConfigurationLimit(model, gain=0.95)]
        robot = {mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in robot_bodies}
        tip = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, tool_body)
        robot_geoms = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in robot]
        arm = [g for g in robot_geoms if model.geom_bodyid[g] != tip]
        tip_geoms = [g for g in robot_geoms if model.geom_bodyid[g] == tip]
        static = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) not in robot]
        pairs = [(arm, arm + static)] + ([(tip_geoms, arm)] if tip_geoms else [])
        if settings.clearance > 0 and arm:
            self.static_limits.append(
                mink.CollisionAvoidanceLimit(
                    model,
                    pairs,
                    minimum_distance_from_collisions=settings.clearance,
                    collision_detection_distance=settings.clearance + 0.02,
                )
            )
        self.limits = [
            *self.static_limits,
            mink.VelocityLimit(model, {j: settings.velocity_limit for j in joints}),
        ]

    def tool_position(self) -> np.ndarray:
        return self.configuration.get_transform_frame_to_world(TIP_SITE, "site").translation()

    def aim(self, target: np.ndarray) -> None:
        self.tool.set_target(
            mink.SE3.from_rotation_and_translation(self.orientation, np.asarray(target, float))
        )

    def step(self, dt: float, *, velocity_limited: bool = True) -> bool:
        """One QP step of length dt [s]; False when the QP has no solution (no motion)."""
        limits = self.limits if velocity_limited else self.static_limits
        try:
            v = mink.solve_ik(
                self.configuration,
                [self.tool, self.posture],
                dt,
                solver="daqp",
                damping=1e-6,
                limits=limits,
            )
        except mink.NoSolutionFound:
            return False
        self.configuration.integrate_inplace(v, dt)
        return True

    def settle(self, target: np.ndarray, q0=None, *, steps: int = 300) -> float:
        """Move (without velocity limit) to the configuration reaching `target` from q0 (default:
        the reference pose); returns the remaining tool error [m]."""
        self.configuration.update(self.reference if q0 is None else np.asarray(q0, float))
        self.aim(target)
        for _ in range(steps):
            if not self.step(0.05, velocity_limited=False):
                break
            if np.linalg.norm(self.tool_position() - target) < 1e-5:
                break
        return float(np.linalg.norm(self.tool_position() - target))


def follow_path(ik: PathIK, targets: np.ndarray, dt: float) -> PathFollow:
    """Follow (T, 3) tool targets [m] sampled every dt [s], starting settled on the first one."""
    targets = np.asarray(targets, dtype=float)
    if targets.ndim != 2 or targets.shape[1] != 3 or targets.shape[0] < 1:
        raise RetargetError(f"tool path: expected (T, 3) positions, got shape {targets.shape}")
    T, n = targets.shape[0], ik.model.nq
    qpos, tool = np.empty((T, n)), np.empty((T, 3))
    failures = np.zeros(T, dtype=bool)
    ik.settle(targets[0])
    k = ik.settings.iterations
    for t in range(T):
        ik.aim(targets[t])
        if t > 0:
            for _ in range(k):
                if not ik.step(dt / k):
                    failures[t] = True
                    break
        qpos[t] = ik.configuration.q
        tool[t] = ik.tool_position()
    return PathFollow(qpos, tool, np.linalg.norm(tool - targets, axis=1), failures)
