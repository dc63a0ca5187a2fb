"""Shared fixtures: inline MJCF scenes and episodes recorded from them with a plain mj_step loop."""

from __future__ import annotations

import os

import mujoco
import numpy as np
import pytest

from workbench import Binding, Episode, Signal, scene_from_xml

os.environ.setdefault("MPLBACKEND", "Agg")

ARM_XML = """
<mujoco model="arm">
  <option timestep="0.002" integrator="Euler"/>
  <worldbody>
    <body name="link1">
      <joint name="j1" type="hinge" axis="0 1 0" damping="0.05" armature="0.01"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03" mass="1.0"/>
      <body name="link2" pos="0.3 0 0">
        <joint name="j2" type="hinge" axis="0 1 0" damping="0.03" armature="0.005"/>
        <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.025" mass="0.6"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="m1" joint="j1" ctrlrange="-20 20"/>
    <motor name="m2" joint="j2" ctrlrange="-20 20"/>
  </actuator>
</mujoco>
"""

BOX_XML = """
<mujoco model="box">
  <option timestep="0.001" cone="elliptic"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1" friction="0.3 0.005 0.0001"/>
    <body name="box" pos="0 0 0.2">
      <freejoint name="box"/>
      <geom name="box" type="box" size="0.05 0.05 0.05" mass="0.4" friction="0.3 0.005 0.0001"/>
    </body>
  </worldbody>
</mujoco>
"""


def arm_scene(xml: str = ARM_XML):
    return scene_from_xml(
        "arm",
        xml,
        Binding(
            timestep=0.002,
            state_joints=("j1", "j2"),
            actuators=("m1", "m2"),
            torque_joints=("j1", "j2"),
        ),
    )


def box_scene():
    return scene_from_xml(
        "box", BOX_XML, Binding(timestep=0.001, state_joints=("box",), contact_bodies=("box",))
    )


def record(
    model: mujoco.MjModel, qpos0, qvel0, ctrl: np.ndarray, substeps: int, *, eid="sim"
) -> Episode:
    """Record an episode from a plain mj_step loop: the state at each sample, the command held over
    the following `substeps` steps, and the actuator force of the step leaving the sample."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos0
    data.qvel[:] = qvel0
    T = ctrl.shape[0]
    qpos, qvel, frc = np.zeros((T, model.nq)), np.zeros((T, model.nv)), np.zeros((T, model.nv))
    for t in range(T):
        qpos[t], qvel[t] = data.qpos, data.qvel
        data.ctrl[:] = ctrl[t]
        for k in range(substeps):
            mujoco.mj_step(model, data)
            if k == 0:
                frc[t] = data.qfrc_actuator
    dt = substeps * model.opt.timestep
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(model.njnt)]
    signals = {}
    if model.nq == model.njnt:  # hinge joints only
        signals["qpos"] = Signal(qpos, names, "rad")
        signals["qvel"] = Signal(qvel, names, "rad/s")
        signals["qfrc_actuator"] = Signal(frc, names, "N m")
    else:
        signals["qpos"] = Signal(qpos, [f"{names[0]}[{i}]" for i in range(model.nq)])
        signals["qvel"] = Signal(qvel, [f"{names[0]}[{i}]" for i in range(model.nv)])
    if model.nu:
        acts = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a) for a in range(model.nu)]
        signals["ctrl"] = Signal(ctrl, acts, "N m")
    return Episode(eid, np.arange(T) * dt, signals, {"source": "simulated"})


def smooth_controls(rng: np.random.Generator, T: int, nu: int, scale: float = 2.0) -> np.ndarray:
    t = np.arange(T)[:, None]
    freq = rng.uniform(0.005, 0.03, size=(1, nu))
    phase = rng.uniform(0, 2 * np.pi, size=(1, nu))
    return scale * np.sin(2 * np.pi * freq * t + phase) + 0.3 * scale


@pytest.fixture(scope="session", autouse=True)
def _mujoco_log_outside_the_checkout(tmp_path_factory):
    """MuJoCo appends every warning (e.g. "Nan, Inf or huge value in QVEL", from the divergence
    tests) to MUJOCO_LOG.TXT in the working folder: the tests run from a scratch folder, so none
    lands in the checkout. Tests use absolute paths (or chdir and back, like test_readme)."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(here)


@pytest.fixture
def arm():
    return arm_scene()


@pytest.fixture
def box():
    return box_scene()


@pytest.fixture
def arm_episodes(arm):
    rng = np.random.default_rng(0)
    return [
        record(
            arm.model,
            rng.uniform(-0.5, 0.5, 2),
            np.zeros(2),
            smooth_controls(rng, 300, 2),
            1,
            eid=f"arm_{i}",
        )
        for i in range(3)
    ]


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """One uninterrupted serial replay-variants job per format (2 cube tosses x 4 variants, one
    diverging), the reference the execution tests compare against."""
    from jobs import shards_of, small_task

    from workbench.execute import run_job

    out = {}
    for fmt in ("lerobot", "robomimic"):
        task = small_task(fmt, diverging_at=2)
        folder = tmp_path_factory.mktemp(f"ref_{fmt}")
        result = run_job(
            task, shards_of(task), folder, backend="serial", progress=False, log=lambda m: None
        )
        out[fmt] = (task, folder, result)
    return out


@pytest.fixture(scope="session")
def ray_local():
    """One embedded local Ray (2 CPUs, no dashboard) shared by every Ray test of the session;
    its workers import this same copy of the workbench."""
    ray = pytest.importorskip("ray")
    from pathlib import Path

    import workbench

    root = str(Path(workbench.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
            log_to_driver=False,
        )
    yield ray
    ray.shutdown()


def recorded_arm(true=None, n: int = 2, T: int = 300, seed: int = 5):
    """(arm scene, n episodes recorded by a plain mj_step loop from the arm with `true` values
    applied to a copy of its model: random starts, smooth commands)."""
    import copy

    from workbench.physics import set_values

    scene = arm_scene()
    model = copy.copy(scene.model)
    set_values(model, true or {})
    rng = np.random.default_rng(seed)
    eps = [
        record(
            model,
            rng.uniform(-0.6, 0.6, 2),
            rng.uniform(-1, 1, 2),
            smooth_controls(rng, T, 2),
            1,
            eid=f"a{i}",
        )
        for i in range(n)
    ]
    return scene, eps
