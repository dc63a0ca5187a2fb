"""Per-feature statistics (min, max, mean, std, count) in LeRobot's stats.json layout: per
episode (`episode_stats`, vectorised over the episodes of a data file) and merged over
episodes (`merged_stats`, the same function for a single writer and for a merge of shards, so
both write the same numbers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

STATS = ("min", "max", "mean", "std", "count")


def episode_stats(values: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
    """Stats of consecutive episodes of (N, k) `values` (or (N,): k = 1) whose (n,) `lengths`
    sum to N: {"min", "max", "mean", "std": (n, k) float64, "count": (n, 1) int64}. `std` is
    the population standard deviation, from the squared deviations from each episode's mean."""
    v = np.asarray(values, dtype=np.float64)
    v = v.reshape(v.shape[0], -1)
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    count = lengths[:, None].astype(np.float64)
    mean = np.add.reduceat(v, starts, axis=0) / count
    deviation = v - np.repeat(mean, lengths, axis=0)
    var = np.add.reduceat(deviation * deviation, starts, axis=0) / count
    return {
        "min": np.minimum.reduceat(v, starts, axis=0),
        "max": np.maximum.reduceat(v, starts, axis=0),
        "mean": mean,
        "std": np.sqrt(var),
        "count": lengths[:, None].copy(),
    }


def merged_stats(per_episode: dict[str, Sequence]) -> dict[str, list]:
    """One feature's stats over all episodes from their per-episode stats (n rows of each of
    `STATS`, as `episode_stats` gives or as lists read back from an episodes table): the
    overall variance is the count-weighted mean of each episode's variance plus its mean's
    squared offset from the overall mean (exact, and stable for offsets like time)."""
    count = np.asarray(per_episode["count"], dtype=np.float64).reshape(-1)
    mean = np.asarray(per_episode["mean"], dtype=np.float64)
    std = np.asarray(per_episode["std"], dtype=np.float64)
    n = count.sum()
    overall = (mean * count[:, None]).sum(0) / n
    offset = mean - overall
    var = ((std * std + offset * offset) * count[:, None]).sum(0) / n
    return {
        "min": np.asarray(per_episode["min"], dtype=np.float64).min(0).tolist(),
        "max": np.asarray(per_episode["max"], dtype=np.float64).max(0).tolist(),
        "mean": overall.tolist(),
        "std": np.sqrt(var).tolist(),
        "count": [int(n)],
    }
