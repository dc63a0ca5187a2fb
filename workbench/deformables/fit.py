"""Cable stiffness and damping from marker tracks, with the cable's ends driven by recorded paths.

Where the parameters live (MuJoCo 3.17, `mujoco.elasticity.cable` plugin):

- **stiffness** is the plugin's `bend` (Young's modulus [Pa]; `twist` is the shear modulus). The
  plugin reads its config (`model.plugin_attr`, a char array) when an MjData is made and keeps
  the per-segment stiffness in its own C++ object, not in any model array. So each candidate
  stiffness is written into the `MjSpec` plugin config and **recompiled** (~3 ms for 32
  segments), then a fresh MjData is made.
- **damping** is `dof_damping` of the cable's segment joints (not its free root joint), written
  in place on the compiled model.

`simulate_cable` replays the end tracks on the shared replay path (`workbench.replay`: the
cable scene's mocap ends are driven bodies, its markers are compared by forward kinematics, the
rope starts at rest) in a model recompiled with the candidate's values; `simulate_cable_loop` is a
plain `mj_step` loop doing the same, kept as the reference the replay path is tested against.
`fit_cable` fits log(bend) and log(damping) by `mujoco.minimize.least_squares` on the marker
residuals divided by the marker noise, for a RopeRecording or any Episode read through a mapping
(`marker:<name>` tracks and the ends as `body_pose:<end>` or `marker:<end>`). The shared
`windows` calibration objective does not apply here: it edits one compiled model in place and
starts windows from recorded states, while the cable's stiffness needs a recompile per candidate
and a rope recording has no state to start from.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

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
    scene: Any = None  # the cable Scene (its binding drives the ends): the shared replay path

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
        missing = [e for e in ends if e not in scene.binding.driven_bodies]
        if missing:
            raise SceneError(
                f"scene {scene.name!r}: binding.driven_bodies: expected the cable ends {missing} "
                f"to be driven bodies, got {list(scene.binding.driven_bodies)}"
            )
        return cls(scene.spec, tuple(ends), marker_set, scene.binding.timestep, joints, scene)


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

    @classmethod
    def from_episode(cls, episode, ends: tuple[str, str] = ("left_end", "right_end")):
        """The recording in an Episode (e.g. read through a mapping): `marker:<name>` tracks
        and the two end tracks (`body_pose:<end>` or `marker:<end>`, first 3 columns [m])."""
        from workbench.errors import EpisodeError
        from workbench.replay.drivers import driver_signal

        paths = []
        for end in ends:
            signal = driver_signal(episode, end)
            if signal is None:
                raise EpisodeError(
                    f"episode {episode.id!r}: expected a 'body_pose:{end}' or 'marker:{end}' "
                    f"signal (the end's track); signals are {sorted(episode.signals)}"
                )
            paths.append(episode.signals[signal].values[:, :3])
        names = tuple(
            k[len("marker:") :]
            for k in episode.signals
            if k.startswith("marker:") and k[len("marker:") :] not in ends
        )
        if not names:
            raise EpisodeError(f"episode {episode.id!r}: no `marker:<name>` tracks to compare")
        markers = np.stack([episode.signals[f"marker:{n}"].values for n in names], axis=1)
        return cls(np.asarray(episode.times), names, markers, paths[0], paths[1])

    def write_csv(self, path) -> None:
        """One CSV row per sample: `time`, `<end>_x/_y/_z` for left_end and right_end, then
        `<marker>_x/_y/_z` (the layout `assets/mappings/rope_markers.toml` reads); atomic."""
        from workbench.output import atomic_write_text

        header = ["time"] + [
            f"{n}_{a}" for n in ("left_end", "right_end", *self.names) for a in "xyz"
        ]
        table = np.column_stack(
            [self.times, self.left, self.right, self.markers.reshape(len(self.times), -1)]
        )
        lines = [",".join(header)] + [",".join(repr(float(v)) for v in row) for row in table]
        atomic_write_text(path, "\n".join(lines) + "\n")


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


def cable_scene(setup: CableSetup, *, bend: float, damping: float):
    """The setup's Scene with a model recompiled for `bend` [Pa] and `damping` (shared replay)."""
    if setup.scene is None:
        raise SceneError("cable setup: expected one made by CableSetup.from_scene (its scene)")
    return dataclasses.replace(setup.scene, model=compile_cable(setup, bend=bend, damping=damping))


