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

from workbench.calibrate.objective import Objective
from workbench.calibrate.space import ParameterSpace
from workbench.episode import Episode
from workbench.physics.addresses import write_unchecked
from workbench.physics.signal_params import apply_signal_params
from workbench.replay.forward import full_state_rows
from workbench.replay.inverse import recorded_motion
from workbench.replay.rollout import default_threads
from workbench.replay.run import ReplaySettings, prepare
from workbench.scenes.scene import Scene


class InverseObjective(Objective):
    """Residuals (qfrc_inverse - measured) / std(measured), per torque column and sample.

    Measurement parameters in the space (`delay:qfrc_actuator`, `offset:qfrc_actuator[<joint>]`)
    correct the measured torque before the comparison.
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
            qpos, qvel = full_state_rows(self.model, ep, b)
            qpos, qvel, qacc = recorded_motion(
                self.model,
                qpos,
                qvel,
                al.dt,
                smooth_window,
                qvel_recorded=b.qvel_index is not None,
                derivatives=derivatives,
            )
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
            out.append(np.where(np.isfinite(res), res, 1e3).ravel())
        return np.stack(out, axis=1)
