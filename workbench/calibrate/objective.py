"""Windowed k-step prediction objective: many physics variants x many windows in one rollout call.

Windows start from recorded states every `stride` seconds and run `horizon` seconds under the
recorded commands. A candidate's physics values are written into its own copy of the compiled model
(one copy per candidate in a batch, reused across iterations), so a finite-difference Jacobian of n
parameters is one `mujoco.rollout` over (n + 1) x windows. The windows, their initial states
(with command history), commands, rollout and divergence flags are the replay's own
(`workbench.replay.windows`): a candidate's predictions are `replay(mode="windows")`'s windows.

Infeasible candidates (non-physical values, or any window that goes unstable) get the residual
`PENALTY` everywhere, so the least-squares step that reaches them is rejected.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence

import mujoco
import numpy as np

from workbench.calibrate.space import ParameterSpace
from workbench.episode import Episode
from workbench.errors import BindingError, ParameterError, SettingsError, SimulationDiverged
from workbench.physics import write_unchecked
from workbench.physics.signal_params import apply_signal_params
from workbench.replay.divergence import warning_reason
from workbench.replay.forward import control_rows, full_state_rows
from workbench.replay.prepare import prepare
from workbench.replay.rollout import BatchSimulator, state_slices
from workbench.replay.settings import ReplaySettings
from workbench.replay.windows import WindowBatch, run_batch, window_batch, window_list
from workbench.scenes.scene import Scene
from workbench.schema import number

PENALTY = 1e3  # residual of an infeasible candidate (normalised units: ~1000 standard deviations)


class Objective:
    """What every calibration objective shares: `residual_values` over (P, n) physical values is
    the subclass's; optimiser coordinates and the scalar cost are derived from it."""

    space: ParameterSpace

    def residual_values(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def check_feasible(self, values: Sequence[float], *, what: str = "values") -> None:
        """Raise ParameterError (non-physical) or SimulationDiverged (unstable) for (n,) values."""
        raise NotImplementedError

    def residual(self, z: np.ndarray) -> np.ndarray:
        """`mujoco.minimize` interface: (n, P) optimiser coordinates -> (m, P) residuals."""
        z = np.asarray(z, dtype=float).reshape(len(self.space.parameters), -1)
        return self.residual_values(np.stack([self.space.from_unit(col) for col in z.T]))

    def cost(self, values: Sequence[float]) -> float:
        """Mean squared normalised residual at one parameter vector."""
        r = self.residual_values(np.asarray(values, dtype=float)[None])
        return float(np.mean(r**2))


@dataclasses.dataclass(frozen=True)
class WindowSet:
    """The windows of a set of (possibly corrected) recordings: rollout inputs, (W, L-1, k)
    recorded qpos/qvel targets, and (W,) episode id and start time [s] of each window."""

    batch: WindowBatch
    targets: np.ndarray
    episode_ids: tuple[str, ...]
    starts_s: np.ndarray


@dataclasses.dataclass(frozen=True)
class Prediction:
    """Predictions of P candidates over W windows.

    Attributes:
      values: (P, W, L-1, k) predicted qpos/qvel columns; NaN for a diverged window and for
        every window of a non-physical candidate.
      physical: (P,) whether the candidate's values are physical (inertias).
      diverged: (P, W) whether the window went unstable.
      time_s: (P, W) seconds after the window start at which it did (NaN where not).
    """

    values: np.ndarray
    physical: np.ndarray
    diverged: np.ndarray
    time_s: np.ndarray

    @property
    def feasible(self) -> np.ndarray:
        """(P,) physical and no window diverged."""
        return self.physical & ~self.diverged.any(axis=1)


class WindowedObjective(Objective):
    """Residuals of k-step predictions against recordings, for a batch of parameter vectors.

    Residual columns: every recorded `qpos` and `qvel` column of the episodes (quaternion elements
    of free joints included), at every sample of every window, divided by that column's standard
    deviation over the data (so joints and units weigh alike). Measurement parameters
    (`offset:qpos[<joint>]`, an encoder's zero; `delay:<signal>`) correct the recordings per
    candidate: its windows start from, are driven by and are compared with corrected signals.
    """

    def __init__(
        self,
        scene: Scene,
        episodes: Sequence[Episode],
        space: ParameterSpace,
        *,
        horizon: float = 0.25,
        stride: float = 0.05,
        threads: int | None = None,
        scales: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
    ):
        horizon = number(horizon, "--horizon", SettingsError, lower=0.0, lower_open=True)
        self._settings = ReplaySettings(
            "windows", horizons=(horizon,), window_stride=stride, threads=threads
        )
        self.scene, self.space = scene, space
        self.model = scene.model
        self.addresses = space.resolve(self.model)
        self._measurement = [i for i, a in enumerate(self.addresses) if a is None]
        self._episodes = list(episodes)
        self._qpos_cols: np.ndarray | None = None
        self._qvel_cols = np.zeros(0, int)
        self._base = self.window_set(self._episodes)
        self.substeps = self._base.batch.substeps
        self.length = self._base.targets.shape[1] + 1
        self.dt = self.substeps * scene.binding.timestep
        scale = self._base.targets.reshape(-1, self._base.targets.shape[-1]).std(axis=0)
        self.scale = np.where(scale > 1e-9, scale, 1.0)
        self.columns = self._column_names(episodes)
        self.scale = self.scale / column_weights(self.columns, self.scale, scales, weights)
        self.num_windows = self._base.targets.shape[0]
        self._sim = BatchSimulator(self.model, threads=self._settings.threads)
        self._copies: list[mujoco.MjModel] = []
        self.evaluations = 0

    def _column_names(self, episodes: Sequence[Episode]) -> list[str]:
        """Names of the residual columns: recorded `qpos` columns, then `qvel/<column>`."""
        eps, _, bounds = prepare(self.scene, episodes[:1], self._settings)
        qpos = list(eps[0].signals["qpos"].columns)
        qvel = list(eps[0].signals["qvel"].columns) if bounds[0].qvel_index is not None else []
        return qpos + [f"qvel/{c}" for c in qvel]

    def close(self) -> None:
        self._sim.close()

    def window_set(self, episodes: Sequence[Episode]) -> WindowSet:
        """The windows of episodes (as recorded, or corrected by measurement parameters), built
        by the replay's own window assembly."""
        eps, alignments, bounds = prepare(self.scene, episodes, self._settings)
        substeps = sorted({a.substeps for a in alignments})
        if len(substeps) != 1:
            raise BindingError(
                f"calibration: episodes need one common sample period; their replay periods "
                f"are {sorted({a.dt for a in alignments})} s: resample them first"
            )
        for ep, b in zip(eps, bounds, strict=True):
            qvel_cols = b.qvel_index if b.qvel_index is not None else np.zeros(0, int)
            if self._qpos_cols is None:
                self._qpos_cols, self._qvel_cols = b.qpos_index, qvel_cols
            elif not (
                np.array_equal(b.qpos_index, self._qpos_cols)
                and np.array_equal(qvel_cols, self._qvel_cols)
            ):
                raise BindingError(
                    f"calibration: episode {ep.id!r} has other state columns than the first "
                    f"(qpos addresses {b.qpos_index.tolist()} vs {self._qpos_cols.tolist()})"
                )
        states = [full_state_rows(self.model, ep, b) for ep, b in zip(eps, bounds, strict=True)]
        controls = [control_rows(self.model, ep, b) for ep, b in zip(eps, bounds, strict=True)]
        windows = window_list(
            [ep.num_samples for ep in eps],
            [a.dt for a in alignments],
            mode="windows",
            horizon=self._settings.horizons[0],
            stride=self._settings.window_stride,
        )
        if not windows:
            raise BindingError(
                f"calibration: no window of --horizon {self._settings.horizons[0]} s fits in the "
                f"episodes (longest: {max(ep.times[-1] - ep.times[0] for ep in eps):.4g} s)"
            )
        batch = window_batch(self.model, windows, states, controls, substeps[0])
        targets = np.stack(
            [
                np.concatenate(
                    [
                        states[w.episode][0][w.start + 1 : w.start + w.length, self._qpos_cols],
                        states[w.episode][1][w.start + 1 : w.start + w.length, self._qvel_cols],
                    ],
                    1,
                )
                for w in windows
            ]
        )
        return WindowSet(
            batch,
            targets,
            tuple(eps[w.episode].id for w in windows),
            np.array([w.start * alignments[w.episode].dt for w in windows]),
        )

    def _models(self, values: np.ndarray) -> tuple[list[mujoco.MjModel], np.ndarray]:
        """One model per candidate (P, n) with its physics values applied in place, and a (P,)
        mask of candidates that are physical (others are scored as infeasible)."""
        while len(self._copies) < values.shape[0]:
            self._copies.append(copy.copy(self.model))
        physical = np.array(
            [
                write_unchecked(m, self.addresses, row)
                for m, row in zip(self._copies, values, strict=False)
            ]
        )
        return self._copies[: values.shape[0]], physical

    def _candidate_sets(self, values: np.ndarray) -> list[WindowSet]:
        """Per candidate, its windows: the recorded ones, or corrected by its measurement
        parameters."""
        if not self._measurement:
            return [self._base] * values.shape[0]
        out = []
        for row in values:
            params = {self.space.names[i]: row[i] for i in self._measurement}
            out.append(self.window_set([apply_signal_params(e, params) for e in self._episodes]))
        return out

    def evaluate(self, values: np.ndarray, sets: Sequence[WindowSet] | None = None) -> Prediction:
        """Predictions and feasibility of (P, n) physical parameter values (`sets`: their
        `_candidate_sets`, when the caller has them already)."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        P, W = values.shape[0], self.num_windows
        candidates, physical = self._models(values)
        if sets is None:
            sets = self._candidate_sets(values)
        if self._measurement:
            batch = WindowBatch.concatenate([s.batch for s in sets])
        else:
            batch = self._base.batch.tiled(P)
        out = run_batch(self._sim, batch, models=[m for m in candidates for _ in range(W)])
        self.evaluations += P
        qs, vs = state_slices(self.model)
        samples = out.samples[:, 1:]
        pred = np.concatenate(
            [samples[..., qs][..., self._qpos_cols], samples[..., vs][..., self._qvel_cols]], -1
        ).reshape(P, W, self.length - 1, -1)
        diverged = out.diverged.reshape(P, W)
        pred[diverged] = np.nan
        pred[~physical] = np.nan
        return Prediction(pred, physical, diverged, out.time_s.reshape(P, W))

    def predict(self, values: np.ndarray) -> np.ndarray:
        """(P, W, L-1, k) predicted qpos/qvel columns for (P, n) physical parameter values; NaN
        for diverged windows and non-physical candidates."""
        return self.evaluate(values).values

    def targets_for(self, values: np.ndarray) -> np.ndarray:
        """(P, W, L-1, k) recorded targets as each of (P, n) candidates' measurement parameters
        correct them (the recorded ones, broadcast, when the space has none)."""
        sets = self._candidate_sets(np.atleast_2d(values))
        return np.stack([s.targets for s in sets])

    def residual_values(self, values: np.ndarray) -> np.ndarray:
        """(m, P) residuals for (P, n) physical values; an infeasible candidate (non-physical, or
        any diverged window) gets `PENALTY` everywhere."""
        values = np.atleast_2d(values)
        sets = self._candidate_sets(values)  # corrected recordings: built once per candidate
        prediction = self.evaluate(values, sets)
        targets = np.stack([s.targets for s in sets])
        res = (prediction.values - targets) / self.scale
        res = np.where(np.isfinite(res), res, PENALTY)
        res[~prediction.feasible] = PENALTY
        return res.reshape(res.shape[0], -1).T

    def check_feasible(self, values: Sequence[float], *, what: str = "values") -> None:
        """Raise ParameterError for non-physical values, SimulationDiverged (naming the first
        unstable window: episode, time, MuJoCo warning) when any window diverges."""
        row = np.asarray(values, dtype=float)[None]
        sets = self._candidate_sets(row)
        prediction = self.evaluate(row, sets)
        named = dict(zip(self.space.names, row[0].tolist(), strict=True))
        if not prediction.physical[0]:
            raise ParameterError(
                f"calibration {what} {named}: non-physical (a body inertia breaks the triangle "
                "inequality)"
            )
        diverged = prediction.diverged[0]
        if diverged.any():
            k = int(np.argmax(diverged))
            model, batch = self._copies[0], sets[0].batch
            step = int(round(prediction.time_s[0, k] / model.opt.timestep))
            ctrl = None if batch.ctrl is None else batch.ctrl[k]
            reason = warning_reason(model, batch.init[k], ctrl, step)
            at = sets[0].starts_s[k] + prediction.time_s[0, k]
            raise SimulationDiverged(
                f"calibration {what} {named}: {int(diverged.sum())} of {diverged.size} windows "
                f"diverge (first: episode {sets[0].episode_ids[k]!r}, window at "
                f"{sets[0].starts_s[k]:.4g} s, unstable at {at:.4g} s: {reason}); choose other "
                "start values"
            )


def column_weights(
    columns: Sequence[str],
    std: np.ndarray,
    scales: Mapping[str, float] | None,
    weights: Mapping[str, float] | None,
) -> np.ndarray:
    """(k,) factors turning the default per-column scale (`std`) into `weight / scale`: residual
    = error * factor / std. Unknown column names are a SettingsError listing the valid ones."""
    factor = np.ones(len(columns))
    for what, table in (("scales", scales), ("weights", weights)):
        for name, value in (table or {}).items():
            if name not in columns:
                raise SettingsError(
                    f"{what}: unknown column {name!r}; residual columns are {list(columns)}"
                )
            k = columns.index(name)
            if what == "scales":
                value = number(value, f"scales[{name!r}]", SettingsError, lower=0, lower_open=True)
                factor[k] *= std[k] / value
            else:
                factor[k] *= number(value, f"weights[{name!r}]", SettingsError, lower=0)
    return np.where(factor > 0, factor, 1e-300)
