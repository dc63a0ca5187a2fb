"""Benchmark: augmentation jobs (AugmentTask) on the cube tosses and on the Panda.

Prints, measured in one run (shared, noisy machines: ratios, no absolute targets):
- per-variant overhead beyond physics stepping: a serial job's shard phase and whole job (merge
  included) vs the same simulations as bare `mujoco.rollout` calls (one per variant, model with
  the values applied in place, the same initial state and controls), on cube tosses (~6 ms of
  physics per variant) and on the Panda (~1 s of physics per variant);
- Ray with 2 workers vs serial throughput on the same cube job (Ray warm, start apart);
- peak RSS per Ray worker for N and 10 N variants (a fresh Ray for each).

Run: python tests/benchmarks/bench_augment.py [--tosses 8] [--variants 50] [--panda-variants 8]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import tempfile
import time
from pathlib import Path

import mujoco
import numpy as np
from mujoco import rollout

from workbench.augment import AugmentTask
from workbench.augment.variant import variant_episode
from workbench.execute import plan_shards, run_job
from workbench.paths import real_data_root
from workbench.physics import set_values
from workbench.randomize import RandomizationSpec
from workbench.replay.forward import control_rows, full_state_rows

ROOT = Path(__file__).resolve().parents[2]
REAL = real_data_root()
QUIET = {"progress": False, "log": lambda msg: None}
PANDA_SPEC = {
    "parameters": {
        **{
            f"dof_damping[joint{j}]": {"distribution": "uniform", "lower": 0.0, "upper": 0.5}
            for j in range(1, 8)
        },
        "scale:body_mass[link7]": {"distribution": "uniform", "lower": 0.9, "upper": 1.1},
    }
}


def cube_task(tosses: int, variants: int) -> AugmentTask:
    spec = RandomizationSpec.load(ROOT / "scenes/cube_toss/randomization.toml").to_dict()
    return AugmentTask(
        "cube_toss", (str(REAL / "cube_toss"),), spec, variants, select=f"0:{tosses}"
    )


def panda_task(variants: int) -> AugmentTask:
    return AugmentTask("panda", (str(REAL / "panda_excitation"),), PANDA_SPEC, variants, chunk=4)


def physics_only(task: AugmentTask) -> tuple[float, int]:
    """Seconds to simulate every variant with bare mujoco.rollout (1 thread), and the steps."""
    scene = task._scene()
    config = task.config(scene)
    model = copy.copy(scene.model)
    data = mujoco.MjData(model)
    size = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    plans = [task.plan(e, 0, task.variants) for e in range(task.episodes())]
    steps, seconds = 0, 0.0
    for source, variants in plans:
        n = source.alignment.substeps
        for v in variants:
            ep = variant_episode(source, config, v.transform, v.initial_state)
            qpos, qvel = full_state_rows(model, ep, source.bound)
            ctrl = control_rows(model, ep, source.bound)
            nstep = (ep.num_samples - 1) * n
            control = None if ctrl is None else np.repeat(ctrl[:-1], n, axis=0)[None]
            start = time.perf_counter()
            old = set_values(model, v.values)
            mujoco.mj_resetData(model, data)
            data.qpos[:], data.qvel[:] = qpos[0], qvel[0]
            state = np.zeros((1, size))
            mujoco.mj_getState(model, data, state[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)
            rollout.rollout(model, data, state, control, nstep=nstep)
            set_values(model, old)
            seconds += time.perf_counter() - start
            steps += nstep
    return seconds, steps


def timed(task, out: Path, backend: str, size: int):
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = run_job(
        task, plan_shards(task.variants_per_episode(), size), out, backend=backend, **QUIET
    )
    return time.perf_counter() - start, result


def overhead(name: str, task: AugmentTask, root: Path, size: int) -> None:
    task.check()
    physics, steps = physics_only(task)
    whole, result = timed(task, root / name, "serial", size)
    n = task.variants * task.episodes()
    print(
        f"{name}: {n} variants, {steps} steps; bare rollout {physics:.2f} s "
        f"({steps / physics:.0f} steps/s); serial job {whole:.2f} s (shards {result.seconds:.2f} s)"
    )
    print(
        f"{name}: overhead beyond physics per variant: shard phase "
        f"{100 * (result.seconds - physics) / physics:.1f} %, whole job (check, merge) "
        f"{100 * (whole - physics) / physics:.1f} %; accepted {result.accepted}, "
        f"rejected {result.rejected}"
    )


def peaks(result) -> list[float]:
    out: dict[int, float] = {}
    for r in result.results.values():
        out[r.worker["pid"]] = max(out.get(r.worker["pid"], 0.0), r.worker["max_rss_mb"])
    return sorted(out.values())


def main() -> None:
    import ray

    p = argparse.ArgumentParser()
    p.add_argument("--tosses", type=int, default=8)
    p.add_argument("--variants", type=int, default=50)
    p.add_argument("--panda-variants", type=int, default=8)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_augment_"))
    env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    cube = cube_task(args.tosses, args.variants)
    overhead("cube", cube, root, 50)
    overhead("panda", panda_task(args.panda_variants), root, 4)
    serial, serial_result = timed(cube, root / "serial", "serial", 50)
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
    start_s = time.perf_counter() - t
    timed(cube_task(2, 2), root / "warm", "ray", 1)  # workers up, scene compiled
    ray_s, ray_result = timed(cube, root / "ray", "ray", 50)
    n = args.tosses * args.variants
    print(
        f"cube serial {serial:.2f} s ({n / serial:.1f} variants/s), ray(2) {ray_s:.2f} s "
        f"({n / ray_s:.1f} variants/s), ray start {start_s:.1f} s"
    )
    print(
        f"ratio ray(2) / serial throughput: whole job {serial / ray_s:.2f}x, shard phase "
        f"{serial_result.seconds / ray_result.seconds:.2f}x"
    )
    ray.shutdown()
    for k in (1, 10):
        big = cube_task(args.tosses, max(1, args.variants * k // 10))
        ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
        seconds, result = timed(big, root / f"rss{k}", "ray", 10)
        ray.shutdown()
        print(
            f"{big.variants * args.tosses:5d} variants: peak RSS per worker "
            + ", ".join(f"{v:.0f} MB" for v in peaks(result))
            + f" ({seconds:.1f} s)"
        )
    shutil.rmtree(root, ignore_errors=True)
    print(f"(cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
