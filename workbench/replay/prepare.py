"""Before anything is simulated: bind every episode to the scene, then put it on the replay
timeline (aligned with the timestep, or resampled with quaternions slerped)."""

from __future__ import annotations

from collections.abc import Sequence

import mujoco

from workbench.episode import Episode
from workbench.errors import BindingError, SettingsError
from workbench.replay.binding import BoundEpisode, bind_episode
from workbench.replay.drivers import (
    REST_STATE,
    to_scene_frame,
    with_passive_state,
    with_rest_state,
    with_welded_state,
)
from workbench.replay.settings import ReplaySettings
from workbench.replay.timeline import Alignment, align
from workbench.scenes.scene import Scene


def bind_all(
    scene: Scene, episodes: Sequence[Episode], settings: ReplaySettings
) -> list[BoundEpisode]:
    """Bind every episode's signals to the scene for this mode (no alignment, no simulation);
    raises BindingError naming the first episode and signal that does not fit (SettingsError
    when `--derivatives velocities` meets an episode without recorded velocities)."""
    return _bind(scene, scene_episodes(scene, episodes), settings)


def scene_episodes(scene: Scene, episodes: Sequence[Episode]) -> list[Episode]:
    """Episodes in the scene's frame (`capture_frame`), passive bodies' poses as joint state,
    welded hands at their targets' poses, unrecorded states at rest (`start_at_rest`)."""
    model, b = scene.model, scene.binding
    out = []
    for ep in episodes:
        ep = with_passive_state(model, b, to_scene_frame(b, ep))
        out.append(with_rest_state(model, b, with_welded_state(model, b, ep)))
    return out


def _bind(
    scene: Scene, episodes: Sequence[Episode], settings: ReplaySettings
) -> list[BoundEpisode]:
    for ep in episodes:
        if ep.metadata.get(REST_STATE) and settings.mode != "open_loop":
            raise SettingsError(
                f"--mode: episode {ep.id!r} records no state (scene {scene.name!r} starts it at "
                f"rest): expected mode 'open_loop', got {settings.mode!r}"
            )
    need_ctrl = settings.mode in ("open_loop", "windows")
    need_torque = settings.mode == "inverse"
    bounds = [
        bind_episode(scene, ep, need_ctrl=need_ctrl, need_torque=need_torque) for ep in episodes
    ]
    if settings.mode == "tracking":
        _check_tracked_torques(scene, episodes, bounds)
    if settings.mode in ("inverse", "tracking") and settings.derivatives == "velocities":
        for ep, b in zip(episodes, bounds, strict=True):
            if b.qvel_index is None:
                raise SettingsError(
                    f"--derivatives: 'velocities' needs recorded joint velocities (a 'qvel' "
                    f"signal); episode {ep.id!r} has signals {sorted(ep.signals)}: use "
                    "'positions' or 'auto'"
                )
    return bounds


def _check_tracked_torques(
    scene: Scene, episodes: Sequence[Episode], bounds: Sequence[BoundEpisode]
) -> None:
    """Tracking servos (and their force sensors) sit on hinge/slide joints only."""
    model = scene.model
    scalar = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    for ep, b in zip(episodes, bounds, strict=True):
        if b.torque_index is None:
            continue
        names = ep.signals["qfrc_actuator"].columns
        bad = [
            c
            for c, d in zip(names, b.torque_index, strict=True)
            if int(model.jnt_type[model.dof_jntid[d]]) not in scalar
        ]
        if bad:
            raise BindingError(
                f"episode {ep.id!r} on scene {scene.name!r}: signal 'qfrc_actuator' columns "
                f"{bad}: tracking mode compares servo forces on hinge/slide joints only; these "
                "are on free/ball joints (drop them from the mapping, or use the inverse mode)"
            )


def prepare(
    scene: Scene, episodes: Sequence[Episode], settings: ReplaySettings
) -> tuple[list[Episode], list[Alignment], list[BoundEpisode]]:
    """Bind every episode to the scene and align it; raises before anything is simulated."""
    episodes = scene_episodes(scene, episodes)
    bounds = _bind(scene, episodes, settings)
    aligned, alignments = [], []
    for ep, b in zip(episodes, bounds, strict=True):
        poses = {  # recorded body poses: x y z qw qx qy qz, quaternions slerped when resampled
            name: ((3, 4, 5, 6),)
            for name, sig in ep.signals.items()
            if name.startswith("body_pose:") and sig.values.shape[1] == 7
        }
        quats = {"qpos": b.qpos_quaternions, **poses}
        ep2, al = align(ep, scene.binding.timestep, quaternions=quats)
        aligned.append(ep2)
        alignments.append(al)
    return aligned, alignments, bounds
