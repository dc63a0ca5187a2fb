"""Checks of a scene's kinematic drivers (driven mocap bodies, driven joints with position
actuators) and passive free bodies, at scene load; used by `workbench.replay.drivers`."""

from __future__ import annotations

import mujoco

from workbench.errors import SceneError, name_list


def check_driven(model: mujoco.MjModel, binding, where: str) -> None:
    """SceneError unless every driven body is a mocap body and every driven joint exists and has
    a position actuator (a servo whose reference is the recorded position) on it."""
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)]
    mocap = [names[b] for b in range(model.nbody) if model.body_mocapid[b] >= 0]
    for body in getattr(binding, "driven_bodies", ()):
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
        if bid < 0:
            raise SceneError(
                f"{where}: binding.driven_bodies: unknown body {body!r}; valid: {name_list(names)}"
            )
        if model.body_mocapid[bid] < 0:
            joints = [
                mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
                for j in range(model.njnt)
                if model.jnt_bodyid[j] == bid
            ]
            got = f"a body with joints {joints}" if joints else 'a body without mocap="true"'
            raise SceneError(
                f"{where}: binding.driven_bodies: body {body!r}: expected a mocap body "
                f'(mocap="true", a child of the world; weld a dynamic hand to it for physical '
                f"contact forces), got {got}; mocap bodies: {name_list(mocap)}"
            )
    joints = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]
    for joint in getattr(binding, "driven_joints", ()):
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
        if jid < 0:
            raise SceneError(
                f"{where}: binding.driven_joints: unknown joint {joint!r}; valid: {name_list(joints)}"
            )
        if driving_actuator(model, jid) is None:
            raise SceneError(
                f"{where}: binding.driven_joints: joint {joint!r}: expected a position actuator "
                f'on it (<position joint="{joint}" kp=.../>) to follow the recorded position, '
                "got none"
            )


def driving_actuator(model: mujoco.MjModel, jid: int) -> int | None:
    """The actuator that servoes joint `jid` to its ctrl (a position servo: bias -kp * q), or None."""
    for a in range(model.nu):
        if (
            model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT
            and model.actuator_trnid[a, 0] == jid
            and model.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE
            and model.actuator_biasprm[a, 1] < 0
        ):
            return a
    return None


def free_joint(model: mujoco.MjModel, body: str, where: str = "scene") -> str:
    """Name of the free joint of `body` (SceneError if it has none)."""
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    for j in range(model.njnt):
        if model.jnt_bodyid[j] == bid and model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
            return mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
    raise SceneError(
        f"{where}: binding.passive_bodies: body {body!r}: expected a body with a free joint (its recorded "
        "pose is the joint's state), got none"
    )


def check_passive(model: mujoco.MjModel, binding, where: str) -> None:
    """SceneError unless passive bodies have free joints and passive joints exist."""
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)]
    for body in getattr(binding, "passive_bodies", ()):
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body) < 0:
            raise SceneError(
                f"{where}: binding.passive_bodies: unknown body {body!r}; valid: {name_list(names)}"
            )
        free_joint(model, body, where)
    joints = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]
    for joint in getattr(binding, "passive_joints", ()):
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint) < 0:
            raise SceneError(
                f"{where}: binding.passive_joints: unknown joint {joint!r}; valid: "
                f"{name_list(joints)}"
            )
    driven = set(getattr(binding, "driven_joints", ()))
    both = sorted(driven & set(getattr(binding, "passive_joints", ())))
    if both:
        raise SceneError(
            f"{where}: binding: joints {both} are both driven_joints and passive_joints; "
            "expected each in one list"
        )


def weld_between(model: mujoco.MjModel, a: int, b: int) -> int | None:
    """Id of an active-at-start weld equality between bodies a and b (either order), or None."""
    for e in range(model.neq):
        if (
            model.eq_type[e] == mujoco.mjtEq.mjEQ_WELD
            and model.eq_objtype[e] == mujoco.mjtObj.mjOBJ_BODY
            and {int(model.eq_obj1id[e]), int(model.eq_obj2id[e])} == {a, b}
        ):
            return e
    return None


def check_welded(model: mujoco.MjModel, binding, where: str) -> None:
    """SceneError unless each welded dynamic body has a free joint, its target is one of the
    driven (mocap) bodies, and a weld equality joins the two."""
    driven = tuple(getattr(binding, "driven_bodies", ()))
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)]
    for body, target in dict(getattr(binding, "welded_bodies", {}) or {}).items():
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
        if bid < 0:
            raise SceneError(
                f"{where}: binding.welded_bodies: unknown body {body!r}; valid: {name_list(names)}"
            )
        if target not in driven:
            raise SceneError(
                f"{where}: binding.welded_bodies.{body}: expected one of the driven_bodies "
                f"{list(driven)} as its target, got {target!r}"
            )
        free = [
            j
            for j in range(model.njnt)
            if model.jnt_bodyid[j] == bid and model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE
        ]
        if not free:
            raise SceneError(
                f"{where}: binding.welded_bodies.{body}: expected a body with a free joint (a "
                "dynamic hand that the weld pulls), got none"
            )
        tid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, target)
        if weld_between(model, tid, bid) is None:
            raise SceneError(
                f"{where}: binding.welded_bodies.{body}: expected a weld equality between "
                f'{target!r} and {body!r} in the MJCF (<weld body1="{target}" '
                f'body2="{body}"/>), got none'
            )
