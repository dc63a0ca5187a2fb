"""Free and ball joints: velocities through mj_differentiatePos, quaternion-safe smoothing and
resampling (slerp), unit-norm checks on recorded quaternions, inverse and tracking on a free body."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from conftest import box_scene, record

from workbench import Binding, Episode, ReplaySettings, Signal, replay, scene_from_xml
from workbench.errors import BindingError
from workbench.io import load_episodes
from workbench.metrics.errors import impact_index
from workbench.paths import assets_root
from workbench.replay import bind_episode, prepare
from workbench.replay.forward import full_state_rows
from workbench.replay.inverse import motion_derivatives, tangent_path
from workbench.replay.timeline import resample, slerp
from workbench.scenes import load_scene

BALL_XML = """
<mujoco model="ball">
  <option timestep="0.002" integrator="Euler"/>
  <worldbody>
    <body name="bob" pos="0 0 1">
      <joint name="ball" type="ball" damping="0.02"/>
      <geom type="capsule" fromto="0 0 0 0.2 0.1 -0.3" size="0.03" mass="0.5"/>
    </body>
  </worldbody>
</mujoco>
"""


def _ball_scene():
    return scene_from_xml("ball", BALL_XML, Binding(timestep=0.002, state_joints=("ball",)))


def _with_torque(ep: Episode, joint: str, nv: int) -> Episode:
    """The episode plus a zero 'measured' generalized force on every dof of `joint`."""
    cols = [f"{joint}[{i}]" for i in range(nv)]
    return ep.with_signals(qfrc_actuator=Signal(np.zeros((ep.num_samples, nv)), cols, "N, N m"))


def _flying_box(substeps: int = 5, samples: int = 60) -> Episode:
    """A spinning box in free flight (no contact within `samples`), recorded with mj_step."""
    model = box_scene().model
    qpos0 = model.qpos0.copy()
    qpos0[2] = 1.5
    qpos0[3:7] = np.array([0.9, 0.2, 0.3, 0.1]) / np.linalg.norm([0.9, 0.2, 0.3, 0.1])
    return record(model, qpos0, [0.4, -0.2, 1.0, 3.0, -2.0, 5.0], np.zeros((samples, 0)), substeps)


def test_tangent_path_differences_are_the_recorded_velocities_of_free_and_ball_joints():
    # Euler: qpos[k+1] = integratePos(qpos[k], qvel[k+1] dt), so forward differences of the
    # path in velocity coordinates give the recorded qvel[k+1] (rotations included)
    ep = _flying_box(substeps=1)
    model = box_scene().model
    q, v = ep.signals["qpos"].values, ep.signals["qvel"].values
    path = tangent_path(model, q)
    assert path.shape == (q.shape[0], model.nv)
    np.testing.assert_allclose(np.diff(path, axis=0) / 0.001, v[1:], rtol=0, atol=1e-8)
    ball = _ball_scene()
    data = mujoco.MjData(ball.model)
    data.qvel[:] = [1.0, -2.0, 0.5]
    qs, vs = [], []
    for _ in range(200):
        qs.append(data.qpos.copy())
        vs.append(data.qvel.copy())
        mujoco.mj_step(ball.model, data)
    path = tangent_path(ball.model, np.array(qs))
    np.testing.assert_allclose(np.diff(path, axis=0) / 0.002, np.array(vs)[1:], atol=1e-8)


def test_smoothing_keeps_quaternions_unit_and_continuous_across_sign_flips():
    ep = _flying_box(substeps=1, samples=200)
    model = box_scene().model
    q = ep.signals["qpos"].values.copy()
    q[1::2, 3:7] *= -1  # the same rotations, every other sample with the opposite sign
    qpos, qvel, qacc = motion_derivatives(
        model, q, np.zeros((q.shape[0], 6)), 0.001, smooth_window=0.02, qvel_recorded=False
    )
    np.testing.assert_allclose(np.linalg.norm(qpos[:, 3:7], axis=1), 1.0, atol=1e-12)
    # sign flips do not leak into the velocity: the spin is recovered (body-frame, constant
    # for a symmetric box in free flight)
    v = ep.signals["qvel"].values
    np.testing.assert_allclose(qvel[10:-10, 3:], v[10:-10, 3:], atol=1e-3)
    assert qacc.shape == (q.shape[0], 6)


def test_inverse_on_a_free_body_in_flight_needs_no_force_and_sees_gravity():
    scene = box_scene()
    ep = _with_torque(_flying_box(), "box", 6)
    mass = float(scene.model.body_mass[1])
    for derivatives in ("positions", "velocities"):
        settings = ReplaySettings("inverse", smooth_window=0.0, derivatives=derivatives)
        (trace,) = replay(scene, [ep], settings)
        assert not trace.diverged.any()
        force = trace.predicted["qfrc_actuator"][0, 2:-2]  # one-sided differences at the ends
        # ballistic flight: the recorded motion needs no applied force
        assert np.abs(force).max() < 1e-6 * mass * 9.81, np.abs(force).max()
        (weightless,) = replay(scene, [ep], settings, params={"opt.gravity[2]": 0.0})
        diff = weightless.predicted["qfrc_actuator"][0, 2:-2] - force
        # without gravity, falling at g needs m g downwards on z and nothing else
        np.testing.assert_allclose(diff[:, 2], -mass * 9.81, rtol=1e-9)
        np.testing.assert_allclose(diff[:, [0, 1, 3, 4, 5]], 0.0, atol=1e-9)


def test_inverse_on_a_ball_joint_matches_the_simulated_passive_motion():
    scene = _ball_scene()
    data = mujoco.MjData(scene.model)
    data.qvel[:] = [1.0, -2.0, 0.5]
    T = 150
    qpos, qvel = np.zeros((T, 4)), np.zeros((T, 3))
    for t in range(T):
        qpos[t], qvel[t] = data.qpos, data.qvel
        mujoco.mj_step(scene.model, data)
    ep = Episode(
        "ball",
        np.arange(T) * 0.002,
        {
            "qpos": Signal(qpos, [f"ball[{i}]" for i in range(4)]),
            "qvel": Signal(qvel, [f"ball[{i}]" for i in range(3)]),
        },
    )
    ep = _with_torque(ep, "ball", 3)
    (trace,) = replay(scene, [ep], ReplaySettings("inverse", smooth_window=0.0))
    # raw differences of the recorded velocities, discrete-time inverse: exact (passive motion)
    assert np.nanmax(np.abs(trace.predicted["qfrc_actuator"])) < 1e-8
    (smooth,) = replay(scene, [ep], ReplaySettings("inverse", derivatives="positions"))
    assert np.nanmax(np.abs(smooth.predicted["qfrc_actuator"][0, 20:-20])) < 0.05


@pytest.fixture(scope="module")
def tosses():
    eps = load_episodes(
        assets_root() / "data" / "cube_toss",
        assets_root() / "mappings" / "cube_toss.toml",
        select="0:3",
    )
    return load_scene("cube_toss"), eps


def test_inverse_on_real_cube_tosses_needs_about_no_force_in_flight(tosses):
    scene, eps = tosses
    eps = [_with_torque(e, "cube", 6) for e in eps]
    mass = float(scene.model.body_mass[1])
    settings = ReplaySettings("inverse", smooth_window=0.0, derivatives="positions")
    traces = replay(scene, eps, settings)
    flight = []
    for tr in traces:
        assert not tr.diverged.any()
        first = impact_index(tr.episode.signals["qpos"].values[:, 2], tr.alignment.dt)
        assert first is not None and first > 6
        flight.append(tr.predicted["qfrc_actuator"][0, 1 : first - 2])
    flight = np.concatenate(flight)
    # the cube flies ballistically: the force it needs is small next to its weight (noise only)
    assert np.median(np.abs(flight[:, :3])) < 0.05 * mass * 9.81
    assert np.median(np.abs(flight[:, 3:])) < 0.01
    weightless = replay(scene, eps, settings, params={"opt.gravity[2]": 0.0})
    diff = (
        weightless[0].predicted["qfrc_actuator"][0, 1:5]
        - traces[0].predicted["qfrc_actuator"][0, 1:5]
    )
    np.testing.assert_allclose(diff[:, 2], -mass * 9.81, rtol=1e-9)


def test_tracking_a_passive_free_body_equals_its_open_loop_replay(tosses):
    scene, eps = tosses
    tracked = replay(scene, eps, ReplaySettings("tracking"))
    free = replay(scene, eps, ReplaySettings("open_loop"))
    for a, b in zip(tracked, free, strict=True):
        assert not a.diverged.any() and a.predicted["qpos"].shape == b.predicted["qpos"].shape
        np.testing.assert_allclose(a.predicted["qpos"], b.predicted["qpos"], atol=1e-12)
        err = a.predicted["qpos"][0, :5, :3] - a.recorded("qpos")[0, :5, :3]
        assert np.abs(err).max() < 0.01  # the first samples follow the recording


def _rotation(t: np.ndarray, axis=(1.0, 2.0, 2.0), rate: float = 7.0) -> np.ndarray:
    """(T, 4) w x y z quaternions turning at `rate` rad/s about a fixed axis."""
    axis = np.asarray(axis) / np.linalg.norm(axis)
    half = 0.5 * rate * t
    return np.column_stack([np.cos(half), np.sin(half)[:, None] * axis[None, :]])


def test_resampling_slerps_a_rotating_quaternion_exactly():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.004, 0.012, 120))
    q = _rotation(times)
    q[::3] *= -1  # sign flips in the recording: the same rotations
    ep = Episode(
        "spin",
        times,
        {"qpos": Signal(np.column_stack([times, q]), ["x", "w", "i", "j", "k"])},
    )
    out = resample(ep, 0.005, quaternions={"qpos": [(1, 2, 3, 4)]})
    got = out.signals["qpos"].values
    want = _rotation(out.times)
    sign = np.sign(np.sum(got[:, 1:] * want, axis=1))[:, None]
    np.testing.assert_allclose(got[:, 1:] * sign, want, atol=1e-12)
    np.testing.assert_allclose(got[:, 0], out.times, atol=1e-12)  # other columns: linear
    # component-wise interpolation would not be a unit rotation, let alone the right one
    plain = resample(ep, 0.005).signals["qpos"].values[:, 1:]
    assert np.abs(np.linalg.norm(plain, axis=1) - 1).max() > 0.1
    np.testing.assert_allclose(slerp(times, q, times[:2]), q[:2] * [[1], [-1]], atol=1e-15)


def test_prepare_resamples_free_joint_quaternions_by_slerp():
    scene = box_scene()
    ep = _flying_box(substeps=5)
    jittered = Episode(ep.id, ep.times + np.r_[0, 3e-4, np.zeros(ep.num_samples - 2)], ep.signals)
    (aligned,), (al,), _ = prepare(scene, [jittered], ReplaySettings("open_loop"))
    assert al.resampled
    quats = aligned.signals["qpos"].values[:, 3:7]
    np.testing.assert_allclose(np.linalg.norm(quats, axis=1), 1.0, atol=1e-12)


def _box_episode(quat: np.ndarray, row: int = 2) -> Episode:
    ep = _flying_box(samples=6)
    q = ep.signals["qpos"].values.copy()
    q[row, 3:7] = quat
    return ep.with_signals(qpos=Signal(q, ep.signals["qpos"].columns))


@pytest.mark.parametrize(
    "quat, norm",
    [
        ([0.05, 0.0, 0.0, 0.0], "0.05"),
        ([0.0, 0.0, 0.0, 0.0], "0"),
        ([1.0, 0.2, 0.0, 0.0], "1.0198"),
        ([0.5, 0.5, 0.5, 0.4], "0.9539"),
    ],
)
def test_recorded_quaternions_far_from_unit_are_refused(quat, norm):
    with pytest.raises(BindingError, match=rf"'sim'.*'qpos' joint 'box' row 2.*norm {norm}"):
        bind_episode(box_scene(), _box_episode(np.array(quat)))


def test_slightly_off_unit_quaternions_are_renormalised():
    scene = box_scene()
    quat = np.array([0.9, 0.2, 0.3, 0.1])
    quat *= 1.005 / np.linalg.norm(quat)
    ep = _box_episode(quat)
    bound = bind_episode(scene, ep)
    qpos, _ = full_state_rows(scene.model, ep, bound)
    np.testing.assert_allclose(np.linalg.norm(qpos[:, 3:7], axis=1), 1.0, atol=1e-15)
    np.testing.assert_allclose(qpos[2, 3:7], quat / 1.005, atol=1e-15)
