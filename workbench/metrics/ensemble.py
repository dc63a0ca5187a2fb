"""Scores of an ensemble of simulated outcomes against one real outcome (pure numpy).

- centrality c in [0, 1]: how far out the real outcome lies in the ensemble. A scalar's is
  |2 F(y) - 1| with F the ensemble's empirical CDF (mid-rank for ties); a vector's is the fraction
  of members closer to the ensemble's coordinate-wise median than the real outcome is (mid-rank).
  The ensemble's central q region covers the real outcome when c <= q, so over many episodes the
  share with c <= q should be q (a reliability diagram plots one against the other).
- energy score ES = mean_i |X_i - y| - 1/(2 N^2) sum_ij |X_i - X_j| (Gneiting & Raftery 2007;
  for scalars it equals the CRPS). Proper: lower is better, and for a single point x it is |x - y|,
  so ensembles and point models are compared on one scale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def _members(members: np.ndarray) -> np.ndarray:
    x = np.asarray(members, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"members: expected (N, d) with N >= 1, got shape {x.shape}")
    return x


def centrality(members: np.ndarray, real: np.ndarray) -> float:
    """c in [0, 1] of `real` (d,) among `members` (N, d) (see the module doc)."""
    x = _members(members)
    y = np.asarray(real, dtype=np.float64).reshape(-1)
    if x.shape[1] == 1:
        below = np.count_nonzero(x[:, 0] < y[0]) + 0.5 * np.count_nonzero(x[:, 0] == y[0])
        return float(abs(2.0 * below / x.shape[0] - 1.0))
    centre = np.median(x, axis=0)
    d_members = np.linalg.norm(x - centre, axis=1)
    d_real = float(np.linalg.norm(y - centre))
    closer = np.count_nonzero(d_members < d_real) + 0.5 * np.count_nonzero(d_members == d_real)
    return float(closer / x.shape[0])


def energy_score(members: np.ndarray, real: np.ndarray) -> float:
    """Energy score of `members` (N, d) for the outcome `real` (d,) [units of the outcome]."""
    x = _members(members)
    y = np.asarray(real, dtype=np.float64).reshape(-1)
    first = np.linalg.norm(x - y, axis=1).mean()
    if x.shape[1] == 1:  # sorted form, O(N log N)
        s = np.sort(x[:, 0])
        n = s.size
        pair = 2.0 * np.sum((2 * np.arange(1, n + 1) - n - 1) * s) / n**2
        return float(first - 0.5 * pair)
    diff = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    return float(first - 0.5 * diff.mean())


def coverage(c: Sequence[float], levels: Sequence[float] = LEVELS) -> dict[str, float]:
    """Share of episodes whose real outcome the central q region covers, per level q."""
    c = np.asarray(c, dtype=np.float64)
    return {f"{q:g}": float(np.mean(c <= q)) if c.size else float("nan") for q in levels}


@dataclasses.dataclass(frozen=True)
class MetricScores:
    """One outcome metric over episodes: `centrality` (E,), ensemble `energy` (E,), and the
    energy score of each point model (name -> (E,))."""

    name: str
    centrality: np.ndarray
    energy: np.ndarray
    points: dict[str, np.ndarray]

    def summary(self, levels: Sequence[float] = LEVELS) -> dict:
        return {
            "episodes": int(self.centrality.size),
            "coverage": coverage(self.centrality, levels),
            "energy_score": {
                "ensemble": float(np.mean(self.energy)),
                **{k: float(np.mean(v)) for k, v in self.points.items()},
            },
        }


def score_metric(
    name: str,
    members: Sequence[np.ndarray],
    real: Sequence[np.ndarray],
    points: dict[str, Sequence[np.ndarray]] | None = None,
) -> MetricScores:
    """Scores over episodes: `members[e]` (N_e, d), `real[e]` (d,), `points[model][e]` (d,)."""
    c = np.array([centrality(m, y) for m, y in zip(members, real, strict=True)])
    es = np.array([energy_score(m, y) for m, y in zip(members, real, strict=True)])
    pts = {
        k: np.array([energy_score(np.reshape(p, (1, -1)), y) for p, y in zip(v, real, strict=True)])
        for k, v in (points or {}).items()
    }
    return MetricScores(name, c, es, pts)
