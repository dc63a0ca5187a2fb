"""Resolve an episode's model-bound signals against a scene before anything is simulated.

Column names are MuJoCo addresses: `joint` for hinge/slide joints, `joint[i]` for the i-th qpos
(or dof) element of a free/ball joint; `ctrl` columns name actuators.
"""

from __future__ import annotations

import dataclasses
import re

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import BindingError, name_list
from workbench.replay.drivers import REST_STATE, bind_mocap
from workbench.replay.observe import Observed
from workbench.scenes.driven import driving_actuator
from workbench.scenes.scene import Scene

_ADDR = re.compile(r"^(?P<name>.+?)(\[(?P<i>\d+)\])?$")
_WIDTH = {  # (nq, nv) per joint type
    mujoco.mjtJoint.mjJNT_FREE: (7, 6),
    mujoco.mjtJoint.mjJNT_BALL: (4, 3),
    mujoco.mjtJoint.mjJNT_SLIDE: (1, 1),
    mujoco.mjtJoint.mjJNT_HINGE: (1, 1),
}


@dataclasses.dataclass(frozen=True)
class ColumnGroup:
    """Columns of a signal compared together: `scalar` (one column), `pose` (x y z qw qx qy qz)."""

    name: str
    kind: str
    columns: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class BoundEpisode:
    """Model addresses of an episode's signals (all arrays are int indices)."""

    qpos_index: np.ndarray  # (kq,) qpos address of each `qpos` column
    qvel_index: np.ndarray | None  # (kv,) dof address of each `qvel` column
    ctrl_index: np.ndarray | None  # (ku,) actuator id of each `ctrl` column
    torque_index: np.ndarray | None  # (kt,) dof address of each `qfrc_actuator` column
    groups: dict[str, tuple[ColumnGroup, ...]]  # signal -> comparison groups
    # `qpos` column indices (w x y z) of each fully recorded free/ball joint quaternion
    qpos_quaternions: tuple[tuple[int, int, int, int], ...] = ()
    # (mocap id, `body_pose:<body>` signal) of each driven body
    mocap: tuple[tuple[int, str], ...] = ()
    # (actuator id, `qpos` column) of each driven joint: its servo follows the recorded position
    driven: tuple[tuple[int, int], ...] = ()
    derive_qvel: bool = False  # no recorded qvel: initial velocities from recorded positions
    # tracked bodies and markers observed by forward kinematics (`workbench.replay.observe`)
    observed: Observed = Observed()
    rest_state: bool = False  # `qpos` is the model's rest state (not recorded): not compared


def _joint_names(model: mujoco.MjModel) -> list[str]:
    return [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]


def resolve_columns(
    model: mujoco.MjModel, columns, *, signal: str, where: str, velocity: bool
) -> tuple[np.ndarray, list[int]]:
    """(addresses, joint id per column) of joint-addressed columns (qpos or dof addresses)."""
    addr, joints = [], []
    for col in columns:
        m = _ADDR.match(col)
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, m.group("name"))
        if jid < 0:
            raise BindingError(
                f"{where}: signal {signal!r} column {col!r}: unknown joint {m.group('name')!r}; "
                f"valid: {name_list(_joint_names(model))}"
            )
        width = _WIDTH[mujoco.mjtJoint(model.jnt_type[jid])][1 if velocity else 0]
        i = int(m.group("i") or 0)
        if i >= width or (m.group("i") is None and width > 1):
            raise BindingError(
                f"{where}: signal {signal!r} column {col!r}: joint {m.group('name')!r} has {width} "
                f"{'dof' if velocity else 'qpos'} elements; expected {m.group('name')}[0..{width - 1}]"
            )
        base = model.jnt_dofadr[jid] if velocity else model.jnt_qposadr[jid]
        addr.append(int(base) + i)
        joints.append(jid)
    return np.asarray(addr, dtype=int), joints


def _groups(model: mujoco.MjModel, columns, joints, *, pose: bool) -> tuple[ColumnGroup, ...]:
    groups, used = [], set()
    if pose:
        for jid in dict.fromkeys(joints):
            if model.jnt_type[jid] == mujoco.mjtJoint.mjJNT_FREE:
                cols = tuple(k for k, j in enumerate(joints) if j == jid)
                if len(cols) == 7:
                    groups.append(ColumnGroup(_joint_names(model)[jid], "pose", cols))
                    used.update(cols)
    groups += [ColumnGroup(c, "scalar", (k,)) for k, c in enumerate(columns) if k not in used]
    return tuple(groups)


