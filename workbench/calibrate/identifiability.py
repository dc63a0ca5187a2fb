"""Which parameter combinations the data determine, and which parameters cannot matter at all.

- `combinations`: the singular value decomposition of the data Jacobian at the optimum, with each
  parameter measured in units of its range (optimiser coordinates divided by upper - lower, so a
  mass in kg and a first moment in kg m weigh alike). A right singular vector v with a significant
  singular value s is a combination sum_j v_j x_j / range_j the data determine; its standard error
  is sqrt(s2) / s (s2: residual variance). Masses and centres of mass of an arm, for instance,
  trade off: often only a few such combinations (the base parameters) are determined.
- `blind_parameters`: parameters whose Jacobian column is zero at the start (one finite
  difference each), so the objective cannot see them, e.g. `actuator_gainprm` in the inverse
  objective (mj_inverse does not involve actuators): fitting them is refused up front.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.calibrate.space import ParameterSpace
from workbench.errors import WorkbenchError

SIGNIFICANT = 1e-3  # singular value relative to the largest
COEFFICIENT = 0.05  # weights below this (of a unit vector) are left out of the written form


@dataclasses.dataclass(frozen=True)
class Combination:
    """One right singular vector of the range-normalised data Jacobian.

    Attributes:
      weights: {parameter name: v_j} (unit vector; the combination is sum v_j x_j / range_j).
      singular_value: s (relative: `relative`).
      std_error: sqrt(s2) / s, in range units.
      value: the combination at the fitted values, sum v_j x_j / range_j.
      identified: s >= SIGNIFICANT * s_max and std_error < 0.1 (a tenth of a range).
    """

    weights: dict[str, float]
    singular_value: float
    relative: float
    std_error: float
    value: float
    identified: bool

    def formula(self) -> str:
        """e.g. '0.71 body_mass[link2] - 0.70 body_mc[link2][0]' (each over its range)."""
        terms = [(w, n) for n, w in self.weights.items() if abs(w) >= COEFFICIENT]
        terms.sort(key=lambda t: -abs(t[0]))
        text = ""
        for i, (w, n) in enumerate(terms):
            sign = "-" if w < 0 else ("+" if i else "")
            text += f"{' ' if i else ''}{sign}{' ' if i else ''}{abs(w):.2f} {n}"
        return text

    def as_dict(self) -> dict:
        return {
            "combination": self.formula(),
            "weights": self.weights,
            "singular_value": self.singular_value,
            "relative": self.relative,
            "std_error_range_units": self.std_error,
            "value_range_units": self.value,
            "identified": self.identified,
        }


def combinations(
    jac: np.ndarray,
    residual: np.ndarray,
    space: ParameterSpace,
    z: np.ndarray,
    *,
    significant: float = SIGNIFICANT,
) -> list[Combination]:
    """Combinations from the data Jacobian `jac` (m, n) in optimiser coordinates at `z` (n,),
    `residual` (m,) the data residuals there; strongest first."""
    lo, hi = space.bounds()
    width = hi - lo
    scaled = jac * width[None, :]  # d r / d (z / width)
    _, sv, vt = np.linalg.svd(scaled, full_matrices=False)
    m, n = jac.shape
    s2 = float(residual @ residual) / max(m - n, 1)
    top = float(sv[0]) if sv.size and sv[0] > 0 else 0.0
    out = []
    for s, v in zip(sv, vt, strict=True):
        if v[np.argmax(np.abs(v))] < 0:  # sign convention: largest weight positive
            v = -v
        rel = float(s / top) if top else 0.0
        se = float(np.sqrt(s2) / s) if s > 0 else float("inf")
        out.append(
            Combination(
                weights={name: float(w) for name, w in zip(space.names, v, strict=True)},
                singular_value=float(s),
                relative=rel,
                std_error=se,
                value=float(v @ (z / width)),
                identified=bool(rel >= significant and se < 0.1),
            )
        )
    return out


def blind_parameters(objective, space: ParameterSpace, z0: np.ndarray) -> list[str]:
    """Names the objective cannot see: a zero Jacobian column at `z0` (optimiser coordinates)
    AND at the centre of the bounds, so a parameter that matters only once another one moves
    (a friction constraint's softness while the friction itself starts at zero) is kept.
    A centre that is not feasible refuses nothing."""
    blind = _zero_columns(objective, space, z0)
    if not blind:
        return []
    lo, hi = space.bounds()
    centre = 0.5 * (lo + hi)
    try:
        objective.check_feasible(space.from_unit(centre), what="centre of the bounds")
    except WorkbenchError:
        return []
    also = set(_zero_columns(objective, space, centre))
    return [n for n in blind if n in also]


def _zero_columns(objective, space: ParameterSpace, z: np.ndarray) -> list[str]:
    """Names whose Jacobian column is zero at `z`: one forward difference of a thousandth of
    the range each (toward the interior), in one batched call."""
    lo, hi = space.bounds()
    n = len(z)
    step = 1e-3 * (hi - lo)
    step = np.where(z + step <= hi, step, -step)
    candidates = np.repeat(z[:, None], n + 1, axis=1)
    candidates[np.arange(n), np.arange(1, n + 1)] += step
    r = objective.residual(candidates)
    base = r[:, :1]
    scale = max(1.0, float(np.max(np.abs(base))) if base.size else 1.0)
    change = np.max(np.abs(r[:, 1:] - base), axis=0) if r.shape[0] else np.zeros(n)
    return [name for name, c in zip(space.names, change, strict=True) if c <= 1e-12 * scale]
