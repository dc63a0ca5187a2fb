"""A pushing protocol: a driven hand pushes an object across a table (e.g. the Kinova push of
Collins, Howard and Leitner, ICRA 2019).

- Each episode is cut to its event window: while the object moves faster than a threshold,
  widened by margins (`workbench.metrics.events`), so the replay starts from the recorded rest
  state just before the push and scores only the push.
- Scores per episode (open-loop replay of the window): final planar position error of the
  object [mm] (x, y in the scene frame), final rotation error [deg] (geodesic), contact-onset
  error [s] (simulated first hand-object contact minus the time the real object starts moving),
  and whether the replay diverged.
- Frames from the data: the table plane from the object's rest poses, the tool point on the hand
  from where the object's back face is while it is pushed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from workbench.episode import Episode
from workbench.metrics.contact import first_contact
from workbench.metrics.errors import quat_geodesic_deg
from workbench.metrics.events import EventWindow, event_slices, motion_onset, speed
from workbench.replay import ReplaySettings, replay
from workbench.replay.drivers import mocap_rows
from workbench.replay.prepare import scene_episodes
from workbench.scenes.driven import free_joint
from workbench.scenes.scene import Scene


@dataclasses.dataclass(frozen=True)
class PushProtocol:
    """Names and thresholds: `obj` and `hand` bodies (their `body_pose:` signals), the event
    window, the onset threshold [m] of the real object's motion."""

    obj: str = "cube"
    hand: str = "hand"
    event: EventWindow = EventWindow("body_pose:cube", 0.03, 0.3, 0.5)
    onset_threshold: float = 0.001


def push_windows(episodes: Sequence[Episode], protocol: PushProtocol) -> list[Episode]:
    """Each episode cut to its push (event window)."""
    return event_slices(episodes, protocol.event)


def score_pushes(
    scene: Scene,
    windows: Sequence[Episode],
    protocol: PushProtocol = PushProtocol(),
    *,
    params: Mapping[str, float] | None = None,
) -> list[dict[str, float]]:
    """Per push window: `final_planar_error_mm`, `final_rotation_error_deg`,
    `contact_onset_error_s` (NaN when either event is missing), `diverged` (0/1)."""
    traces = replay(scene, list(windows), ReplaySettings("open_loop"), params=params)
    model = scene.model
    out = []
    for trace, ep in zip(traces, scene_episodes(scene, windows), strict=True):
        cols = list(trace.episode.signals["qpos"].columns)
        joint = free_joint(model, protocol.obj)
        idx = [cols.index(f"{joint}[{i}]") for i in range(7)]
        sim = trace.predicted["qpos"][0][:, idx]
        real = trace.recorded("qpos")[0][:, idx]
        row = {"diverged": float(bool(trace.diverged.any()))}
        if trace.diverged.any():
            row.update(
                final_planar_error_mm=np.nan,
                final_rotation_error_deg=np.nan,
                contact_onset_error_s=np.nan,
            )
            out.append(row)
            continue
        row["final_planar_error_mm"] = float(np.linalg.norm(sim[-1, :2] - real[-1, :2]) * 1e3)
        row["final_rotation_error_deg"] = float(quat_geodesic_deg(sim[-1, 3:], real[-1, 3:]))
        real_onset = motion_onset(
            real[:, :3], trace.episode.times, threshold=protocol.onset_threshold
        )
        qpos = np.tile(model.qpos0, (sim.shape[0], 1))
        addr = trace.bound.qpos_index
        qpos[:, addr] = trace.predicted["qpos"][0]
        with_mocap = mocap_rows(model, ep, trace.bound.mocap) if model.nmocap else None
        with _values(model, params):
            sim_onset = first_contact(
                model, qpos, with_mocap, trace.episode.times, protocol.hand, protocol.obj
            )
        row["contact_onset_error_s"] = (
            sim_onset - real_onset if sim_onset is not None and real_onset is not None else np.nan
        )
        out.append(row)
    return out


def _values(model, params):
    from workbench.physics import values_applied

    physical = {k: v for k, v in (params or {}).items() if ":" not in k or k.startswith("scale:")}
    return values_applied(model, physical)


def summarize(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Median of each score over the pushes that did not diverge (+ how many diverged)."""
    ok = [r for r in rows if not r["diverged"]]
    out = {"n": float(len(ok)), "diverged": float(len(rows) - len(ok))}
    for key in ("final_planar_error_mm", "final_rotation_error_deg", "contact_onset_error_s"):
        v = np.array([r[key] for r in ok], dtype=float)
        v = v[np.isfinite(v)]
        out[f"median_{key}"] = float(np.median(np.abs(v))) if v.size else float("nan")
    return out


def estimate_table_frame(
    episodes: Sequence[Episode], obj: str, half_height: float, *, rest: float = 0.5
) -> tuple[float, ...]:
    """The capture frame's pose in a scene whose table top is the plane z = 0 (x y z qw qx qy qz):
    a plane fitted through the object's resting centres (the `rest` seconds before and the last
    `rest` seconds of each episode), lowered by `half_height`. With little spread across y (a
    push along x), only the slope along x is fitted."""
    centres = []
    for ep in episodes:
        pos = ep.signal(f"body_pose:{obj}").values[:, :3]
        v = speed(ep, f"body_pose:{obj}")
        peak = int(np.argmax(v))
        k = max(2, int(round(rest / float(np.median(np.diff(ep.times))))))
        centres += [pos[max(0, peak - 3 * k) : max(1, peak - 2 * k)].mean(0), pos[-k:].mean(0)]
    c = np.array(centres)
    cols = [np.ones(len(c)), c[:, 0]] + ([c[:, 1]] if np.ptp(c[:, 1]) > 0.02 else [])
    coef = np.linalg.lstsq(np.stack(cols, 1), c[:, 2], rcond=None)[0]
    slope = np.array([coef[1], coef[2] if len(coef) > 2 else 0.0])
    normal = np.array([-slope[0], -slope[1], 1.0])
    normal /= np.linalg.norm(normal)
    rot, _ = Rotation.align_vectors([[0, 0, 1]], [normal])
    on_plane = c.mean(0)
    height = float(rot.apply(on_plane)[2]) - half_height
    quat = rot.as_quat()[[3, 0, 1, 2]]
    return (0.0, 0.0, -height, *(float(q) for q in quat))


def estimate_tool_point(
    windows: Sequence[Episode],
    hand: str,
    obj: str,
    *,
    half_width: float,
    radius: float,
    height: float,
    min_speed: float = 0.05,
) -> np.ndarray:
    """(3,) a point on the hand [m, hand frame] that stays on the object's back face while the
    object moves faster than `min_speed`, pushing along +x (scene frame): least squares of
    x_tool = x_obj - half_width - radius, y_tool = y_obj, z_tool = `height`."""
    rows, rhs = [], []
    for ep in windows:
        h = ep.signal(f"body_pose:{hand}").values
        o = ep.signal(f"body_pose:{obj}").values
        v = speed(ep, f"body_pose:{obj}")
        peak = int(np.argmax(v))
        for i in np.flatnonzero(v > min_speed):
            if i > peak:  # accelerating phase: the hand is in contact for sure
                continue
            mat = np.zeros(9)
            mujoco.mju_quat2Mat(mat, h[i, 3:7])
            rows.append(mat.reshape(3, 3))
            rhs.append(np.array([o[i, 0] - half_width - radius, o[i, 1], height]) - h[i, :3])
    return np.linalg.lstsq(np.concatenate(rows), np.concatenate(rhs), rcond=None)[0]
