"""Fit physics parameters to recordings with bounded least squares (`mujoco.minimize`), with
confidence intervals, identifiability warnings and a parameter distribution."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mujoco import minimize

from workbench import schema
from workbench.calibrate.distribution import fit_spread
from workbench.calibrate.identifiability import blind_parameters, combinations
from workbench.calibrate.inverse_objective import InverseObjective
from workbench.calibrate.objective import WindowedObjective
from workbench.calibrate.space import ParameterSpace, identifiable_flags
from workbench.episode import Episode
from workbench.errors import ParameterError, SettingsError
from workbench.scenes.scene import Scene


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """Fitted values and their uncertainty (physical units, one entry per parameter).

    `stderr` comes from the Gauss-Newton covariance s^2 (J^T J)^-1 at the optimum; windows overlap
    and noise is correlated in time, so treat it as a lower bound on the real uncertainty.
    """

    names: list[str]
    nominal: list[float]
    start: list[float]
    values: list[float]
    stderr: list[float]
    ci95: list[list[float]]
    identifiable: list[bool]
    condition_number: float
    cost_start: float
    cost_final: float
    trace: list[dict[str, Any]]
    evaluations: int
    warnings: list[str]
    settings: dict[str, Any]
    spread: list[float] | None = None
    spread_method: str = "laplace"
    prior_weight: float = 0.0
    combinations: list[dict[str, Any]] | None = None

    def as_params(self) -> dict[str, float]:
        return dict(zip(self.names, self.values, strict=True))

    def distribution(self, space: ParameterSpace) -> dict[str, dict[str, Any]]:
        """Truncated-normal distribution per parameter within bounds: mean = fit, std = the fitted
        DROPO-style spread when there is one, else the standard error (Laplace approximation)."""
        out = {}
        spread = self.spread if self.spread is not None else self.stderr
        for p, v, s in zip(space.parameters, self.values, spread, strict=True):
            std = s if math.isfinite(s) else (p.upper - p.lower) / 4
            out[p.name] = {
                "distribution": "truncated_normal",
                "mean": v,
                "std": max(std, 1e-12),
                "lower": p.lower,
                "upper": p.upper,
            }
        return out

    def save(self, folder: str | Path, space: ParameterSpace) -> dict[str, Path]:
        """Write params.json (for `workbench gap --params`), distribution.toml, calibration.json."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "params": folder / "params.json",
            "distribution": folder / "distribution.toml",
            "calibration": folder / "calibration.json",
        }
        _atomic_write(paths["params"], json.dumps({"values": self.as_params()}, indent=1))
        lines = [
            f"# Parameter distribution from calibration (spread: {self.spread_method}).",
            "# Usable as a randomization spec: one table per parameter.",
        ]
        for name, d in self.distribution(space).items():
            lines.append(f'\n[parameters."{name}"]')
            lines += [f'distribution = "{d["distribution"]}"'] + [
                f"{k} = {d[k]!r}" for k in ("mean", "std", "lower", "upper")
            ]
        _atomic_write(paths["distribution"], "\n".join(lines) + "\n")
        _atomic_write(paths["calibration"], json.dumps(dataclasses.asdict(self), indent=1))
        return paths


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def calibrate(
    scene: Scene,
    episodes: Sequence[Episode],
    space: ParameterSpace,
    *,
    horizon: float = 0.25,
    stride: float = 0.05,
    start: Sequence[float] | None = None,
    max_iter: int = 20,
    threads: int | None = None,
    objective: str = "windows",
    smooth_window: float = 0.2,
    derivatives: str = "auto",
    spread_samples: int = 0,
    prior_weight: float = 0.0,
    progress: Callable[[int, float], None] | None = None,
    scales: Mapping[str, float] | None = None,
    weights: Mapping[str, float] | None = None,
    event=None,
) -> CalibrationResult:
    """Fit `space` to the episodes' windowed k-step predictions (or inverse-dynamics torques).

    Args:
      scene: the scene; its compiled model is not modified (candidates use model copies).
      episodes: training episodes (recorded states, and commands if the scene has actuators).
      space: parameters with bounds and scales.
      horizon, stride: window length and spacing [s].
      start: physical start values (default: nominal).
      max_iter: Levenberg-Marquardt iterations.
      objective: "windows" (k-step prediction of recorded states) or "inverse" (required vs
        measured joint torque along the smoothed recorded motion, `smooth_window` seconds,
        velocities and accelerations from `derivatives`: see `ReplaySettings`).
      spread_samples: windows objective only: > 0 also fits a DROPO-style spread per parameter
        (see `workbench.calibrate.distribution`) with this many parameter samples.
      prior_weight: >= 0; > 0 adds a prior toward the nominal values: the fit minimises
        mean(r^2) + prior_weight * sum(((z - z_nominal) / (upper - lower))^2) (z: optimiser
        coordinates), so a parameter moved across its whole range costs `prior_weight` units of
        mean squared normalised residual. Directions the data do not determine then stay at
        nominal; `result.combinations` says which ones the data did determine.
      progress: called with (iteration, objective) after each iteration.
      scales, weights: windows objective only: per recorded column (e.g. "cube[0]"), the scale
        its residuals are divided by (in the column's unit; default its standard deviation) and
        a weight they are multiplied by (default 1; 0 leaves the column out).
    A parameter whose Jacobian column is zero at the start (the objective cannot depend on it)
    is refused before the fit. `result.combinations` lists the parameter combinations the data
    determine (see `workbench.calibrate.identifiability`).
    event: an optional `workbench.metrics.events.EventWindow`: each episode is cut to where its
      predicate holds (with margins) before fitting, so only that interval is calibrated.
    Deterministic: the same inputs give the same result. Candidates that are non-physical or make
    a window diverge are infeasible (a flat penalty residual); an infeasible start is refused.
    Raises:
      ParameterError, SimulationDiverged: the start values are infeasible.
    """
    objective_name = objective
    if event is not None:
        from workbench.metrics.events import check_event, event_slices

        check_event(event, scene.model, episodes, where="event")
        episodes = event_slices(episodes, event)
    if objective == "windows":
        objective = WindowedObjective(
            scene,
            episodes,
            space,
            horizon=horizon,
            stride=stride,
            threads=threads,
            scales=scales,
            weights=weights,
        )
    elif objective == "inverse":
        objective = InverseObjective(
            scene,
            episodes,
            space,
            smooth_window=smooth_window,
            derivatives=derivatives,
            threads=threads,
        )
    else:
        raise SettingsError(f"objective: expected 'windows' or 'inverse', got {objective!r}")
    try:
        nominal = space.nominal(scene.model)
        x_start = np.asarray(start if start is not None else nominal, dtype=float)
        lo, hi = space.bounds()
        z0 = np.clip(space.to_unit(x_start), lo, hi)
        # an infeasible start (non-physical, or a window that diverges) gives the optimiser a flat
        # penalty to start from: refuse it with what went wrong
        objective.check_feasible(space.from_unit(z0), what="start values")
        blind = blind_parameters(objective, space, z0)
        if blind:
            raise ParameterError(
                f"calibration: {', '.join(repr(n) for n in blind)} cannot affect the "
                f"{objective_name!r} objective (its Jacobian column is zero at the start values and at the centre of the bounds: "
                "changing it changes no residual)"
                + (
                    "; mj_inverse does not involve actuators, so actuator parameters cannot be "
                    "fitted from torques (a measured signal's gain is 'gain:<signal>[<column>]')"
                    if objective_name == "inverse" and any(n.startswith("actuator_") for n in blind)
                    else ""
                )
                + "; remove it from the parameter space"
            )
        prior_weight = float(schema.number(prior_weight, "prior_weight", SettingsError, lower=0))
        z_prior = np.clip(space.to_unit(nominal), lo, hi)[:, None]
        data_rows = objective.residual(z0[:, None]).shape[0]
        prior_factor = math.sqrt(prior_weight * data_rows) / (hi - lo)[:, None]

        def residual(zz: np.ndarray) -> np.ndarray:
            r = objective.residual(zz)
            if not prior_weight:
                return r
            zz = np.asarray(zz, dtype=float).reshape(len(space.parameters), -1)
            return np.vstack([r, prior_factor * (zz - z_prior)])

        trace: list[dict[str, Any]] = []

        def on_iter(logs) -> None:
            log = logs[-1]
            trace.append(
                {
                    "iteration": len(logs),
                    "objective": float(log.objective),
                    "values": space.from_unit(np.ravel(log.candidate)).tolist(),
                }
            )
            if progress:
                progress(len(logs), float(log.objective))

        z, _ = minimize.least_squares(
            z0,
            residual,
            bounds=[lo, hi],
            max_iter=max_iter,
            xtol=1e-6,
            verbose=minimize.Verbosity.SILENT,
            iter_callback=on_iter,
        )
        z = np.ravel(z)
        values = space.from_unit(z)
        r = residual(z[:, None])
        jac, _ = minimize.jacobian_fd(residual, z[:, None], r, 1e-6, 0, [lo[:, None], hi[:, None]])
        stderr, cond, warnings = _uncertainty(jac, r.ravel(), z, space)
        combos = combinations(jac[:data_rows], r.ravel()[:data_rows], space, z)
        held = [c for c in combos if not c.identified]
        if held:
            warnings.append(
                f"{len(held)} of {len(combos)} parameter combinations are not determined by the "
                + ("data (held by the prior toward nominal): " if prior_weight else "data: ")
                + "; ".join(c.formula() for c in held)
            )
        ci = [
            [float(v - 1.96 * s), float(v + 1.96 * s)] for v, s in zip(values, stderr, strict=True)
        ]
        identifiable = identifiable_flags(space, values, stderr)
        for name, ok in zip(space.names, identifiable, strict=True):
            if not ok:
                warnings.append(
                    f"{name}: not identifiable from these data (95% interval wider than the value)"
                )
        at_bound = [
            n
            for n, zz, a, b in zip(space.names, z, lo, hi, strict=True)
            if np.isclose(zz, a) or np.isclose(zz, b)
        ]
        warnings += [
            f"{n}: fit sits at a bound; widen the bounds or fix the parameter" for n in at_bound
        ]
        spread, spread_method = None, "laplace (standard error)"
        if spread_samples > 0:
            if not isinstance(objective, WindowedObjective):
                raise SettingsError(
                    "spread_samples: the DROPO-style spread needs the windows objective"
                )
            fit = fit_spread(objective, values, samples=spread_samples)
            spread, spread_method = (
                fit.std,
                (
                    f"dropo (max. likelihood of k-step outcomes, {spread_samples} samples, "
                    f"log-lik {fit.log_likelihood_no_spread:.4g} -> {fit.log_likelihood:.4g})"
                ),
            )
        return CalibrationResult(
            spread=spread,
            spread_method=spread_method,
            names=space.names,
            nominal=nominal.tolist(),
            start=x_start.tolist(),
            values=values.tolist(),
            stderr=stderr.tolist(),
            ci95=ci,
            identifiable=identifiable,
            condition_number=cond,
            cost_start=objective.cost(x_start),
            cost_final=objective.cost(values),
            trace=trace,
            evaluations=objective.evaluations,
            warnings=warnings,
            settings={
                "objective": type(objective).__name__,
                "smooth_window": smooth_window,
                "derivatives": derivatives,
                "horizon": horizon,
                "stride": stride,
                "max_iter": max_iter,
                "windows": objective.num_windows,
                "episodes": [e.id for e in episodes],
                "prior_weight": prior_weight,
            },
            prior_weight=prior_weight,
            combinations=[c.as_dict() for c in combos],
        )
    finally:
        objective.close()