def simulate_cable(
    setup: CableSetup,
    *,
    bend: float,
    damping: float,
    times: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
) -> np.ndarray:
    """Marker positions (T, k, 3) [m] at `times` with the ends following `left`/`right` (T, 3),
    on the shared replay path (open_loop replay of the end tracks from the rest state; markers by
    forward kinematics of each sample's state). Raises SimulationDiverged when it goes unstable
    (MuJoCo would reset the state and continue)."""
    from workbench.episode import Episode, Signal

    xyz = ("x", "y", "z")
    episode = Episode(
        "cable",
        np.asarray(times, float),
        {
            f"marker:{setup.ends[0]}": Signal(np.asarray(left, float), xyz, "m"),
            f"marker:{setup.ends[1]}": Signal(np.asarray(right, float), xyz, "m"),
            **{
                f"marker:{n}": Signal(np.zeros((len(times), 3)), xyz, "m")
                for n in setup.markers.names
            },
        },
    )
    return replay_markers(setup, episode, bend=bend, damping=damping)[1]


def replay_markers(
    setup: CableSetup, episode, *, bend: float, damping: float, threads: int | None = 1
) -> tuple[tuple[str, ...], np.ndarray]:
    """(names, (T, k, 3) simulated positions [m]) of the markers `episode` records, replayed
    open loop in the cable scene recompiled with `bend` and `damping`; SimulationDiverged when
    the replay goes unstable."""
    from workbench.replay import ReplaySettings, replay

    scene = cable_scene(setup, bend=bend, damping=damping)
    (trace,) = replay(scene, [episode], ReplaySettings("open_loop", threads=threads))
    if trace.divergence is not None:
        raise SimulationDiverged(
            f"cable (bend {bend:.4g} Pa, damping {damping:.4g}): unstable at "
            f"{trace.divergence.time_s:.4g} s ({trace.divergence.reason})"
        )
    names = tuple(k for k in trace.predicted if k.startswith("marker:"))
    sim = np.stack([trace.predicted[k][0] for k in names], axis=1)
    return tuple(k[len("marker:") :] for k in names), sim


def simulate_cable_loop(
    setup: CableSetup,
    *,
    bend: float,
    damping: float,
    times: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
) -> np.ndarray:
    """The reference for `simulate_cable`: a plain `mj_step` loop from the rest state (qpos0)
    that sets the two mocap ends by linear interpolation at each step's start time and reads
    the markers by `mj_kinematics` of the state at each sample time (`times - times[0]` integer
    multiples of the timestep)."""
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
    mujoco.mj_kinematics(model, data)
    out[0] = setup.markers.positions(data)
    sample = 1
    for step in range(1, int(steps[-1]) + 1):
        t = (step - 1) * setup.timestep
        data.mocap_pos[ids[0]] = [np.interp(t, times - times[0], left[:, i]) for i in range(3)]
        data.mocap_pos[ids[1]] = [np.interp(t, times - times[0], right[:, i]) for i in range(3)]
        mujoco.mj_step(model, data)
        if step == steps[sample]:
            mujoco.mj_kinematics(model, data)  # positions of this state, not the step's start
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
    recording,
    *,
    bend0: float,
    damping0: float,
    noise_m: float = 1e-3,
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((1e4, 1e10), (1e-4, 1.0)),
    max_iter: int = 30,
) -> CableFit:
    """Fit log(bend) and log(damping) to `recording` (a RopeRecording, or an Episode read
    through a mapping: `marker:<name>` tracks, ends as `body_pose:<end>` or `marker:<end>`) by
    mujoco.minimize.least_squares; each residual is a shared-path replay of the episode in the
    cable recompiled with the candidate's values. Occluded (NaN) samples are left out."""
    from mujoco import minimize

    episode = recording.to_episode() if isinstance(recording, RopeRecording) else recording
    names = RopeRecording.from_episode(episode, setup.ends).names
    real = np.stack([episode.signals[f"marker:{n}"].values for n in names], axis=1)
    seen = np.isfinite(real)
    count = [0]

    def residual(x: np.ndarray) -> np.ndarray:
        cols = []
        for col in (x[:, None] if x.ndim == 1 else x).T:
            count[0] += 1
            try:
                got, sim = replay_markers(
                    setup, episode, bend=float(np.exp(col[0])), damping=float(np.exp(col[1]))
                )
                sim = sim[:, [got.index(n) for n in names]]
            except SimulationDiverged:
                sim = np.full_like(real, 1e3)  # a large, finite penalty
            cols.append(np.where(seen, (sim - real) / noise_m, 0.0).ravel())
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
    rms = float(np.sqrt(np.sum(final**2) / max(int(seen.sum()), 1))) * noise_m
    return CableFit(
        float(np.exp(x[0])), float(np.exp(x[1])), cost, rms, len(trace), count[0] - 1, wall
    )
