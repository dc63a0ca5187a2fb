"""Benchmark: workbench replay (batched mujoco.rollout) vs a plain Python mj_step loop.

Prints ratios measured in one run (machines are shared and noisy; no absolute targets).
Run: python tests/benchmarks/bench_replay.py
"""

from __future__ import annotations

import time

import mujoco
import numpy as np

from workbench import ReplaySettings, load_episodes, load_scene, replay
from workbench.paths import assets_root


def plain_loop(model, episodes, substeps):
    data = mujoco.MjData(model)
    steps = 0
    for ep in episodes:
        mujoco.mj_resetData(model, data)
        data.qpos[:] = ep.signals["qpos"].values[0]
        data.qvel[:] = ep.signals["qvel"].values[0]
        for _ in range((ep.num_samples - 1) * substeps):
            mujoco.mj_step(model, data)
            steps += 1
    return steps


def main() -> None:
    scene = load_scene("cube_toss")
    eps = load_episodes(
        assets_root() / "data" / "cube_toss", assets_root() / "mappings" / "cube_toss.toml"
    )
    t = time.perf_counter()
    steps = plain_loop(scene.model, eps, 10)
    plain = time.perf_counter() - t
    for threads in (1, 2):
        t = time.perf_counter()
        replay(scene, eps, ReplaySettings("open_loop", threads=threads))
        fast = time.perf_counter() - t
        print(
            f"cube_toss open_loop, {len(eps)} episodes, {steps} steps: plain mj_step loop {steps / plain:,.0f} steps/s; "
            f"workbench replay ({threads} thread{'s' if threads > 1 else ''}) {steps / fast:,.0f} steps/s; "
            f"ratio {plain / fast:.2f}x"
        )
    # parameter values applied in place vs a model copy per variant
    model = scene.model
    from workbench.physics import values_applied

    n = 200
    t = time.perf_counter()
    for k in range(n):
        with values_applied(
            model, {"geom_friction[cube][0]": 0.1 + 0.001 * k, "body_mass[cube]": 0.37}
        ):
            pass
    inplace = (time.perf_counter() - t) / n
    import copy

    t = time.perf_counter()
    for _ in range(n):
        copy.copy(model)
    copied = (time.perf_counter() - t) / n
    print(
        f"apply+restore 2 values in place {inplace * 1e6:.0f} us vs model copy {copied * 1e6:.0f} us: "
        f"ratio {copied / inplace:.1f}x; one 1,000-step cube replay takes ~{1000 / (steps / fast) * 1e3:.1f} ms"
    )
    # many physics variants: one batched replay_variants call vs one replay call per variant
    from workbench import replay_variants

    rng = np.random.default_rng(0)
    variants = [{"pair_friction[cube_table][0]": f} for f in rng.uniform(0.12, 0.25, 16)]
    settings = ReplaySettings("open_loop")
    few = eps[:20]
    t = time.perf_counter()
    for v in variants:
        replay(scene, few, settings, params=v)
    one_by_one = time.perf_counter() - t
    t = time.perf_counter()
    for _ in replay_variants(scene, few, variants, settings, chunk=16):
        pass
    batched = time.perf_counter() - t
    print(
        f"{len(variants)} friction variants x {len(few)} tosses: one replay per variant "
        f"{one_by_one:.2f} s, replay_variants {batched:.2f} s: ratio {one_by_one / batched:.2f}x"
    )


if __name__ == "__main__":
    main()
