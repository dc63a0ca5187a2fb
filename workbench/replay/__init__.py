"""Replay recorded episodes in a scene: open_loop, windows, tracking, inverse."""

from workbench.replay.binding import BoundEpisode, ColumnGroup, bind_episode
from workbench.replay.rollout import BatchSimulator, initial_states, reference_rollout
from workbench.replay.run import ReplaySettings, prepare, replay
from workbench.replay.timeline import Alignment, align, resample
from workbench.replay.trace import MODES, SimTrace
from workbench.replay.variants import replay_variants

__all__ = [
    "MODES",
    "Alignment",
    "BatchSimulator",
    "BoundEpisode",
    "ColumnGroup",
    "ReplaySettings",
    "SimTrace",
    "align",
    "bind_episode",
    "initial_states",
    "prepare",
    "reference_rollout",
    "replay",
    "replay_variants",
    "resample",
]
