"""Actuators of a robot spec for replay: joint-torque motors, or position servos, per actuated joint.

- `torque_motors`: every joint-transmission actuator becomes a motor on the same joint with the
  same name, its force range as control range (a bounded force range, else the joint's
  `actuatorfrcrange`, e.g. a URDF effort limit; unbounded when neither is set). With `all_joints`
  (or when the spec has no actuators, e.g. a URDF), every hinge and slide joint without an
  actuator gets one too, named after the joint.
- `position_servos`: the same joints get position actuators critically damped at `bandwidth_hz`
  about their joint-space inertia at the reference pose (kp = M w^2, kv = 2 M w, w = 2 pi f,
  M = `dof_M0` + armature), control range = joint range when limited, force range = the torque
  bound.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from workbench.errors import SceneError

_MOVABLE = (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE)


def _bounded(limited, low_high) -> bool:
    return limited == mujoco.mjtLimited.mjLIMITED_TRUE or (
        limited == mujoco.mjtLimited.mjLIMITED_AUTO and low_high[0] < low_high[1]
    )


def actuated_joints(spec: mujoco.MjSpec, *, where: str, all_joints: bool = False):
    """[(actuator name, joint name, (low, high) torque bound or None)] in spec order: one per
    joint-transmission actuator, then (with `all_joints` or no actuators) every other hinge or
    slide joint. Unnamed joints must have been named. SceneError for actuators that drive
    tendons, sites or bodies."""
    joints = {j.name: j for j in spec.joints}
    out, seen = [], set()
    for act in spec.actuators:
        if act.trntype not in (mujoco.mjtTrn.mjTRN_JOINT, mujoco.mjtTrn.mjTRN_JOINTINPARENT):
            kind = mujoco.mjtTrn(act.trntype).name[7:].lower()
            raise SceneError(
                f"{where}: actuator {act.name!r} drives a {kind} ({act.target!r}); joint-torque or "
                "position actuation expects joint actuators only; use --actuation as-is"
            )
        joint = joints.get(act.target)
        if joint is None:
            raise SceneError(f"{where}: actuator {act.name!r}: unknown joint {act.target!r}")
        bound = None
        if _bounded(act.forcelimited, act.forcerange):
            bound = tuple(float(v) for v in act.forcerange)
        elif _bounded(joint.actfrclimited, joint.actfrcrange):
            bound = tuple(float(v) for v in joint.actfrcrange)
        out.append((act.name or joint.name, joint.name, bound))
        seen.add(joint.name)
    if all_joints or not out:
        for joint in spec.joints:
            if joint.type in _MOVABLE and joint.name not in seen:
                bound = None
                if _bounded(joint.actfrclimited, joint.actfrcrange):
                    bound = tuple(float(v) for v in joint.actfrcrange)
                out.append((joint.name, joint.name, bound))
    names = [a for a, _, _ in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SceneError(f"{where}: actuator names expected unique, got {twice} more than once")
    return out


def _clear(spec: mujoco.MjSpec) -> None:
    for act in list(spec.actuators):
        spec.delete(act)


def torque_motors(spec: mujoco.MjSpec, *, where: str, all_joints: bool = False) -> list[str]:
    """Replace the spec's actuators by joint-torque motors (see module doc); returns the joints."""
    plan = actuated_joints(spec, where=where, all_joints=all_joints)
    _clear(spec)
    for name, joint, bound in plan:
        spec.add_actuator(
            name=name,
            target=joint,
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            ctrllimited=bound is not None,
            ctrlrange=list(bound) if bound is not None else [0, 0],
        )
    return [joint for _, joint, _ in plan]


def position_servos(
    spec: mujoco.MjSpec, *, where: str, bandwidth_hz: float = 10.0, all_joints: bool = False
) -> list[str]:
    """Replace the spec's actuators by critically damped position servos (see module doc)."""
    plan = actuated_joints(spec, where=where, all_joints=all_joints)
    try:
        model = spec.compile()
    except ValueError as exc:
        raise SceneError(f"{where}: does not compile: {exc}") from exc
    omega = 2 * math.pi * bandwidth_hz
    _clear(spec)
    for name, joint_name, bound in plan:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint_name)
        dof = int(model.jnt_dofadr[jid])
        inertia = float(model.dof_M0[dof] + model.dof_armature[dof])
        act = spec.add_actuator(name=name, target=joint_name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=inertia * omega**2, kv=2 * inertia * omega)
        joint_range = np.asarray(model.jnt_range[jid], dtype=float)
        if model.jnt_limited[jid]:
            act.ctrllimited, act.ctrlrange = mujoco.mjtLimited.mjLIMITED_TRUE, joint_range
        if bound is not None:
            act.forcelimited, act.forcerange = mujoco.mjtLimited.mjLIMITED_TRUE, list(bound)
    return [joint for _, joint, _ in plan]
