"""Windowed k-step prediction objective: many physics variants x many windows in one rollout call.

Windows start from recorded states every `stride` seconds and run `horizon` seconds under the
recorded commands. A candidate's physics values are written into its own copy of the compiled model
(one copy per candidate in a batch, reused across iterations), so a finite-difference Jacobian of n
parameters is one `mujoco.rollout` over (n + 1) x windows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import mujoco
import numpy as np

from workbench.calibrate.space import ParameterSpace
from workbench.episode import Episode
from workbench.errors import BindingError
from workbench.physics.addresses import write_unchecked
from workbench.physics.signal_params import apply_signal_params
from workbench.replay.forward import control_rows, full_state_rows
from workbench.replay.rollout import (
    BatchSimulator,
    history_length,
    initial_states,
    past_controls,
    state_slices,
)
from workbench.replay.run import ReplaySettings, _windows_for, prepare
from workbench.scenes.scene import Scene


class Objective:
    """What every calibration objective shares: `residual_values` over (P, n) physical values is
    the subclass's; optimiser coordinates and the scalar cost are derived from it."""

    space: ParameterSpace

    def residual_values(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def residual(self, z: np.ndarray) -> np.ndarray:
        """`mujoco.minimize` interface: (n, P) optimiser coordinates -> (m, P) residuals."""
        z = np.asarray(z, dtype=float).reshape(len(self.space.parameters), -1)
        return self.residual_values(np.stack([self.space.from_unit(col) for col in z.T]))

    def cost(self, values: Sequence[float]) -> float:
        """Mean squared normalised residual at one parameter vector."""
        r = self.residual_values(np.asarray(values, dtype=float)[None])
        return float(np.mean(r**2))


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
    ):
        self._settings = ReplaySettings("windows", horizons=(horizon,), window_stride=stride)
        self.scene, self.space = scene, space
        self.model = scene.model
        self.addresses = space.resolve(self.model)
        self._measurement = [i for i, a in enumerate(self.addresses) if a is None]
        self._episodes = list(episodes)
        eps, alignments, bounds = prepare(scene, self._episodes, self._settings)
        if len({a.substeps for a in alignments}) != 1:
            raise BindingError(
                "calibration: episodes need one common sample period; resample them first"
            )
        self.substeps, self.dt = alignments[0].substeps, alignments[0].dt
        self._qpos_cols = bounds[0].qpos_index
        self._qvel_cols = (
            bounds[0].qvel_index if bounds[0].qvel_index is not None else np.zeros(0, int)
        )
        self.init, self.ctrl, self.targets = self._window_arrays(eps, alignments, bounds)
        self.length = self.targets.shape[1] + 1
        scale = self.targets.reshape(-1, self.targets.shape[-1]).std(axis=0)
        self.scale = np.where(scale > 1e-9, scale, 1.0)
        self.num_windows = self.targets.shape[0]
        self._sim = BatchSimulator(self.model, threads=threads)
        self._copies: list[mujoco.MjModel] = []
        self.evaluations = 0

    def close(self) -> None:
        self._sim.close()

    def _window_arrays(self, eps, alignments, bounds):
        """(W, nstate) initial states, (W, steps, nu) commands or None, (W, L-1, k) targets of
        every window of prepared episodes (as recorded, or corrected by measurement parameters)."""
        settings = self._settings
        horizon = settings.horizons[0]
        qpos_rows, qvel_rows, ctrl_rows, past_rows, targets = [], [], [], [], []
        history = history_length(self.model)
        for i, (ep, al, b) in enumerate(zip(eps, alignments, bounds, strict=True)):
            if not (
                np.array_equal(b.qpos_index, self._qpos_cols)
                and np.array_equal(
                    b.qvel_index if b.qvel_index is not None else np.zeros(0, int), self._qvel_cols
                )
            ):
                raise BindingError(
                    f"calibration: episode {ep.id!r} has other state columns than the first"
                )
            qpos, qvel = full_state_rows(self.model, ep, b)
            ctrl = control_rows(self.model, ep, b)
            for w in _windows_for(ep, i, al, settings):
                sl = slice(w.start, w.start + w.length)
                qpos_rows.append(qpos[w.start])
                qvel_rows.append(qvel[w.start])
                if ctrl is not None:
                    ctrl_rows.append(np.repeat(ctrl[sl][:-1], self.substeps, axis=0))
                    if history:
                        past_rows.append(past_controls(ctrl, w.start, self.substeps, history))
                targets.append(
                    np.concatenate(
                        [qpos[sl][1:, self._qpos_cols], qvel[sl][1:, self._qvel_cols]], 1
                    )
                )
        if not targets:
            raise BindingError(f"calibration: no window of {horizon} s fits in the episodes")
        init = initial_states(
            self.model,
            np.array(qpos_rows),
            np.array(qvel_rows),
            np.array(past_rows) if past_rows else None,
        )
        return init, (np.array(ctrl_rows) if ctrl_rows else None), np.array(targets)

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

    def predict(self, values: np.ndarray, arrays=None) -> np.ndarray:
        """(P, W, L-1, k) predicted qpos/qvel columns for (P, n) physical parameter values
        (`arrays`: their `_candidate_arrays`, when the caller has them already)."""
        values = np.atleast_2d(values)
        P, W = values.shape[0], self.num_windows
        candidates, physical = self._models(values)
        models = [m for m in candidates for _ in range(W)]
        init, ctrl, _ = arrays if arrays is not None else self._candidate_arrays(values)
        nstep = (self.length - 1) * self.substeps
        states, _ = self._sim.run(init, ctrl, nstep, models=models)
        self.evaluations += P
        qs, vs = state_slices(self.model)
        samples = states[:, self.substeps - 1 :: self.substeps]
        out = np.concatenate(
            [samples[..., qs][..., self._qpos_cols], samples[..., vs][..., self._qvel_cols]], -1
        )
        out = out.reshape(P, W, self.length - 1, -1)
        out[~physical] = np.nan
        return out

    def _candidate_arrays(self, values: np.ndarray):
        """Stacked (P*W, ...) initial states and commands and (P, W, L-1, k) targets: the
        recorded ones, or per candidate corrected by its measurement parameters."""
        P = values.shape[0]
        if not self._measurement:
            ctrl = np.tile(self.ctrl, (P, 1, 1)) if self.ctrl is not None else None
            return (
                np.tile(self.init, (P, 1)),
                ctrl,
                np.broadcast_to(self.targets, (P, *self.targets.shape)),
            )
        arrays = []
        for row in values:
            params = {self.space.names[i]: row[i] for i in self._measurement}
            corrected = [apply_signal_params(e, params) for e in self._episodes]
            arrays.append(self._window_arrays(*prepare(self.scene, corrected, self._settings)))
        ctrl = np.concatenate([a[1] for a in arrays]) if self.ctrl is not None else None
        return np.concatenate([a[0] for a in arrays]), ctrl, np.stack([a[2] for a in arrays])

    def targets_for(self, values: np.ndarray) -> np.ndarray:
        """(P, W, L-1, k) recorded targets as each of (P, n) candidates' measurement parameters
        correct them (the recorded ones, broadcast, when the space has none)."""
        return self._candidate_arrays(np.atleast_2d(values))[2]

    def residual_values(self, values: np.ndarray) -> np.ndarray:
        """(m, P) residuals for (P, n) physical values; diverged predictions give large residuals."""
        values = np.atleast_2d(values)
        arrays = self._candidate_arrays(values)  # corrected recordings: built once per candidate
        res = (self.predict(values, arrays) - arrays[2]) / self.scale
        res = np.where(np.isfinite(res), res, 1e3)
        return res.reshape(res.shape[0], -1).T
