"""SimTrace: simulated signals on a recorded episode's timeline."""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.episode import Episode
from workbench.replay.binding import BoundEpisode
from workbench.replay.divergence import Divergence
from workbench.replay.timeline import Alignment

MODES = ("open_loop", "windows", "tracking", "inverse")


@dataclasses.dataclass(frozen=True)
class SimTrace:
    """One episode replayed in simulation.

    Every replay is a set of windows: `open_loop`, `tracking` and `inverse` have one window
    starting at sample 0 and spanning the episode; `windows` has many short ones.

    Attributes:
      episode: the recorded episode on the replay timeline (aligned or resampled).
      mode: replay mode.
      starts: (W,) first sample index of each window.
      predicted: signal -> (W, L, k) simulated values; predicted[w, j] is compared with the
        recording at sample starts[w] + j.
      alignment: how recorded samples map to simulation steps.
      bound: resolved model addresses of the episode's signals.
      diverged: (W,) True where the window went unstable (NaN, a state beyond MuJoCo's limit,
        or a MuJoCo warning); its values from that sample on are NaN.
      divergence: when and why the first diverged window went unstable (None if none did).
    """

    episode: Episode
    mode: str
    starts: np.ndarray
    predicted: dict[str, np.ndarray]
    alignment: Alignment
    bound: BoundEpisode
    diverged: np.ndarray
    divergence: Divergence | None = None

    @property
    def window_length(self) -> int:
        return next(iter(self.predicted.values())).shape[1]

    def recorded(self, signal: str) -> np.ndarray:
        """(W, L, k) recorded values aligned with `predicted[signal]` (NaN past the episode end)."""
        values = self.episode.signal(signal).values
        index = self.starts[:, None] + np.arange(self.window_length)[None, :]
        out = np.full((*index.shape, values.shape[1]), np.nan)
        valid = index < values.shape[0]
        out[valid] = values[index[valid]]
        return out
