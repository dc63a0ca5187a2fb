"""The recorded tool path: a point fixed on the recorded hand, in the scene frame."""

from __future__ import annotations

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import RetargetError
from workbench.replay.drivers import to_scene_frame


def check_signal(episode: Episode, signal: str) -> None:
    """RetargetError unless the episode has `signal` as 7 columns (x y z qw qx qy qz)."""
    where = f"{episode.metadata.get('file', 'recording')}: episode {episode.id!r}"
    if signal not in episode.signals:
        raise RetargetError(
            f"{where}: --from-signal: expected a {signal!r} signal (the hand pose, x y z qw qx qy "
            f"qz), got signals {sorted(episode.signals)}"
        )
    width = episode.signals[signal].values.shape[1]
    if width != 7:
        raise RetargetError(
            f"{where}: --from-signal {signal!r}: expected 7 columns (x y z qw qx qy qz), got "
            f"{width}: {list(episode.signals[signal].columns)}"
        )


def tool_path(episode: Episode, signal: str, offset: np.ndarray, binding) -> np.ndarray:
    """(T, 3) positions [m, scene frame] of the point `offset` (hand frame [m]) on the recorded
    hand `signal`, mapped through the scene's capture frame (`binding.capture_frame`)."""
    check_signal(episode, signal)
    pose = to_scene_frame(binding, episode).signals[signal].values
    quat = pose[:, 3:7] / np.linalg.norm(pose[:, 3:7], axis=1, keepdims=True)
    rot = np.empty((pose.shape[0], 9))
    for t in range(pose.shape[0]):
        mujoco.mju_quat2Mat(rot[t], quat[t])
    return pose[:, :3] + rot.reshape(-1, 3, 3) @ np.asarray(offset, dtype=float)
