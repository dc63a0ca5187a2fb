"""DROPO-style parameter distributions: the spread of physics parameters that best explains the
variability of real transitions.

Following DROPO (Tiboni et al., 2023): with the mean fixed at the fitted values, choose per-parameter
standard deviations so that, for every recorded window, the recorded k-step outcome is likely under
the Gaussian formed by simulating that window with parameters sampled from the distribution.
Samples use fixed standard-normal draws (common random numbers), so the likelihood is a smooth
function of the spreads; it is maximised with Nelder-Mead over log-spreads.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.optimize import minimize as scipy_minimize

from workbench.calibrate.objective import WindowedObjective


@dataclasses.dataclass(frozen=True)
class SpreadFit:
    """Fitted spread: `std` in physical units, `std_unit` in optimiser coordinates (log10 for
    log-scale parameters); `log_likelihood` per window and state column at the optimum and with
    no spread (deterministic parameters, noise floor only)."""

    std: list[float]
    std_unit: list[float]
    log_likelihood: float
    log_likelihood_no_spread: float
    evaluations: int


def fit_spread(
    objective: WindowedObjective,
    mean: np.ndarray,
    *,
    samples: int = 12,
    seed: int = 0,
    noise: float = 0.05,
    max_evals: int = 60,
) -> SpreadFit:
    """Per-parameter standard deviations around `mean` (physical values) by maximum likelihood.

    Args:
      objective: windowed objective over the training episodes (its windows and targets).
      mean: (n,) fitted parameter values.
      samples: parameter samples per likelihood evaluation (each is one batched rollout).
      noise: floor of the predictive standard deviation, in units of each state column's std.
      max_evals: likelihood evaluations for Nelder-Mead.
    """
    space = objective.space
    lo, hi = space.bounds()
    z_mean = space.to_unit(np.asarray(mean, dtype=float))
    eps = np.random.default_rng(seed).standard_normal((samples, len(space.parameters)))
    count = 0
    targets = objective.targets_for(np.asarray(mean, dtype=float))[0]  # at the fitted measurement

    def loglik(std_unit: np.ndarray) -> float:
        nonlocal count
        count += 1
        z = np.clip(z_mean + eps * std_unit, lo, hi)
        values = np.stack([space.from_unit(row) for row in z])
        pred = objective.predict(values)[:, :, -1, :] / objective.scale  # (K, W, k) k-step outcome
        real = targets[:, -1, :] / objective.scale  # (W, k)
        var = pred.var(axis=0) + noise**2
        ll = -0.5 * (np.log(2 * np.pi * var) + (real - pred.mean(axis=0)) ** 2 / var)
        return float(np.mean(np.where(np.isfinite(ll), ll, -1e6)))

    start = np.log(np.maximum(0.05 * (hi - lo), 1e-6))
    result = scipy_minimize(
        lambda s: -loglik(np.exp(s)),
        start,
        method="Nelder-Mead",
        options={"maxfev": max_evals, "xatol": 1e-2, "fatol": 1e-4},
    )
    std_unit = np.exp(result.x)
    # physical one-sigma: half the distance between mean -/+ one unit-sigma
    up = space.from_unit(np.clip(z_mean + std_unit, lo, hi))
    down = space.from_unit(np.clip(z_mean - std_unit, lo, hi))
    return SpreadFit(
        std=(np.abs(up - down) / 2).tolist(),
        std_unit=std_unit.tolist(),
        log_likelihood=-float(result.fun),
        log_likelihood_no_spread=loglik(np.zeros_like(std_unit)),
        evaluations=count,
    )
