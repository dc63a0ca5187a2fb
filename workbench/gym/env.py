"""A Gymnasium environment over a scene that starts from recorded states, so a policy can be
evaluated in the (calibrated, randomized) simulation of the real episodes.

Each `reset` picks a recorded episode (uniformly, from the env's seeded generator, or
`options={"episode": i}`), optionally draws physics values — from a `RandomizationSpec` (`spec`:
the sample of (episode, a variant index drawn from the env's generator), with its initial-state
noise) or from any `physics(rng)` -> {name: value} — writes them into the env's own model copy
(restored before the next draw), and sets the episode's first recorded state. A step holds the action (actuator commands,
clipped to `ctrlrange`) for one recorded sample period. The reward is the negative squared error of
the bound joints' positions against the recording at that time, so replaying the recorded commands
is scored by how well the simulation follows reality; the episode is truncated at the recording's end.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import SettingsError
from workbench.physics import set_values
from workbench.randomize import RandomizationSpec, Randomizer
from workbench.replay.forward import control_rows, full_state_rows
from workbench.replay.prepare import prepare
from workbench.replay.settings import ReplaySettings
from workbench.scenes.scene import Scene

PhysicsSampler = Callable[[np.random.Generator], Mapping[str, float]]


class ReplayEnv(gym.Env):
    """Observation: (nq + nv,) float64 `[qpos, qvel]` of the whole model. Action: (nu,) commands.

    Args:
      scene: the scene; its model is copied (the scene's own model is never changed).
      episodes: recorded episodes (states, and commands for `recorded_action`).
      physics: optional sampler of physics values by MuJoCo name, drawn at every reset.
      spec: optional randomization spec (`workbench.randomize`), drawn at every reset; `info`
        carries the `Sample` (its exact values regenerate the reset).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        scene: Scene,
        episodes: Sequence[Episode],
        *,
        physics: PhysicsSampler | None = None,
        spec: RandomizationSpec | None = None,
    ):
        if not episodes:
            raise SettingsError("episodes: expected at least one recorded episode, got none")
        if physics is not None and spec is not None:
            raise SettingsError("physics, spec: expected one source of physics draws, got both")
        self.scene = scene
        self.model = copy.copy(scene.model)
        self.data = mujoco.MjData(self.model)
        self.physics = physics
        aligned, alignments, bounds = prepare(scene, episodes, ReplaySettings("open_loop"))
        self.randomizer = Randomizer(spec, self.model) if spec is not None else None
        if self.randomizer is not None:
            for ep in aligned:
                self.randomizer.check_episode(ep)
        self._sources = list(zip(aligned, bounds, strict=True))
        self._episodes = []
        for ep, al, b in zip(aligned, alignments, bounds, strict=True):
            qpos, qvel = full_state_rows(self.model, ep, b)
            ctrl = control_rows(self.model, ep, b)
            self._episodes.append((ep.id, qpos, qvel, ctrl, b.qpos_index, al.substeps))
        m = self.model
        low = np.where(m.actuator_ctrllimited, m.actuator_ctrlrange[:, 0], -np.inf)
        high = np.where(m.actuator_ctrllimited, m.actuator_ctrlrange[:, 1], np.inf)
        self.action_space = gym.spaces.Box(low.astype(np.float64), high.astype(np.float64))
        n = m.nq + m.nv
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n,), np.float64)
        self._nominal: dict[str, Any] = {}
        self._current = 0
        self._t = 0

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel]).astype(np.float64)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if self._nominal:  # restore before the next draw: draws never compound
            set_values(self.model, self._nominal)
            self._nominal = {}
        if "episode" in options:
            i = int(options["episode"])
            if not 0 <= i < len(self._episodes):
                raise SettingsError(
                    f"options['episode']: expected 0..{len(self._episodes) - 1}, got {i}"
                )
            self._current = i
        else:
            self._current = int(self.np_random.integers(len(self._episodes)))
        _, qpos, qvel, _, _, _ = self._episodes[self._current]
        start_qpos, start_qvel = qpos[0], qvel[0]
        info: dict[str, Any] = {}
        if self.randomizer is not None:
            episode, bound = self._sources[self._current]
            variant = int(self.np_random.integers(2**31 - 1))
            sample = self.randomizer.sample(episode.id, variant)
            values = dict(sample.values)
            start = self.randomizer.perturb(episode.slice(0, 2), sample)
            q, v = full_state_rows(self.model, start, bound)
            start_qpos, start_qvel = q[0], v[0]
            info["sample"] = sample
        else:
            values = dict(self.physics(self.np_random)) if self.physics else {}
        if values:
            self._nominal = set_values(self.model, values)
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:] = start_qpos
        self.data.qvel[:] = start_qvel
        mujoco.mj_forward(self.model, self.data)
        self._t = 0
        eid = self._episodes[self._current][0]
        return self._obs(), {"episode": eid, "physics": values, **info}

    def step(self, action):
        _, qpos, _, _, index, substeps = self._episodes[self._current]
        action = np.asarray(action, dtype=np.float64).reshape(self.model.nu)
        self.data.ctrl[:] = np.clip(action, self.action_space.low, self.action_space.high)
        for _ in range(substeps):
            mujoco.mj_step(self.model, self.data)
        self._t += 1
        diverged = bool(self.data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number) or not (
            np.all(np.isfinite(self.data.qpos))
        )
        error = self.data.qpos[index] - qpos[self._t, index]
        reward = -float(np.dot(error, error)) if not diverged else -1e6
        truncated = self._t >= qpos.shape[0] - 1
        return self._obs(), reward, diverged, truncated, {"diverged": diverged, "sample": self._t}

    def recorded_action(self) -> np.ndarray:
        """The command recorded at the current sample of the current episode (zeros if none)."""
        ctrl = self._episodes[self._current][3]
        if ctrl is None:
            return np.zeros(self.model.nu)
        return ctrl[min(self._t, ctrl.shape[0] - 1)].copy()