QUATERNION_TOLERANCE = 1e-2  # |norm - 1| beyond this is refused, below it renormalised


def _quaternions(model: mujoco.MjModel, qpos_index: np.ndarray) -> dict[int, tuple[int, ...]]:
    """joint id -> `qpos` column indices of its quaternion, for free/ball joints recorded whole."""
    column = {int(a): k for k, a in enumerate(qpos_index)}
    out = {}
    for jid in range(model.njnt):
        kind = int(model.jnt_type[jid])
        if kind not in (int(mujoco.mjtJoint.mjJNT_FREE), int(mujoco.mjtJoint.mjJNT_BALL)):
            continue
        first = model.jnt_qposadr[jid] + (3 if kind == mujoco.mjtJoint.mjJNT_FREE else 0)
        addr = [int(first) + i for i in range(4)]
        if all(a in column for a in addr):
            out[jid] = tuple(column[a] for a in addr)
    return out


def _check_unit_quaternions(
    values: np.ndarray, quats: dict[int, tuple[int, ...]], names: list[str], where: str
) -> None:
    """Refuse recorded quaternions that are all zero or whose norm is off 1 by more than
    QUATERNION_TOLERANCE (smaller deviations are renormalised when the state is built)."""
    for jid, cols in quats.items():
        norm = np.linalg.norm(values[:, list(cols)], axis=1)
        bad = ~(np.abs(norm - 1.0) <= QUATERNION_TOLERANCE)
        if bad.any():
            row = int(np.argmax(bad))
            raise BindingError(
                f"{where}: signal 'qpos' joint {names[jid]!r} row {row}: expected a unit "
                f"quaternion (|norm - 1| <= {QUATERNION_TOLERANCE:g}), got norm {norm[row]:.6g} "
                f"({values[row, list(cols)].tolist()})"
            )


