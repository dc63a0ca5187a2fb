"""Derivative-free calibration (CMA-ES from the `cma` package) for non-smooth objectives such as
full-trajectory errors through contact."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import numpy as np

from workbench.calibrate.fit import CalibrationResult
from workbench.calibrate.space import ParameterSpace, identifiable_flags
from workbench.episode import Episode
from workbench.errors import ParameterError
from workbench.physics import set_values
from workbench.physics.signal_params import is_signal_param, split_params
from workbench.replay import ReplaySettings, SimTrace, replay, replay_variants
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
    so). A generation's candidates replay together (`replay_variants`: one model copy each,
    values applied in place); spaces with measurement parameters replay candidate by candidate. The
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
    physics_only = not any(is_signal_param(n) for n in space.names)
    scratch = copy.copy(scene.model)

    def feasible(params: dict[str, float]) -> bool:
        physics, _ = split_params(params)
        try:
            set_values(scratch, set_values(scratch, physics))  # validate, then restore
        except ParameterError:  # e.g. a non-physical inertia: infeasible, not fatal
            return False
        return True

    def evaluate_all(candidates: list[np.ndarray]) -> list[float]:
        """Scores of candidates; new feasible ones replay together (one batched call when every
        parameter is physics, one replay each otherwise)."""
        keys = [tuple(np.round(v, 15)) for v in candidates]
        todo = {}
        for key, values in zip(keys, candidates, strict=True):
            if key not in cache and key not in todo:
                params = space.as_dict(values)
                if feasible(params):
                    todo[key] = params
                else:
                    cache[key] = 1e9
        if physics_only and todo:
            runs = replay_variants(scene, episodes, list(todo.values()), settings, chunk=len(todo))
        else:
            runs = (
                (i, replay(scene, episodes, settings, params=p))
                for i, p in enumerate(todo.values())
            )
        pending = list(todo)
        for i, traces in runs:
            value = float(score(traces))
            cache[pending[i]] = value if math.isfinite(value) else 1e9
        return [cache[k] for k in keys]

    def evaluate(values: np.ndarray) -> float:
        return evaluate_all([values])[0]

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
        es.tell(candidates, evaluate_all([from_u(np.asarray(u)) for u in candidates]))
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
    if not es.result.fbest < cost_start:  # nothing beat the start: keep it
        best_u = np.clip(to_u(x_start), 0.0, 1.0)
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
        cost_final=float(min(es.result.fbest, cost_start)),
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
