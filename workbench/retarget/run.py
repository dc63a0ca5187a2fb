"""`retarget`: recorded hand paths followed by another robot, written as episodes of that robot.

Everything is checked before anything is written (the output folder, the recordings and the
signal, the robot and its tool site, the tool point, that every path is at least partly within
reach); the output is built in a staging folder, loaded back, and moved into place:

    OUT/scene/        the combined scene (objects + robot + fingertip + position servos)
    OUT/episodes/     one CSV per episode: t, q_<joint>, dq_<joint>, tau_<joint>, the passive
                      bodies' recorded poses, tool_target_{x,y,z}, tool_{x,y,z}, tool_error_m
    OUT/mapping.toml  reads them (`workbench gap OUT/episodes --scene OUT/scene`)
    OUT/report.json   settings, base, per-episode errors, stretches, joint-limit margins
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import RetargetError
from workbench.output import check_output_folder, staging_folder, swap_in
from workbench.replay.inverse import inverse_forces, motion_derivatives
from workbench.retarget.assess import joint_margins, stretches, summary
from workbench.retarget.compose import (
    Composition,
    Robot,
    compile_quietly,
    compose,
    tool_offset,
    write_scene,
)
from workbench.retarget.ik import PathFollow, PathIK, follow_path
from workbench.retarget.path import check_signal, tool_path
from workbench.retarget.placement import choose_base
from workbench.retarget.settings import RetargetSettings
from workbench.scenes.scene import Scene

POSE = ("x", "y", "z", "qw", "qx", "qy", "qz")


def load_robot(robot: str | Path) -> Robot:
    """A robot from a scene (bundled name or folder) or a robot file (.urdf, or MJCF .xml)."""
    path = Path(robot)
    if path.is_file() or path.suffix.lower() in (".urdf", ".xml"):
        from workbench.scenes.robot_file import RobotSceneOptions, load_robot_spec

        kind = "URDF" if path.suffix.lower() == ".urdf" else "MJCF"
        options = RobotSceneOptions(discard_visual=True)
        load_robot_spec(path, kind, options)  # checked now: errors before any work

        return Robot(
            lambda: load_robot_spec(path, kind, options), f"{kind} {str(path)!r}", path.stem
        )
    from workbench.scenes import load_scene

    scene = load_scene(robot)
    where = f"robot scene {scene.name!r}" + (
        f" ({scene.folder / 'scene.toml'})" if scene.folder else ""
    )
    return Robot(scene.spec, where, scene.name)


@dataclasses.dataclass(frozen=True)
class Retargeted:
    """One episode on the target robot."""

    episode: Episode
    targets: np.ndarray  # (T, 3) tool targets [m, scene frame]
    follow: PathFollow
    qvel: np.ndarray  # (T, n) [rad/s or m/s]
    torque: np.ndarray  # (T, n) inverse dynamics [N m or N]
    report: dict


@dataclasses.dataclass(frozen=True)
class RetargetResult:
    """What `retarget` did: the base, the composition, the episodes and the report."""

    base: tuple[float, float, float, float]
    composition: Composition
    episodes: tuple[Retargeted, ...]
    report: dict


def retarget_episodes(
    episodes: Sequence[Episode],
    robot: Robot,
    objects: Scene,
    settings: RetargetSettings,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RetargetResult:
    """Follow each episode's hand path with the robot (nothing written); RetargetError when a
    path is entirely out of reach (naming the file, the signal, the tolerance, the closest
    approach)."""
    if not episodes:
        raise RetargetError("recordings: expected at least one episode, got none")
    for ep in episodes:
        check_signal(ep, settings.signal)
    offset, _ = tool_offset(objects, settings)
    paths = [tool_path(ep, settings.signal, offset, objects.binding) for ep in episodes]
    dts = [float(np.median(np.diff(ep.times))) for ep in episodes]
    placement = None
    base = settings.base
    if base is None:
        placement = choose_base(robot, objects, settings, paths[0], dts[0])
        base = placement.base
    comp = compose(robot, objects, settings, base, keep_free_bodies=False)
    model = compile_quietly(comp.make_spec)
    ik = PathIK(model, comp.robot_bodies, comp.tool_body, comp.reference, settings)
    out = []
    for k, (ep, targets, dt) in enumerate(zip(episodes, paths, dts, strict=True)):
        follow = follow_path(ik, targets, dt)
        if not (follow.error <= settings.tolerance).any():
            i = int(np.argmin(follow.error))
            raise RetargetError(
                f"{ep.metadata.get('file', 'recording')}: episode {ep.id!r}: {settings.signal}: "
                f"expected a path the robot's tool reaches within --tolerance "
                f"{settings.tolerance * 1e3:g} mm at some samples, got none of {ep.num_samples} "
                f"(closest {follow.error[i] * 1e3:.1f} mm at t = {ep.times[i]:.2f} s, base "
                f"{list(base)}); move the base (--base x,y,z,yaw) or check the frames"
            )
        qvel, torque = _dynamics(model, follow.qpos, dt, settings.smooth)
        report = {
            "id": ep.id,
            "file": ep.metadata.get("file"),
            **summary(ep.times, follow, settings.tolerance),
            "stretches": [
                s.as_dict() for s in stretches(ik, ep.times, targets, follow, settings.tolerance)
            ],
            "joint_margins": joint_margins(model, follow.qpos),
            "peak_speed": _peaks(model, qvel),
            "peak_torque": _peaks(model, torque),
        }
        out.append(Retargeted(ep, targets, follow, qvel, torque, report))
        if progress:
            progress(k + 1, len(episodes))
    return RetargetResult(
        tuple(base),
        compose(robot, objects, settings, base),
        tuple(out),
        _report(settings, base, placement, out, objects, robot),
    )


def _peaks(model: mujoco.MjModel, values: np.ndarray) -> dict[str, float]:
    return {model.joint(j).name: float(np.abs(values[:, j]).max()) for j in range(model.njnt)}


def _dynamics(model, qpos: np.ndarray, dt: float, smooth: float):
    """(qvel, torque): velocities from the positions (Savitzky-Golay over `smooth` seconds),
    and the joint torques inverse dynamics requires along the motion (gravity, inertia, joint
    damping and armature; no contact forces)."""
    _, qvel, qacc = motion_derivatives(
        model, qpos, np.zeros_like(qpos), dt, smooth_window=smooth, qvel_recorded=False
    )
    saved = model.opt.disableflags
    model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
    try:
        torque = inverse_forces(model, qpos, qvel, qacc)
    finally:
        model.opt.disableflags = saved
    return qvel, torque


def _report(settings, base, placement, out, objects, robot) -> dict:
    errors = np.concatenate([r.follow.error for r in out])
    return {
        "settings": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(settings).items()
        },
        "robot": robot.where,
        "objects": objects.name,
        "base": {"x": base[0], "y": base[1], "z": base[2], "yaw_deg": base[3]},
        "base_chosen": placement is not None,
        "base_candidates": list(placement.candidates) if placement else [],
        "summary": {
            "episodes": len(out),
            "median_error_m": float(np.median(errors)),
            "p95_error_m": float(np.percentile(errors, 95)),
            "reachable_fraction": float(np.mean(errors <= settings.tolerance)),
            "stretches": sum(len(r.report["stretches"]) for r in out),
        },
        "episodes": [r.report for r in out],
    }


def write_retargeted(result: RetargetResult, out: str | Path, *, source: str = "") -> Path:
    """Write OUT/scene, OUT/episodes, OUT/mapping.toml and OUT/report.json (module doc), built in
    a staging folder and checked to load before it replaces `out`."""
    out = check_output_folder(out)
    staged = staging_folder(out)
    try:
        (staged / "scene").mkdir()
        source = source or f"{result.report['robot']} on {result.report['objects']}"
        write_scene(result.composition, staged / "scene", name=f"{out.name}_scene", source=source)
        (staged / "episodes").mkdir()
        joints = result.composition.robot_joints
        passive = result.composition.binding["passive_bodies"]
        for r in result.episodes:
            _write_csv(staged / "episodes" / f"{r.episode.id}.csv", r, joints, passive)
        (staged / "mapping.toml").write_text(_mapping(joints, passive, result))
        (staged / "report.json").write_text(json.dumps(result.report, indent=2) + "\n")
        _check_written(staged)
    except BaseException:
        import shutil

        shutil.rmtree(staged, ignore_errors=True)
        raise
    return swap_in(staged, out)


def _write_csv(path: Path, r: Retargeted, joints, passive) -> None:
    cols = {"t": r.episode.times}
    for k, j in enumerate(joints):
        cols[f"q_{j}"] = r.follow.qpos[:, k]
        cols[f"dq_{j}"] = r.qvel[:, k]
        cols[f"tau_{j}"] = r.torque[:, k]
    for body in passive:
        values = r.episode.signal(f"body_pose:{body}").values
        for i, name in enumerate(POSE):
            cols[f"{body} {name}"] = values[:, i]
    for i, axis in enumerate("xyz"):
        cols[f"tool_target_{axis}"] = r.targets[:, i]
        cols[f"tool_{axis}"] = r.follow.tool[:, i]
    cols["tool_error_m"] = r.follow.error
    table = np.stack(list(cols.values()), axis=1)
    np.savetxt(path, table, delimiter=",", header=",".join(cols), comments="", fmt="%.9g")


def _mapping(joints, passive, result: RetargetResult) -> str:
    def names(values) -> str:
        return json.dumps(list(values))

    lines = [
        "# episodes of the target robot written by `workbench retarget` (see report.json)",
        'format = "csv"',
        'pattern = "*.csv"',
        "",
        "[time]",
        'column = "t"',
        "",
        "[metadata]",
        f"robot = {json.dumps(result.report['robot'])}",
        'task = "retargeted"',
        "",
    ]
    for signal, prefix, unit in (
        ("qpos", "q_", "rad"),
        ("qvel", "dq_", "rad/s"),
        ("qfrc_actuator", "tau_", "N m"),
    ):
        lines += [
            f"[signals.{signal}]",
            f"columns = {names(prefix + j for j in joints)}",
            f"names = {names(joints)}",
            f"unit = {json.dumps(unit)}",
            "",
        ]
    for body in passive:
        lines += [
            f'[signals."body_pose:{body}"]',
            f"columns = {names(f'{body} {n}' for n in POSE)}",
            f"names = {names(POSE)}",
            'unit = "m"',
            'frame = "capture"',
            "",
        ]
    return "\n".join(lines)


def _check_written(staged: Path) -> None:
    """The written scene loads and the written episodes bind to it."""
    from workbench.io.load import load_episodes
    from workbench.replay.prepare import bind_all
    from workbench.replay.settings import ReplaySettings
    from workbench.scenes import load_scene_folder

    scene = load_scene_folder(staged / "scene")
    episodes = load_episodes(staged / "episodes", staged / "mapping.toml", select="0")
    bind_all(scene, episodes, ReplaySettings("open_loop"))