def bind_episode(
    scene: Scene, episode: Episode, *, need_ctrl: bool = False, need_torque: bool = False
) -> BoundEpisode:
    """Check that an episode fits a scene and resolve its columns; raises BindingError otherwise."""
    model, b = scene.model, scene.binding
    where = f"episode {episode.id!r} on scene {scene.name!r}"
    if "qpos" not in episode.signals:
        raise BindingError(
            f"{where}: expected a 'qpos' signal (the recorded state); signals are "
            f"{sorted(episode.signals)}"
        )
    qpos = episode.signals["qpos"]
    qpos_index, qpos_joints = resolve_columns(
        model, qpos.columns, signal="qpos", where=where, velocity=False
    )
    names = _joint_names(model)
    for jname in b.state_joints:
        jid = names.index(jname)
        need = set(
            range(
                model.jnt_qposadr[jid],
                model.jnt_qposadr[jid] + _WIDTH[mujoco.mjtJoint(model.jnt_type[jid])][0],
            )
        )
        if not need <= set(qpos_index.tolist()):
            raise BindingError(
                f"{where}: mapping/scene mismatch: the scene's state joint {jname!r} needs qpos "
                f"addresses {sorted(need)}, the episode's qpos columns cover {sorted(set(qpos_index.tolist()) & need)} "
                f"(columns {list(qpos.columns)})"
            )
    quats = _quaternions(model, qpos_index)
    _check_unit_quaternions(qpos.values, quats, names, where)
    groups = {"qpos": _groups(model, qpos.columns, qpos_joints, pose=True)}
    qvel_index = None
    if "qvel" in episode.signals:
        qvel = episode.signals["qvel"]
        qvel_index, qvel_joints = resolve_columns(
            model, qvel.columns, signal="qvel", where=where, velocity=True
        )
        groups["qvel"] = _groups(model, qvel.columns, qvel_joints, pose=False)
    ctrl_index = None
    if "ctrl" in episode.signals:
        ctrl_index = []
        for col in episode.signals["ctrl"].columns:
            if col not in b.actuators:
                raise BindingError(
                    f"{where}: signal 'ctrl' column {col!r}: expected one of the scene's actuators "
                    f"{name_list(b.actuators)}"
                )
            ctrl_index.append(mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, col))
        ctrl_index = np.asarray(ctrl_index, dtype=int)
    elif need_ctrl and b.actuators:
        raise BindingError(
            f"{where}: expected a 'ctrl' signal driving actuators {list(b.actuators)}; "
            f"signals are {sorted(episode.signals)}"
        )
    torque_index = None
    if "qfrc_actuator" in episode.signals:
        sig = episode.signals["qfrc_actuator"]
        torque_index, tj = resolve_columns(
            model, sig.columns, signal="qfrc_actuator", where=where, velocity=True
        )
        groups["qfrc_actuator"] = _groups(model, sig.columns, tj, pose=False)
    elif need_torque:
        raise BindingError(
            f"{where}: expected a 'qfrc_actuator' signal (measured joint torque) on "
            f"joints {list(b.torque_joints)}; signals are {sorted(episode.signals)}"
        )
    driven = []
    for joint in b.driven_joints:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, joint)
        adr = int(model.jnt_qposadr[jid])
        if adr not in qpos_index.tolist():
            raise BindingError(
                f"{where}: driven joint {joint!r}: expected its recorded position as a 'qpos' "
                f"column; qpos columns are {list(qpos.columns)}"
            )
        driven.append((driving_actuator(model, jid), qpos_index.tolist().index(adr)))
    observed = observed_signals(scene, episode, where)
    for _, signal, width in observed.bodies:
        kind = "pose" if width == 7 else "position"
        groups[signal] = (ColumnGroup("", kind, tuple(range(width))),)
    for signal in observed.signals:
        groups[signal] = (ColumnGroup("", "position", (0, 1, 2)),)
    rest = bool(episode.metadata.get(REST_STATE))
    if rest:
        groups.pop("qpos", None)
    return BoundEpisode(
        qpos_index,
        qvel_index,
        ctrl_index,
        torque_index,
        groups,
        tuple(quats.values()),
        bind_mocap(model, b, episode, where),
        tuple(driven),
        b.derive_velocities and qvel_index is None,
        observed,
        rest,
    )


def observed_signals(scene: Scene, episode: Episode, where: str) -> Observed:
    """The episode's `body_pose:<body>` signals of bodies the replay simulates (in the model,
    neither driven, passive nor welded: those are joint state or drivers; bodies the model
    lacks are not bound) and its `marker:<name>` tracks of the scene's markers (a marker track
    of a driven body drives it). BindingError for a marker the scene does not declare or a
    signal of the wrong width."""
    from workbench.scenes.markers import scene_markers

    model, b = scene.model, scene.binding
    skip = set(b.driven_bodies) | set(b.passive_bodies) | set(b.welded_bodies)
    bodies, markers = [], []
    for name, sig in episode.signals.items():
        if name.startswith("body_pose:"):
            body = name[len("body_pose:") :]
            bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
            if bid < 0 or body in skip:
                continue
            if sig.values.shape[1] not in (3, 7):
                raise BindingError(
                    f"{where}: signal {name!r}: expected 7 columns (x y z qw qx qy qz) or 3 "
                    f"(x y z), got {sig.values.shape[1]}"
                )
            bodies.append((bid, name, int(sig.values.shape[1])))
        elif name.startswith("marker:") and name[len("marker:") :] not in b.driven_bodies:
            if sig.values.shape[1] != 3:
                raise BindingError(
                    f"{where}: signal {name!r}: expected 3 columns x, y, z [m], got "
                    f"{sig.values.shape[1]}"
                )
            markers.append(name)
    if not markers:
        return Observed(tuple(bodies))
    if not scene.metadata.get("markers"):
        raise BindingError(
            f"{where}: signals {markers}: expected a scene with a [markers] table to compare "
            f"them with; scene {scene.name!r} declares none"
        )
    try:
        found = scene_markers(scene).subset([m[len("marker:") :] for m in markers])
    except BindingError as exc:
        raise BindingError(f"{where}: {exc}") from None
    return Observed(tuple(bodies), found, tuple(markers))
