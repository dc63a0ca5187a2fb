"""Benchmark: augmentation jobs (AugmentTask) on the cube tosses and on the Panda.

Prints, measured in one run (shared, noisy machines: ratios, no absolute targets; every timed
job is repeated and the median reported):
- per-variant overhead beyond physics stepping: a serial job's shards (the sum of their run
  times: draw, replay, filter, write) and whole job (check, streaming merge included) vs the
  bare physics, interleaved per repeat (bare physics, then the job) and
  the median of the per-repeat overheads: the bare physics is one `mujoco.rollout` call per
  variant (model with the values applied in place, the same initial state and controls; only
  the rollout call timed), on cube tosses (~4 ms of physics per variant) and on the Panda
  (~130 ms per variant);
- Ray with 2 workers vs serial throughput on the same job (per repeat a job on other tosses,
  so both backends load its recordings; Ray started, its workers warm and its own processes
  settled, start time apart), with the workers' CPU seconds during the run phase (both busy:
  ~2 cores): the acceptance job (100 variants of each of 20 tosses) and the smallest job the
  "auto" backend gives to Ray (400 variants);
- peak RSS per Ray worker for N and 10 N variants (a fresh Ray for each).

Every timed job runs in a warm process (imports and first-call costs paid by a warm-up job,
reported apart) with the executor's per-process cache cleared, so each job loads its recordings,
prepares its sources and compiles its scene itself.

Run: python tests/benchmarks/bench_augment.py [--tosses 8] [--variants 50] [--panda-variants 8]
     [--repeats 5] [--ray-repeats 3] [--settle 5] [--root DIR]
(`--root /dev/shm` keeps the disk out: the software's own overhead; the Panda writes ~5.7 MB per
variant twice, shard and dataset, so on a slow disk its numbers are the disk's.)
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import mujoco
import numpy as np
from mujoco import rollout

from workbench.augment import AugmentTask
from workbench.augment.variant import variant_episode
from workbench.execute import cache, plan_shards, run_job
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


def cube_task(tosses: int, variants: int, first: int = 0) -> AugmentTask:
    spec = RandomizationSpec.load(ROOT / "scenes/cube_toss/randomization.toml").to_dict()
    return AugmentTask(
        "cube_toss",
        (str(REAL / "cube_toss"),),
        spec,
        variants,
        select=f"{first}:{first + tosses}",
    )


def panda_task(variants: int) -> AugmentTask:
    return AugmentTask("panda", (str(REAL / "panda_excitation"),), PANDA_SPEC, variants, chunk=4)


def physics_only(task: AugmentTask) -> tuple[float, int]:
    """Seconds of bare mujoco.rollout calls (1 thread) simulating every variant, and the steps."""
    scene = task._scene()
    config = task.config(scene)
    model = copy.copy(scene.model)
    data = mujoco.MjData(model)
    size = mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    steps, seconds = 0, 0.0
    for e in range(task.episodes()):
        source, variants = task.plan(e, 0, task.variants)
        n = source.alignment.substeps
        for v in variants:
            ep = variant_episode(source, config, v.transform, v.initial_state)
            qpos, qvel = full_state_rows(model, ep, source.bound)
            ctrl = control_rows(model, ep, source.bound)
            nstep = (ep.num_samples - 1) * n
            control = None if ctrl is None else np.repeat(ctrl[:-1], n, axis=0)[None]
            old = set_values(model, v.values)
            mujoco.mj_resetData(model, data)
            data.qpos[:], data.qvel[:] = qpos[0], qvel[0]
            state = np.zeros((1, size))
            mujoco.mj_getState(model, data, state[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)
            start = time.perf_counter()
            rollout.rollout(model, data, state, control, nstep=nstep)
            seconds += time.perf_counter() - start
            set_values(model, old)
            steps += nstep
    return seconds, steps


def timed(task, out: Path, backend: str, size: int):
    """(whole job seconds, JobResult) of a job run with an empty per-process cache."""
    shutil.rmtree(out, ignore_errors=True)
    cache.clear()
    start = time.perf_counter()
    result = run_job(
        task, plan_shards(task.variants_per_episode(), size), out, backend=backend, **QUIET
    )
    return time.perf_counter() - start, result


def overhead(name: str, task: AugmentTask, root: Path, size: int, repeats: int) -> None:
    """Per repeat: the bare physics, then the serial job (interleaved, so both see the same
    machine load); the overhead of each repeat from its own pair, median and range printed."""
    rows = []
    for r in range(repeats):
        physics, steps = physics_only(task)
        whole, result = timed(task, root / f"{name}{r}", "serial", size)
        work = sum(x.seconds for x in result.results.values())  # the shards alone, no merge
        rows.append((physics, work, whole, result))
    physics, shards, whole = (statistics.median(c) for c in list(zip(*rows, strict=True))[:3])
    phase = [100 * (s - p) / p for p, s, _, _ in rows]
    job = [100 * (w - p) / p for p, _, w, _ in rows]
    result = rows[0][3]
    n = task.variants * task.episodes()
    print(
        f"{name}: {n} variants, {steps} steps; bare rollout {physics:.2f} s "
        f"({1e3 * physics / n:.1f} ms per variant); serial job {whole:.2f} s (its shards "
        f"{shards:.2f} s); medians of {repeats} interleaved repeats"
    )
    print(
        f"{name}: overhead beyond physics per variant: shards "
        f"{statistics.median(phase):.1f} % (repeats {_spread(phase)}), whole job (check, merge) "
        f"{statistics.median(job):.1f} % (repeats {_spread(job)}); accepted {result.accepted}, "
        f"rejected {result.rejected}"
    )


def _spread(values: list[float]) -> str:
    return f"{min(values):.1f}..{max(values):.1f}"


def ray_vs_serial(tosses: int, variants: int, root: Path, repeats: int) -> None:
    """Same job on both backends, once per repeat (each repeat on other tosses)."""
    rows = []
    for r in range(repeats):
        job = cube_task(tosses, variants, first=(tosses * (r + 1)) % 380)
        assert job.settings.threads == 1  # one rollout thread per worker: 2 workers, 2 cores
        serial, s = timed(job, root / f"serial{r}", "serial", 50)
        ray_s, q = timed(job, root / f"ray{r}", "ray", 50)
        cpu = sum(x.worker.get("cpu_s", float("nan")) for x in q.results.values())
        rows.append((serial, s.seconds, ray_s, q.seconds, cpu / q.seconds))
    n = tosses * variants
    serial, s_phase, ray_s, r_phase, busy = (statistics.median(c) for c in zip(*rows, strict=True))
    print(
        f"cube {tosses} tosses x {variants} variants = {n} (median of {repeats} jobs): serial "
        f"{serial:.2f} s ({n / serial:.1f} variants/s), ray(2) {ray_s:.2f} s "
        f"({n / ray_s:.1f} variants/s); run phase (shards, streaming merge) serial "
        f"{s_phase:.2f} s, ray {r_phase:.2f} s (workers busy {busy:.2f} cores); in the driver "
        f"before and after it (check, merge's last rows and metadata): serial "
        f"{serial - s_phase:.2f} s, ray {ray_s - r_phase:.2f} s"
    )
    ratios = [a / c for a, _, c, _, _ in rows]
    phase = [b / d for _, b, _, d, _ in rows]
    print(
        f"ratio ray(2) / serial throughput, {n} variants: whole job "
        f"{statistics.median(ratios):.2f}x (runs {', '.join(f'{x:.2f}' for x in ratios)}), "
        f"run phase {statistics.median(phase):.2f}x"
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
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--ray-repeats", type=int, default=3)
    p.add_argument("--settle", type=float, default=5.0, help="seconds to wait after Ray starts")
    p.add_argument(
        "--root",
        default=None,
        help="where the job folders go (default: the temp dir; /dev/shm leaves the disk out)",
    )
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_augment_", dir=args.root))
    print(f"job folders under {root}")
    env = {"env_vars": {"PYTHONPATH": str(ROOT)}}
    start = time.perf_counter()
    timed(cube_task(2, 2, first=390), root / "warm", "serial", 1)
    timed(panda_task(1), root / "warm", "serial", 1)
    print(
        f"warm-up (imports, first-call costs; once per process): {time.perf_counter() - start:.1f} s"
    )
    overhead("cube", cube_task(args.tosses, args.variants), root, 50, args.repeats)
    overhead("panda", panda_task(args.panda_variants), root, 4, args.repeats)
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
    start_s = time.perf_counter() - t
    timed(cube_task(2, 2, first=390), root / "warm", "ray", 1)  # workers up, scene compiled
    time.sleep(args.settle)  # Ray's own processes finish starting (their CPU use is start cost)
    print(f"ray start {start_s:.1f} s (then {args.settle:g} s to settle)")
    ray_vs_serial(20, 100, root, args.ray_repeats)  # the acceptance job: 100 x 20 real tosses
    ray_vs_serial(args.tosses, args.variants, root, args.ray_repeats)  # the smallest Ray job
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
