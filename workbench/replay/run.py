"""`replay`: episodes x scene x mode -> SimTraces, with all windows of all episodes batched.

The pieces live by concept: `settings` (ReplaySettings), `prepare` (binding and alignment,
`bind_all`), `windows` (window assembly shared with calibration), `forward` (open_loop, windows),
`modes` (inverse, tracking). `bind_all`, `prepare` and `ReplaySettings` stay importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workbench.episode import Episode
from workbench.physics import values_applied
from workbench.physics.signal_params import apply_signal_params, split_params
from workbench.replay.forward import Progress, control_rows, forward_traces
from workbench.replay.modes import inverse_traces, tracking_traces
from workbench.replay.prepare import bind_all, prepare
from workbench.replay.settings import ReplaySettings
from workbench.replay.trace import SimTrace
from workbench.scenes.scene import Scene

__all__ = ["Progress", "ReplaySettings", "bind_all", "prepare", "replay"]


def replay(
    scene: Scene,
    episodes: Sequence[Episode],
    settings: ReplaySettings | None = None,
    *,
    params: Mapping[str, float] | None = None,
    progress: Progress | None = None,
) -> list[SimTrace]:
    """Replay episodes in a scene.

    Args:
      scene: the scene (its compiled model is modified in place while `params` apply, then restored).
      episodes: recorded episodes whose signals bind to the scene.
      settings: mode and mode options.
      params: physics values by MuJoCo name (e.g. {"geom_friction[cube][0]": 0.2}), and
        measurement parameters `delay:<signal>` / `offset:<signal>[<column>]` applied to the
        recorded episodes (see `workbench.physics.signal_params`).
      progress: called with (windows done, windows total) during forward replays.
    Returns:
      One SimTrace per episode, in order. A window that goes unstable is not an error: the
      trace marks it (`diverged`, `divergence`: when and why) and its values from then on are NaN.
    """
    settings = settings or ReplaySettings()
    params, signal_params = split_params(dict(params or {}))
    episodes = [apply_signal_params(ep, signal_params) for ep in episodes]
    episodes, alignments, bounds = prepare(scene, episodes, settings)
    if settings.mode == "inverse":
        return inverse_traces(scene, episodes, alignments, bounds, settings, params, progress)
    if settings.mode == "tracking":
        return tracking_traces(scene, episodes, alignments, bounds, settings, params, progress)
    with values_applied(scene.model, params):
        controls = [
            control_rows(scene.model, ep, b) for ep, b in zip(episodes, bounds, strict=True)
        ]
        return forward_traces(
            scene.model, episodes, alignments, bounds, settings, controls, progress
        )
