"""Benchmark: one randomization sample applied in place (and restored) on the Panda scene, against
a 1,000-step replay of that scene and against a model copy per sample.

Prints ratios measured in one run (machines are shared and noisy; no absolute targets). The
issue's target: applying one sample costs < 1 % of a 1,000-step replay.
Run: python tests/benchmarks/bench_randomize.py
"""

from __future__ import annotations

import copy
import time

import mujoco
import numpy as np
from mujoco import rollout

from workbench.physics import set_values
from workbench.randomize import RandomizationSpec, Randomizer
from workbench.scenes import load_scene

JOINTS = [f"joint{i}" for i in range(1, 8)]


def panda_spec() -> RandomizationSpec:
    params = {}
    for j in JOINTS:
        params[f"dof_damping[{j}]"] = {"distribution": "log_uniform", "lower": 0.01, "upper": 1.0}
        params[f"dof_armature[{j}]"] = {
            "distribution": "uniform",
            "lower": 0.8,
            "upper": 1.2,
            "operation": "scale",
        }
        params[f"dof_frictionloss[{j}]"] = {
            "distribution": "truncated_normal",
            "mean": 0.3,
            "std": 0.1,
            "lower": 0.0,
            "upper": 1.0,
        }
    for b in ("link3", "link5", "link7"):
        params[f"body_mass[{b}]"] = {
            "distribution": "normal",
            "mean": 0.0,
            "std": 0.05,
            "operation": "add",
        }
        params[f"scale:body_inertia[{b}]"] = {"distribution": "uniform", "lower": 0.9, "upper": 1.1}
    params["opt.gravity[2]"] = {
        "distribution": "normal",
        "mean": 0.0,
        "std": 0.01,
        "operation": "add",
    }
    return RandomizationSpec.from_dict({"parameters": params})


def best_of(fn, repeats: int) -> float:
    """Median seconds per call over `repeats` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main() -> None:
    scene = load_scene("panda")
    model = scene.model
    spec = panda_spec()
    r = Randomizer(spec, model)
    samples = r.samples("bench", range(200), seed=0)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    ctrl = rng.normal(0, 1.0, size=(1000, model.nu))

    def replay_1000() -> None:
        mujoco.mj_resetData(model, data)
        for k in range(1000):
            data.ctrl[:] = ctrl[k]
            mujoco.mj_step(model, data)

    state0 = np.zeros((1, mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)))
    mujoco.mj_getState(model, mujoco.MjData(model), state0[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)

    def rollout_1000() -> None:
        rollout.rollout(model, mujoco.MjData(model), state0, ctrl[None], nstep=1000)

    it = iter(samples * 100)

    def apply_in_place() -> None:
        with r.applied(next(it)):
            pass

    it2 = iter(samples * 100)

    def copy_per_sample() -> None:
        m = copy.copy(model)
        set_values(m, next(it2).values)

    t_loop = best_of(replay_1000, 5)
    t_roll = best_of(rollout_1000, 5)
    t_apply = best_of(apply_in_place, 200)
    t_sample = best_of(lambda: r.sample("bench", 7, seed=1), 200)
    t_copy = best_of(copy_per_sample, 20)
    print(
        f"Panda: nq={model.nq}, spec with {len(spec.parameters)} parameters (masses, inertias: "
        "mj_setConst on apply and restore)"
    )
    print(f"1,000-step replay, mj_step loop       {1e3 * t_loop:8.2f} ms")
    print(f"1,000-step replay, mujoco.rollout     {1e3 * t_roll:8.2f} ms")
    print(f"draw one sample                       {1e3 * t_sample:8.3f} ms")
    print(
        f"apply + restore one sample in place   {1e3 * t_apply:8.3f} ms "
        f"= {100 * t_apply / t_loop:.2f} % of the loop replay, {100 * t_apply / t_roll:.2f} % "
        "of the rollout replay (target < 1 %)"
    )
    print(
        f"model copy + apply per sample         {1e3 * t_copy:8.3f} ms "
        f"= {100 * t_copy / t_loop:.1f} % of the loop replay; {t_copy / t_apply:.0f}x the "
        "in-place cost"
    )


if __name__ == "__main__":
    main()
