"""How sure a held-out improvement is: paired bootstrap over episodes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from workbench.errors import SettingsError

MIN_EPISODES = 5


def paired_change_ci(
    nominal: np.ndarray,
    calibrated: np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    samples: int = 4000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Confidence interval [%] of the relative change statistic(calibrated) / statistic(nominal) - 1.

    `nominal`, `calibrated`: (n,) per-episode values of one metric on the same episodes (paired);
    episodes where either is NaN are dropped. Resamples episodes with replacement (percentile
    bootstrap, seeded: the same inputs give the same interval). None when fewer than
    `MIN_EPISODES` episodes remain: too few to say.
    """
    nominal, calibrated = np.asarray(nominal, float), np.asarray(calibrated, float)
    if nominal.shape != calibrated.shape or nominal.ndim != 1:
        raise SettingsError(
            f"paired_change_ci: expected two (n,) arrays, got {nominal.shape} and {calibrated.shape}"
        )
    keep = np.isfinite(nominal) & np.isfinite(calibrated)
    nominal, calibrated = nominal[keep], calibrated[keep]
    n = nominal.size
    if n < MIN_EPISODES:
        return None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(samples, n))
    base = np.apply_along_axis(statistic, 1, nominal[picks])
    new = np.apply_along_axis(statistic, 1, calibrated[picks])
    change = 100.0 * (new / np.where(base != 0, base, np.nan) - 1.0)
    change = change[np.isfinite(change)]
    if change.size == 0:
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(change, [tail, 100.0 - tail])
    return float(lo), float(hi)
