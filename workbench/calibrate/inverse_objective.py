"""Inverse-dynamics objective: required vs measured joint torque along recorded motion.

For each candidate, `mj_inverse` runs over the (smoothed) recorded samples in the candidate's own
model copy; candidates run on parallel threads (MuJoCo releases the GIL).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np

from workbench.calibrate.objective import PENALTY, Objective
from workbench.calibrate.space import ParameterSpace
from workbench.episode import Episode
from workbench.errors import ParameterError, SimulationDiverged
from workbench.physics import write_unchecked
from workbench.physics.signal_params import apply_signal_params
from workbench.replay.modes import motion_rows
from workbench.replay.prepare import prepare
from workbench.replay.rollout import default_threads
from workbench.replay.settings import ReplaySettings
from workbench.scenes.scene import Scene


class InverseObjective(Objective):
    """Residuals (qfrc_inverse - measured) / std(measured), per torque column and sample.

    Measurement parameters in the space (`delay:qfrc_actuator`, `offset:qfrc_actuator[<joint>]`)
    correct the measured torque before the comparison. The motion comes from the replay's
    `inverse` mode (`workbench.replay.modes.inverse_rows`); an infeasible candidate (non-physical,
    or non-finite required forces) gets `PENALTY` everywhere.
    """

    def __init__(
        self,
        scene: Scene,
        episodes: Sequence[Episode],
        space: ParameterSpace,
        *,
        smooth_window: float = 0.2,
        derivatives: str = "auto",
        sample_stride: int = 4,
        threads: int | None = None,
    ):
        settings = ReplaySettings("inverse", smooth_window=smooth_window, derivatives=derivatives)
        eps, alignments, bounds = prepare(scene, episodes, settings)
        self.model, self.space = scene.model, space
        self.discrete = smooth_window == 0 and all(a.substeps == 1 for a in alignments)
        self.addresses = space.resolve(self.model)
        rows_q, rows_v, rows_a, self._measured = [], [], [], []
        for ep, al, b in zip(eps, alignments, bounds, strict=True):
            qpos, qvel, qacc = motion_rows(self.model, ep, al, b, settings)
            keep = np.arange(0, ep.num_samples, sample_stride)
            rows_q.append(qpos[keep])
            rows_v.append(qvel[keep])
            rows_a.append(qacc[keep])
            self._measured.append((ep, keep))
            self.dofs = b.torque_index
        self.qpos, self.qvel, self.qacc = (
            np.concatenate(rows_q),
            np.concatenate(rows_v),
            np.concatenate(rows_a),
        )
        self.targets = self._targets({})
        scale = self.targets.std(axis=0)
        self.scale = np.where(scale > 1e-9, scale, 1.0)
        self.num_windows = self.targets.shape[0]
        self.threads = threads or default_threads()
        self._pool = ThreadPoolExecutor(self.threads)
        self._copies: list[mujoco.MjModel] = []
        self._datas: list[mujoco.MjData] = []
        self.evaluations = 0

    def _targets(self, signal_params: dict[str, float]) -> np.ndarray:
        """(S, k) measured torques corrected by measurement parameters."""
        return np.concatenate(
            [
                apply_signal_params(ep, signal_params).signal("qfrc_actuator").values[keep]
                for ep, keep in self._measured
            ]
        )

    def close(self) -> None:
        self._pool.shutdown()

    def _forces(self, k: int, values: np.ndarray) -> np.ndarray:
        m, d = self._copies[k], self._datas[k]
        out = np.empty((self.qpos.shape[0], len(self.dofs)))
        if not write_unchecked(m, self.addresses, values):
            out[:] = np.nan  # non-physical candidate: scored as infeasible
            return out
        for t in range(self.qpos.shape[0]):
            d.qpos[:], d.qvel[:], d.qacc[:] = self.qpos[t], self.qvel[t], self.qacc[t]
            mujoco.mj_inverse(m, d)
            out[t] = d.qfrc_inverse[self.dofs]
        return out

    def predict(self, values: np.ndarray) -> np.ndarray:
        """(P, S, k) required torques for (P, n) parameter values."""
        values = np.atleast_2d(values)
        while len(self._copies) < values.shape[0]:
            self._copies.append(copy.copy(self.model))
            if self.discrete:  # raw forward differences at one step per sample: exact inverse
                self._copies[-1].opt.enableflags |= mujoco.mjtEnableBit.mjENBL_INVDISCRETE
            self._datas.append(mujoco.MjData(self._copies[-1]))
        self.evaluations += values.shape[0]
        return np.stack(list(self._pool.map(self._forces, range(values.shape[0]), values)))

    def residual_values(self, values: np.ndarray) -> np.ndarray:
        values = np.atleast_2d(values)
        pred = self.predict(values)
        measurement = [i for i, a in enumerate(self.addresses) if a is None]
        out = []
        for p in range(values.shape[0]):
            targets = self.targets
            if measurement:
                targets = self._targets({self.space.names[i]: values[p, i] for i in measurement})
            res = (pred[p] - targets) / self.scale
            if not np.isfinite(pred[p]).all():  # infeasible: the penalty everywhere
                res = np.full_like(res, PENALTY)
            out.append(np.where(np.isfinite(res), res, PENALTY).ravel())
        return np.stack(out, axis=1)

    def check_feasible(self, values: Sequence[float], *, what: str = "values") -> None:
        """Raise ParameterError for non-physical values, SimulationDiverged for non-finite
        required forces."""
        row = np.asarray(values, dtype=float)[None]
        named = dict(zip(self.space.names, row[0].tolist(), strict=True))
        forces = self.predict(row)[0]
        if not write_unchecked(self._copies[0], self.addresses, row[0]):
            raise ParameterError(
                f"calibration {what} {named}: non-physical (a body inertia breaks the triangle "
                "inequality)"
            )
        bad = ~np.isfinite(forces).all(axis=1)
        if bad.any():
            raise SimulationDiverged(
                f"calibration {what} {named}: the required force is not finite at "
                f"{int(bad.sum())} of {bad.size} samples (first: sample {int(np.argmax(bad))})"
            )
