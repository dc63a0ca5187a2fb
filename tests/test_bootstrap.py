"""Paired bootstrap intervals of held-out changes."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.metrics.bootstrap import paired_change_ci


def test_exact_halving_gives_a_tight_interval_at_minus_50_percent():
    before = np.random.default_rng(0).uniform(1, 3, 40)
    lo, hi = paired_change_ci(before, 0.5 * before, np.median)
    assert lo == pytest.approx(-50.0) and hi == pytest.approx(-50.0)


def test_interval_covers_the_true_change_and_is_seeded():
    rng = np.random.default_rng(1)
    before = rng.lognormal(0.0, 0.5, 200)
    after = before * rng.lognormal(np.log(0.8), 0.3, 200)  # median change about -20 %
    ci = paired_change_ci(before, after, np.mean)
    assert ci == paired_change_ci(before, after, np.mean)
    lo, hi = ci
    true = 100 * (np.mean(after) / np.mean(before) - 1)
    assert lo < true < hi and hi - lo < 20
    narrow = paired_change_ci(before, after, np.mean, level=0.5)
    assert lo < narrow[0] < narrow[1] < hi


def test_too_few_or_mismatched_episodes():
    assert paired_change_ci(np.ones(4), np.ones(4)) is None
    assert paired_change_ci(np.r_[np.ones(4), np.nan], np.ones(5)) is None  # NaN episode dropped
    with pytest.raises(ValueError, match=r"expected two \(n,\) arrays"):
        paired_change_ci(np.ones(5), np.ones(6))
