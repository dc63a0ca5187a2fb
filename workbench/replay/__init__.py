"""Replay recorded episodes in a scene: open_loop, windows, tracking, inverse."""

from workbench.replay.binding import BoundEpisode, ColumnGroup, bind_episode
from workbench.replay.divergence import Divergence
from workbench.replay.prepare import bind_all, prepare
from workbench.replay.rollout import BatchSimulator, initial_states, reference_rollout
from workbench.replay.run import replay
from workbench.replay.settings import ReplaySettings
from workbench.replay.timeline import Alignment, align, resample
from workbench.replay.trace import MODES, SimTrace
from workbench.replay.variants import replay_variants

__all__ = [
    "MODES",
    "Alignment",
    "BatchSimulator",
    "BoundEpisode",
    "ColumnGroup",
    "Divergence",
    "ReplaySettings",
    "SimTrace",
    "align",
    "bind_all",
    "bind_episode",
    "initial_states",
    "prepare",
    "reference_rollout",
    "replay",
    "replay_variants",
    "resample",
]
