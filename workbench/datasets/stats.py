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
        return self._add(total, squares, low, high, len(v))

    def add_range(self, first: int, count: int, step: int = 1) -> dict[str, list[float]]:
        """`add` of the integers first, first + step, ... (`count` of them, step 0 or 1), from
        exact sums: the same floats `add` gives while every sum stays below 2**53."""
        last = first + step * (count - 1)
        if step == 0:
            total, squares = first * count, first * first * count
        else:
            total = (first + last) * count // 2
            squares = _squares(last) - _squares(first - 1)
        if count < 1 or step not in (0, 1) or first < 0 or squares >= 2**53:
            return self.add(np.arange(count) * step + first)
        one = lambda x: np.array([float(x)])  # noqa: E731
        return self._add(one(total), one(squares), one(first), one(last), count)

    def _add(self, total, squares, low, high, count: int) -> dict[str, list[float]]:
        if self.total is None:
            self.total, self.squares, self.low, self.high = total, squares, low, high
        else:
            self.total = self.total + total
            self.squares = self.squares + squares
            self.low = np.minimum(self.low, low)
            self.high = np.maximum(self.high, high)
        self.count += count
        return _stats(total, squares, low, high, count)

    def as_dict(self) -> dict[str, list[float]]:
        return _stats(self.total, self.squares, self.low, self.high, self.count)


def _squares(n: int) -> int:
    """0**2 + 1**2 + ... + n**2 (0 for n < 1)."""
    return n * (n + 1) * (2 * n + 1) // 6 if n > 0 else 0


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
