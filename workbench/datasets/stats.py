"""Running per-feature statistics (min, max, mean, std, count) in LeRobot's stats.json layout."""

from __future__ import annotations

import numpy as np


class RunningStats:
    """Accumulates (T, k) blocks; exact sums in float64 in the order blocks arrive."""

    def __init__(self) -> None:
        self.count = 0
        self.total: np.ndarray | None = None
        self.squares: np.ndarray | None = None
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        if self.total is None:
            self.total, self.squares = v.sum(0), (v * v).sum(0)
            self.low, self.high = v.min(0), v.max(0)
        else:
            self.total = self.total + v.sum(0)
            self.squares = self.squares + (v * v).sum(0)
            self.low = np.minimum(self.low, v.min(0))
            self.high = np.maximum(self.high, v.max(0))
        self.count += len(v)

    def as_dict(self) -> dict[str, list[float]]:
        mean = self.total / self.count
        var = np.maximum(self.squares / self.count - mean * mean, 0.0)
        return {
            "min": self.low.tolist(),
            "max": self.high.tolist(),
            "mean": mean.tolist(),
            "std": np.sqrt(var).tolist(),
            "count": [self.count],
        }


def block_stats(values: np.ndarray) -> dict[str, list[float]]:
    stats = RunningStats()
    stats.add(values)
    return stats.as_dict()
