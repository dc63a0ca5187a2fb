"""Cable stiffness and damping from marker tracks, with the cable's ends driven by recorded paths.

Where the parameters live (MuJoCo 3.17, `mujoco.elasticity.cable` plugin):

- **stiffness** is the plugin's `bend` (Young's modulus [Pa]; `twist` is the shear modulus). The
  plugin reads its config (`model.plugin_attr`, a char array) when an MjData is made and keeps
  the per-segment stiffness in its own C++ object, not in any model array. So each candidate
  stiffness is written into the `MjSpec` plugin config and **recompiled** (~3 ms for 32
  segments), then a fresh MjData is made.
- **damping** is `dof_damping` of the cable's segment joints (not its free root joint), written
  in place on the compiled model.

`simulate_cable` is a plain `mj_step` loop that sets the two mocap ends from the recorded end
tracks (linear interpolation between samples) before every step and reads the markers at the
recorded sample times. `fit_cable` fits log(bend) and log(damping) by
`mujoco.minimize.least_squares` on the marker residuals divided by the marker noise.

This loop is this module's own so it does not depend on the replay layer; once the shared
kinematic drivers (mocap driving in `workbench.replay` rollouts) land, the objective moves onto
them and this simulate function becomes a reference for their tests.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import mujoco
import numpy as np

from workbench.errors import ParameterError, SceneError, SimulationDiverged
from workbench.scenes.markers import MarkerSet

CABLE_PLUGIN = "mujoco.elasticity.cable"


@dataclasses.dataclass(frozen=True)
class CableSetup:
    """A cable scene's pieces: spec factory, plugin, driven mocap bodies and joints to damp.

    `ends`: names of the two mocap bodies (left, right); `joints`: cable joints whose damping is
    the `damping` parameter (default: every ball joint of the cable, i.e. not its free root).
    """

    make_spec: Callable[[], mujoco.MjSpec]
    ends: tuple[str, str]
    markers: MarkerSet
    timestep: float
    joints: tuple[str, ...]

    @classmethod
    def from_scene(
        cls, scene, *, ends: tuple[str, str] = ("left_end", "right_end"), markers=None
    ) -> CableSetup:
        """The setup of a cable scene (e.g. `load_scene("cable")`) and its [markers]."""
        from workbench.scenes.markers import scene_markers

        model = scene.model
        for end in ends:
            bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, end)
            if bid < 0 or model.body_mocapid[bid] < 0:
                raise SceneError(f"scene {scene.name!r}: expected a mocap body {end!r}")
        if _cable_plugin(scene.spec()) is None:
            raise SceneError(f"scene {scene.name!r}: no {CABLE_PLUGIN} plugin instance")
        marker_set = scene_markers(scene) if markers is None else markers
        joints = tuple(
            mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
            for j in range(model.njnt)
            if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL
        )
        return cls(scene.spec, tuple(ends), marker_set, scene.binding.timestep, joints)


def _cable_plugin(spec: mujoco.MjSpec):
    for plugin in spec.plugins:
        if plugin.plugin_name == CABLE_PLUGIN:
            return plugin
    return None


@dataclasses.dataclass(frozen=True)
class RopeRecording:
    """Marker tracks of a rope and the tracks of its two ends.

    times: (T,) [s]; markers: (T, k, 3) [m] for `names`; left, right: (T, 3) [m] end positions.
    """

    times: np.ndarray
    names: tuple[str, ...]
    markers: np.ndarray
    left: np.ndarray
    right: np.ndarray

    def to_episode(self, episode_id: str = "rope"):
        """An Episode with `marker:<name>` signals (ends as `marker:left_end`/`right_end`)."""
        from workbench.episode import Episode, Signal

        signals = {
            f"marker:{n}": Signal(self.markers[:, k], ("x", "y", "z"), "m", "world")
            for k, n in enumerate(self.names)
        }
        signals["marker:left_end"] = Signal(self.left, ("x", "y", "z"), "m", "world")
        signals["marker:right_end"] = Signal(self.right, ("x", "y", "z"), "m", "world")
        return Episode(episode_id, self.times, signals, {"source": "synthetic rope"})


def compile_cable(setup: CableSetup, *, bend: float, damping: float) -> mujoco.MjModel:
    """The cable model with plugin `bend` [Pa] (recompiled from the spec) and joint damping."""
    for value, what in ((bend, "bend"), (damping, "damping")):
        if not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{what}: expected a finite number > 0, got {value!r}")
    spec = setup.make_spec()
    spec.option.timestep = setup.timestep
    plugin = _cable_plugin(spec)
    plugin.config = {**plugin.config, "bend": repr(float(bend))}
    model = spec.compile()
    for name in setup.joints:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        adr = model.jnt_dofadr[jid]
        model.dof_damping[adr : adr + 3] = damping
    return model


def simulate_cable(
    setup: CableSetup,
    *,
    bend: float,
    damping: float,
    times: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
) -> np.ndarray:
    """Marker positions (T, k, 3) [m] at `times` with the ends following `left`/`right` (T, 3).

    The simulation starts at times[0] from the model's rest state (qpos0) with the ends placed at
    the first samples; `times - times[0]` must be integer multiples of the timestep.
    Raises SimulationDiverged when MuJoCo reports a bad state (it would reset and continue).
    """
    model = compile_cable(setup, bend=bend, damping=damping)
    data = mujoco.MjData(model)
    ids = [
        model.body_mocapid[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, e)]
        for e in setup.ends
    ]
    steps = np.rint((times - times[0]) / setup.timestep).astype(int)
    if np.abs(steps * setup.timestep - (times - times[0])).max() > 1e-6 * setup.timestep + 1e-12:
        raise SceneError(
            f"recording: sample times must be integer multiples of the timestep {setup.timestep} s"
        )
    out = np.empty((len(times), len(setup.markers.names), 3))
    data.mocap_pos[ids[0]], data.mocap_pos[ids[1]] = left[0], right[0]
    mujoco.mj_forward(model, data)
    out[0] = setup.markers.positions(data)
    sample = 1
    for step in range(1, int(steps[-1]) + 1):
        t = (step - 1) * setup.timestep
        data.mocap_pos[ids[0]] = [np.interp(t, times - times[0], left[:, i]) for i in range(3)]
        data.mocap_pos[ids[1]] = [np.interp(t, times - times[0], right[:, i]) for i in range(3)]
        mujoco.mj_step(model, data)
        if step == steps[sample]:
            out[sample] = setup.markers.positions(data)
            sample += 1
    bad = [w for w in (3, 4, 5) if data.warning[w].number]
    if bad:
        raise SimulationDiverged(
            f"cable (bend {bend:.4g} Pa, damping {damping:.4g}): MuJoCo reported "
            f"{mujoco.mjtWarning(bad[0]).name} and reset the state"
        )
    return out


def smooth_end_paths(times: np.ndarray, *, span: float = 1.0, height: float = 0.6):
    """Two smooth hand paths (T, 3) [m] that swing, lift and bring the ends together."""
    t = np.asarray(times, float)[:, None]
    left = np.hstack(
        [
            -span / 2 + 0.1 * np.sin(2 * np.pi * 0.7 * t),
            0.05 * np.sin(2 * np.pi * 1.1 * t),
            np.full_like(t, height),
        ]
    )
    right = np.hstack(
        [
            span / 2 - 0.15 * (1 - np.cos(2 * np.pi * 0.5 * t)),
            0.08 * np.sin(2 * np.pi * 0.8 * t),
            height + 0.1 * np.sin(2 * np.pi * 0.9 * t),
        ]
    )
    return left, right


def synthetic_rope_recording(
    setup: CableSetup,
    *,
    bend: float,
    damping: float,
    seconds: float = 2.0,
    rate_hz: float = 100.0,
    noise_m: float = 1e-3,
    seed: int = 0,
) -> RopeRecording:
    """Markers sampled from a simulated cable with known `bend` and `damping`, ends moved along
    `smooth_end_paths`, Gaussian noise of `noise_m` [m] added to the interior markers (the end
    tracks stay exact: they drive the replay)."""
    times = np.arange(0.0, seconds + 1e-9, 1.0 / rate_hz)
    left, right = smooth_end_paths(times)
    clean = simulate_cable(setup, bend=bend, damping=damping, times=times, left=left, right=right)
    noisy = clean + np.random.default_rng(seed).normal(0.0, noise_m, clean.shape)
    return RopeRecording(times, setup.markers.names, noisy, left, right)


@dataclasses.dataclass(frozen=True)
class CableFit:
    """Fitted `bend` [Pa] and `damping`, final cost (0.5 sum of squared residuals / noise^2),
    residual RMS [m], iterations, simulations run and wall time [s]."""

    bend: float
    damping: float
    cost: float
    rms_m: float
    iterations: int
    simulations: int
    seconds: float


def fit_cable(
    setup: CableSetup,
    recording: RopeRecording,
    *,
    bend0: float,
    damping0: float,
    noise_m: float = 1e-3,
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((1e4, 1e10), (1e-4, 1.0)),
    max_iter: int = 30,
) -> CableFit:
    """Fit log(bend) and log(damping) to `recording` by mujoco.minimize.least_squares."""
    from mujoco import minimize

    if recording.names != setup.markers.names:
        setup = dataclasses.replace(setup, markers=setup.markers.subset(recording.names))
    count = [0]

    def residual(x: np.ndarray) -> np.ndarray:
        cols = []
        for col in (x[:, None] if x.ndim == 1 else x).T:
            count[0] += 1
            try:
                sim = simulate_cable(
                    setup,
                    bend=float(np.exp(col[0])),
                    damping=float(np.exp(col[1])),
                    times=recording.times,
                    left=recording.left,
                    right=recording.right,
                )
            except SimulationDiverged:
                sim = np.full_like(recording.markers, 1e3)  # a large, finite penalty
            cols.append(((sim - recording.markers) / noise_m).ravel())
        return np.stack(cols, axis=1)

    lower = np.log([bounds[0][0], bounds[1][0]])
    upper = np.log([bounds[0][1], bounds[1][1]])
    x0 = np.clip(np.log([bend0, damping0]), lower, upper)
    start = time.perf_counter()
    x, trace = minimize.least_squares(
        x0,
        residual,
        bounds=(lower, upper),
        eps=1e-4,
        xtol=1e-4,
        mu_factor=10.0,  # coarse regularizer steps: the default 10**0.1 spends ~80 rejected
        # simulations climbing from mu_min to the scale of J'J of these residuals
        max_iter=max_iter,
        verbose=0,
    )
    wall = time.perf_counter() - start
    final = residual(x)[:, 0]
    cost = 0.5 * float(final @ final)
    rms = float(np.sqrt(np.mean(final**2))) * noise_m
    return CableFit(
        float(np.exp(x[0])), float(np.exp(x[1])), cost, rms, len(trace), count[0] - 1, wall
    )
