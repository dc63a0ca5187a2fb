"""Batched forward simulation with MuJoCo's native `mujoco.rollout`, plus a plain `mj_step`
reference loop it is tested against.

States are MuJoCo's `mjSTATE_FULLPHYSICS` vectors: [time, qpos, qvel, act, history, plugin].
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import mujoco
import numpy as np
from mujoco import rollout as _rollout

from workbench.errors import SettingsError
from workbench.replay.drivers import control_spec

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS


def default_threads() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def history_length(model: mujoco.MjModel) -> int:
    """Longest control history (samples) any actuator of `model` keeps for its `delay`; 0: none."""
    return int(model.actuator_history[:, 0].max()) if model.nu else 0


def initial_states(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    qvel: np.ndarray,
    past_ctrl: np.ndarray | None = None,
) -> np.ndarray:
    """Full-physics state vectors from (B, nq) qpos and (B, nv) qvel; quaternions normalised.

    `past_ctrl`: (B, H, nu) commands at times -H..-1 timesteps before the start, H =
    `history_length(model)`: they fill the history of actuators with a `delay`, so a delayed
    actuator starts out applying what was commanded before the window (default: its reset history).
    """
    data = mujoco.MjData(model)
    size = mujoco.mj_stateSize(model, STATE_SPEC)
    out = np.empty((qpos.shape[0], size))
    delayed = [a for a in range(model.nu) if model.actuator_history[a, 0] > 0]
    if past_ctrl is not None and delayed:
        H = history_length(model)
        if past_ctrl.shape != (qpos.shape[0], H, model.nu):
            raise SettingsError(
                f"past_ctrl: expected shape {(qpos.shape[0], H, model.nu)}, got {past_ctrl.shape}"
            )
    for b in range(qpos.shape[0]):
        mujoco.mj_resetData(model, data)
        data.qpos[:] = qpos[b]
        data.qvel[:] = qvel[b]
        mujoco.mj_normalizeQuat(model, data.qpos)
        if past_ctrl is not None:
            for a in delayed:
                n = int(model.actuator_history[a, 0])
                times = -model.opt.timestep * np.arange(n, 0, -1, dtype=np.float64)[:, None]
                values = np.ascontiguousarray(past_ctrl[b, -n:, a : a + 1])
                mujoco.mj_initCtrlHistory(model, data, a, times, values)
        mujoco.mj_getState(model, data, out[b], STATE_SPEC)
    return out


def past_controls(rows: np.ndarray, start: int, substeps: int, length: int) -> np.ndarray:
    """(length, nu) commands held at the `length` timesteps before sample `start` of (T, nu)
    recorded rows held for `substeps` steps each; before the recording, its first command."""
    steps_back = np.arange(length, 0, -1)
    sample = start - (steps_back + substeps - 1) // substeps
    return rows[np.clip(sample, 0, rows.shape[0] - 1)]


def state_slices(model: mujoco.MjModel) -> tuple[slice, slice]:
    """(qpos, qvel) slices of a full-physics state vector."""
    return slice(1, 1 + model.nq), slice(1 + model.nq, 1 + model.nq + model.nv)


class BatchSimulator:
    """Runs many rollouts of one model (or a list of equally-sized models) on native threads.

    Holds one MjData per thread and a persistent `mujoco.rollout.Rollout` pool; reuse it across
    calls. Use as a context manager or call `close()`.
    """

    def __init__(self, model: mujoco.MjModel, *, threads: int | None = None):
        self.model = model
        self.threads = threads or default_threads()
        self._datas = [mujoco.MjData(model) for _ in range(self.threads)]
        self._pool = _rollout.Rollout(nthread=self.threads) if self.threads > 1 else None

    def run(
        self,
        initial_state: np.ndarray,
        control: np.ndarray | None,
        nstep: int,
        models: Sequence[mujoco.MjModel] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Roll out (B, nstate) initial states for nstep steps under (B, nstep, nu) controls.

        Returns states (B, nstep, nstate) after each step and sensordata (B, nstep, nsensordata).
        Control rows nu + 7 nmocap wide also set the mocap bodies' poses before each step
        (`workbench.replay.drivers`).
        """
        model = list(models) if models is not None else self.model
        kw = {"nstep": nstep}
        if control is not None:
            kw["control_spec"] = control_spec(self.model, control.shape[-1])
        if self._pool is not None:
            return self._pool.rollout(model, self._datas, initial_state, control, **kw)
        return _rollout.rollout(model, self._datas[0], initial_state, control, **kw)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def __enter__(self) -> BatchSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def reference_rollout(
    model: mujoco.MjModel, initial_state: np.ndarray, control: np.ndarray | None, nstep: int
) -> tuple[np.ndarray, np.ndarray]:
    """The same contract as `BatchSimulator.run`, as a plain Python `mj_step` loop."""
    data = mujoco.MjData(model)
    batch = initial_state.shape[0]
    states = np.empty((batch, nstep, initial_state.shape[1]))
    sensors = np.empty((batch, nstep, model.nsensordata))
    spec = control_spec(model, control.shape[-1]) if control is not None else 0
    for b in range(batch):
        mujoco.mj_resetData(model, data)
        mujoco.mj_setState(model, data, initial_state[b], STATE_SPEC)
        for k in range(nstep):
            if control is not None and control.shape[-1]:
                row = control[b if control.shape[0] > 1 else 0, k if control.shape[1] > 1 else 0]
                mujoco.mj_setState(model, data, np.ascontiguousarray(row), spec)
            mujoco.mj_step(model, data)
            mujoco.mj_getState(model, data, states[b, k], STATE_SPEC)
            sensors[b, k] = data.sensordata
    return states, sensors