def _uncertainty(jac: np.ndarray, r: np.ndarray, z: np.ndarray, space: ParameterSpace):
    """Physical-unit standard errors from the optimiser-coordinate Jacobian."""
    m, n = jac.shape
    jtj = jac.T @ jac
    s2 = float(r @ r) / max(m - n, 1)
    warnings = []
    sv = np.linalg.svd(jtj, compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
    if cond > 1e10:
        warnings.append(
            f"ill-conditioned fit (cond(J^T J) = {cond:.3g}): some parameters trade off"
        )
    cov = np.linalg.pinv(jtj, rcond=1e-12, hermitian=True) * s2
    std_z = np.sqrt(np.clip(np.diag(cov), 0, None))
    # directions the data do not see (eigenvalue ~ 0): their parameters have no finite error
    eigval, eigvec = np.linalg.eigh(jtj)
    blind = eigval <= max(eigval[-1], 1e-300) * 1e-12
    if blind.any():
        unseen = np.abs(eigvec[:, blind]).max(axis=1) > 0.1
        std_z = np.where(unseen, np.inf, std_z)
    std = []
    for p, zz, s in zip(space.parameters, z, std_z, strict=True):
        std.append(s * math.log(10) * 10.0**zz if p.scale == "log" else s)
    return np.array(std), cond, warnings
