"""Benchmark: the execution layer on replay-variant jobs (cube tosses, open loop).

Prints, measured in one run (machines are shared and noisy; no absolute targets):
- Ray with 2 workers vs serial throughput on the same job (variants/s ratio; Ray start apart);
- per-variant overhead beyond physics stepping: the serial job's time vs the same simulations as
  bare `mujoco.rollout` calls (one per variant, model copy with the values applied in place);
- peak RSS per Ray worker for a job of N and of 10 N variants (a fresh Ray for each).

Run: python tests/benchmarks/bench_execute.py [--episodes 8] [--variants 25]
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

from workbench import load_scene
from workbench.execute import ReplayVariantsTask, plan_shards, run_job
from workbench.paths import assets_root
from workbench.physics import set_values
from workbench.replay.prepare import prepare

QUIET = {"progress": False, "log": lambda msg: None}


def make_task(episodes: int, per_episode: int) -> ReplayVariantsTask:
    rng = np.random.default_rng(0)
    vs = tuple(
        tuple(
            {"pair_friction[cube_table][0]": float(rng.uniform(0.1, 0.3))}
            for _ in range(per_episode)
        )
        for _ in range(episodes)
    )
    return ReplayVariantsTask(
        "cube_toss", (str(assets_root() / "data" / "cube_toss"),), vs, select=f"0:{episodes}"
    )


def physics_only(task: ReplayVariantsTask) -> tuple[float, int]:
    """Seconds to simulate every variant with bare mujoco.rollout (1 thread), and the steps."""
    scene = load_scene(task.scene)
    episodes = task._inputs()[1]
    aligned, alignments, _ = prepare(scene, episodes, task.settings)
    model = copy.copy(scene.model)
    data = mujoco.MjData(model)
    size = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    steps = 0
    start = time.perf_counter()
    for ep, values in zip(aligned, task.variants, strict=True):
        nstep = (ep.num_samples - 1) * int(round((ep.times[1] - ep.times[0]) / model.opt.timestep))
        state = np.zeros((1, size))
        mujoco.mj_resetData(model, data)
        data.qpos[:] = ep.signals["qpos"].values[0]
        data.qvel[:] = ep.signals["qvel"].values[0]
        mujoco.mj_getState(model, data, state[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)
        for v in values:
            old = set_values(model, v)
            rollout.rollout(model, data, state, nstep=nstep)
            set_values(model, old)
            steps += nstep
    return time.perf_counter() - start, steps


def replay_only(task: ReplayVariantsTask, shard_size: int = 10) -> float:
    """Seconds for the shards' replays alone (replay_variants, same grouping), nothing written."""
    from workbench.replay.variants import replay_variants

    scene, episodes = task._inputs()
    start = time.perf_counter()
    for ep, values in zip(episodes, task.variants, strict=True):
        for first in range(0, len(values), shard_size):
            group = values[first : first + shard_size]
            for _ in replay_variants(scene, [ep], group, task.settings, chunk=task.chunk):
                pass
    return time.perf_counter() - start


def timed_job(task, out: Path, backend: str) -> tuple[float, object]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = run_job(
        task, plan_shards(task.variants_per_episode(), 10), out, backend=backend, **QUIET
    )
    return time.perf_counter() - start, result


def worker_peaks(result) -> dict[int, float]:
    peaks: dict[int, float] = {}
    for r in result.results.values():
        pid = r.worker["pid"]
        peaks[pid] = max(peaks.get(pid, 0.0), r.worker["max_rss_mb"])
    return peaks


def main() -> None:
    import ray

    p = argparse.ArgumentParser()
    p.add_argument("--episodes", type=int, default=8)
    p.add_argument("--variants", type=int, default=25, help="per episode")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_execute_"))
    env = {"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}}
    task = make_task(args.episodes, args.variants)
    n = args.episodes * args.variants
    task.check()
    physics, steps = physics_only(task)
    replays = replay_only(task)
    serial, serial_result = timed_job(task, root / "serial", "serial")
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
    start_s = time.perf_counter() - t
    timed_job(make_task(2, 2), root / "warm", "ray")  # workers started, scene compiled
    ray_s, result = timed_job(task, root / "ray", "ray")
    print(f"job: {n} variants ({args.episodes} tosses x {args.variants}), {steps} physics steps")
    print(f"bare mujoco.rollout (1 thread):  {physics:7.2f} s  {steps / physics:9.0f} steps/s")
    print(f"serial job (1 process):          {serial:7.2f} s  {n / serial:9.1f} variants/s")
    print(f"ray job (2 workers, warm):       {ray_s:7.2f} s  {n / ray_s:9.1f} variants/s")
    print(f"ray start (num_cpus=2):          {start_s:7.2f} s")
    print(f"ratio ray(2) / serial throughput: {serial / ray_s:.2f}x (whole job, merge included)")
    print(
        f"ratio ray(2) / serial, shard phase only (merge is serial in both): "
        f"{serial_result.seconds / result.seconds:.2f}x"
    )
    print(
        f"overhead beyond physics per variant (serial): {100 * (serial - physics) / physics:.1f} %"
    )
    print(
        f"  of which replay_variants (prepare, windows, traces): "
        f"{100 * (replays - physics) / physics:.1f} %, shard files + merge into one dataset: "
        f"{100 * (serial - replays) / physics:.1f} %"
    )
    print(f"ray workers used: {len(worker_peaks(result))}")
    ray.shutdown()
    for k in (1, 10):
        big = make_task(args.episodes, max(1, args.variants * k // 10))
        ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
        seconds, result = timed_job(big, root / f"rss{k}", "ray")
        peaks = worker_peaks(result)
        ray.shutdown()
        total = sum(len(v) for v in big.variants)
        print(
            f"{total:5d} variants: peak RSS per worker "
            + ", ".join(f"{v:.0f} MB" for v in sorted(peaks.values()))
            + f" ({seconds:.1f} s)"
        )
    shutil.rmtree(root, ignore_errors=True)
    print(f"(cpus: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
