"""The tracking-servo variant of a scene: one PD + feed-forward actuator per tracked joint.

Actuator force = kp * ctrl - kp * q - kv * qdot with ctrl = q_ref + (kv * qdot_ref + tau_ff) / kp,
i.e. tau = tau_ff + kp (q_ref - q) + kv (qdot_ref - qdot), integrated with semi-implicit Euler. Gains give each joint a critically damped
response at the binding's `tracking_bandwidth_hz` for its own inertia (mass-matrix diagonal at qpos0).
"""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np

from workbench.scenes.scene import Scene, compile_spec

_SCALAR_JOINTS = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


@dataclasses.dataclass(frozen=True)
class TrackingModel:
    """Compiled servo model; `dofs` (n,) are the tracked dof addresses, `kp`, `kv` (n,) gains."""

    model: mujoco.MjModel
    joints: tuple[str, ...]
    dofs: np.ndarray
    kp: np.ndarray
    kv: np.ndarray

    def servo_command(
        self, qpos_ref: np.ndarray, qvel_ref: np.ndarray, tau_ff: np.ndarray
    ) -> np.ndarray:
        """(T, n) actuator commands from (T, n) reference positions, velocities and feed-forward."""
        return qpos_ref + (self.kv * qvel_ref + tau_ff) / self.kp


def tracking_model(scene: Scene) -> TrackingModel:
    """Compile the scene with its actuators replaced by tracking servos on its hinge/slide state
    joints. Free and ball joints are not servoed: they move under the simulated physics, as in
    `open_loop` (a scene with only those, e.g. a tossed cube, replays passively)."""
    model = scene.model
    joints = []
    passive = set(scene.binding.passive_joints)  # simulated and compared, never servoed
    for name in scene.binding.state_joints:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        if model.jnt_type[jid] in _SCALAR_JOINTS and name not in passive:
            joints.append(name)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    full = np.zeros((model.nv, model.nv))
    mujoco.mj_fullM(model, data, full)
    dofs = np.array(
        [model.jnt_dofadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, j)] for j in joints],
        dtype=int,
    )
    inertia = np.maximum(np.diag(full)[dofs], 1e-9)
    wn = 2 * np.pi * scene.binding.tracking_bandwidth_hz
    kp, kv = inertia * wn**2, 2 * inertia * wn
    spec = scene.spec()
    for act in list(spec.actuators):
        spec.delete(act)
    for sensor in list(spec.sensors):
        spec.delete(sensor)
    for name, p, v in zip(joints, kp, kv, strict=True):
        spec.add_actuator(
            name=f"track_{name}",
            target=name,
            trntype=mujoco.mjtTrn.mjTRN_JOINT,
            gaintype=mujoco.mjtGain.mjGAIN_FIXED,
            biastype=mujoco.mjtBias.mjBIAS_AFFINE,
            gainprm=[p] + [0] * 9,
            biasprm=[0, -p, -v] + [0] * 7,
        )
    for jid in range(model.njnt):  # actuator force at every scalar joint, read back as sensordata
        if model.jnt_type[jid] in _SCALAR_JOINTS:
            spec.add_sensor(
                name=f"actfrc_{jid}",
                type=mujoco.mjtSensor.mjSENS_JOINTACTFRC,
                objtype=mujoco.mjtObj.mjOBJ_JOINT,
                objname=mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, jid),
            )
    # semi-implicit Euler: the servo's damping acts explicitly, so feed-forward from the recorded
    # motion plus PD on zero error reproduces that motion step for step
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_EULER
    compiled = compile_spec(spec, where=f"scene {scene.name!r} (tracking variant)")
    return TrackingModel(compiled, tuple(joints), dofs, kp, kv)


def sensor_dof_columns(model: mujoco.MjModel) -> dict[int, int]:
    """dof address -> sensordata column of the `actfrc_<joint>` sensors."""
    out = {}
    for s in range(model.nsensor):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_SENSOR, s) or ""
        if name.startswith("actfrc_"):
            out[int(model.jnt_dofadr[model.sensor_objid[s]])] = int(model.sensor_adr[s])
    return out
