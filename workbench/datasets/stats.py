"""Per-feature statistics (min, max, mean, std, count) in LeRobot's stats.json layout, per block
(an episode) and merged over blocks in the order they arrive."""

from __future__ import annotations

import numpy as np


class RunningStats:
    """Sums of (T, k) blocks in float64; `add` returns the block's own stats."""

    def __init__(self) -> None:
        self.count = 0
        self.total: np.ndarray | None = None
        self.squares: np.ndarray | None = None
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None

    def add(self, values: np.ndarray) -> dict[str, list[float]]:
        v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        total, squares, low, high = v.sum(0), np.einsum("ij,ij->j", v, v), v.min(0), v.max(0)
        if self.total is None:
            self.total, self.squares, self.low, self.high = total, squares, low, high
        else:
            self.total = self.total + total
            self.squares = self.squares + squares
            self.low = np.minimum(self.low, low)
            self.high = np.maximum(self.high, high)
        self.count += len(v)
        return _stats(total, squares, low, high, len(v))

    def as_dict(self) -> dict[str, list[float]]:
        return _stats(self.total, self.squares, self.low, self.high, self.count)


def _stats(total, squares, low, high, count) -> dict[str, list[float]]:
    mean = total / count
    var = np.maximum(squares / count - mean * mean, 0.0)
    return {
        "min": low.tolist(),
        "max": high.tolist(),
        "mean": mean.tolist(),
        "std": np.sqrt(var).tolist(),
        "count": [count],
    }
