"""Derivative-free calibration (CMA-ES from the `cma` package) for non-smooth objectives such as
full-trajectory errors through contact."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from workbench.calibrate.fit import CalibrationResult
from workbench.calibrate.space import ParameterSpace, identifiable_flags
from workbench.episode import Episode
from workbench.errors import ParameterError
from workbench.replay import ReplaySettings, SimTrace, replay
from workbench.scenes.scene import Scene

Score = Callable[[list[SimTrace]], float]


def calibrate_cma(
    scene: Scene,
    episodes: Sequence[Episode],
    space: ParameterSpace,
    score: Score,
    *,
    settings: ReplaySettings | None = None,
    popsize: int = 8,
    generations: int = 15,
    sigma0: float = 0.2,
    seed: int = 0,
    start: Sequence[float] | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> CalibrationResult:
    """Minimise `score(replay(scene, episodes, params=candidate))` with CMA-ES.

    The search runs in normalised coordinates (bounds -> [0, 1], log scale where the parameter says
    so). Each candidate is applied in place to the scene's compiled model and restored after. The
    result's `stderr` is the spread of CMA-ES's final search distribution (not a posterior), and its
    `distribution` is that Gaussian, which is what a randomization spec needs. Seeded: the same seed
    gives the same result.
    """
    import cma

    if len(space.parameters) < 2:
        raise ParameterError(
            f"calibrate_cma: CMA-ES needs at least 2 parameters, got {space.names}; use the "
            "least-squares `calibrate` for one"
        )
    settings = settings or ReplaySettings("open_loop")
    lo, hi = space.bounds()
    nominal = space.nominal(scene.model)
    x_start = np.asarray(start if start is not None else nominal, dtype=float)

    def to_u(values: np.ndarray) -> np.ndarray:
        return (space.to_unit(values) - lo) / (hi - lo)

    def from_u(u: np.ndarray) -> np.ndarray:
        return space.from_unit(lo + np.clip(u, 0.0, 1.0) * (hi - lo))

    cache: dict[tuple[float, ...], float] = {}

    def evaluate(values: np.ndarray) -> float:
        key = tuple(np.round(values, 15))
        if key not in cache:
            try:
                traces = replay(scene, episodes, settings, params=space.as_dict(values))
            except ParameterError:  # e.g. a non-physical inertia: infeasible, not fatal
                value = math.inf
            else:
                value = float(score(traces))
            cache[key] = value if math.isfinite(value) else 1e9
        return cache[key]

    es = cma.CMAEvolutionStrategy(
        np.clip(to_u(x_start), 0.0, 1.0).tolist(),
        sigma0,
        {
            "bounds": [0.0, 1.0],
            "popsize": popsize,
            "seed": 1000 + seed,
            "maxiter": generations,
            "verbose": -9,
            "tolfun": 1e-9,
        },
    )
    trace = []
    cost_start = evaluate(x_start)
    while not es.stop():
        candidates = es.ask()
        es.tell(candidates, [evaluate(from_u(np.asarray(u))) for u in candidates])
        best = from_u(np.asarray(es.result.xbest))
        trace.append(
            {
                "iteration": es.countiter,
                "objective": float(es.result.fbest),
                "values": best.tolist(),
            }
        )
        if progress:
            progress(es.countiter, float(es.result.fbest))
    best_u = np.asarray(es.result.xbest)
    values = from_u(best_u)
    # spread of the final search distribution, mapped to physical units (one-sigma)
    sd_u = es.sigma * np.sqrt(np.diag(es.C))
    up, down = from_u(best_u + sd_u), from_u(best_u - sd_u)
    stderr = np.abs(up - down) / 2
    identifiable = identifiable_flags(space, values, stderr)
    warnings = [
        f"{n}: the objective hardly depends on it (search spread wider than the value)"
        for n, ok in zip(space.names, identifiable, strict=True)
        if not ok
    ]
    return CalibrationResult(
        names=space.names,
        nominal=nominal.tolist(),
        start=x_start.tolist(),
        values=values.tolist(),
        stderr=stderr.tolist(),
        ci95=[
            [float(v - 1.96 * s), float(v + 1.96 * s)] for v, s in zip(values, stderr, strict=True)
        ],
        identifiable=identifiable,
        condition_number=float("nan"),
        cost_start=cost_start,
        cost_final=float(es.result.fbest),
        trace=trace,
        evaluations=len(cache),
        warnings=warnings,
        settings={
            "method": "cma",
            "popsize": popsize,
            "generations": generations,
            "sigma0": sigma0,
            "seed": seed,
            "mode": settings.mode,
            "episodes": [e.id for e in episodes],
        },
    )
