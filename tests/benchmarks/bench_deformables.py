"""Deformable scenes: stepping rates, the cost of recompiling a cable per stiffness candidate,
and synthetic rope recovery errors, all measured in one run.

    PYTHONPATH=. python tests/benchmarks/bench_deformables.py
"""

from __future__ import annotations

import time

import mujoco

from workbench.deformables import CableSetup, compile_cable, fit_cable, synthetic_rope_recording
from workbench.scenes import load_scene
from workbench.scenes.stability import check_stability


def main() -> None:
    for name in ("cable", "cloth"):
        scene = load_scene(name)
        report = check_stability(scene.model, seconds=5.0)
        print(f"{name}: 5 s stable={report.stable} {report.steps_per_second:.0f} steps/s")
    cable = load_scene("cable")
    setup = CableSetup.from_scene(cable)
    start = time.perf_counter()
    for _ in range(20):
        model = compile_cable(setup, bend=1e7, damping=0.02)
        mujoco.MjData(model)
    compile_s = (time.perf_counter() - start) / 20
    step_s = 1.0 / check_stability(cable.model, seconds=1.0).steps_per_second
    print(f"cable recompile + MjData: {compile_s * 1e3:.2f} ms = {compile_s / step_s:.0f} steps")
    rec = synthetic_rope_recording(setup, bend=1e7, damping=0.02, seconds=1.5, seed=3)
    fit = fit_cable(setup, rec, bend0=3e6, damping0=0.05)
    print(
        f"rope fit: bend error {100 * (fit.bend / 1e7 - 1):+.2f} %, damping error "
        f"{100 * (fit.damping / 0.02 - 1):+.2f} %, residual RMS {fit.rms_m * 1e3:.3f} mm, "
        f"{fit.iterations} iterations, {fit.simulations} simulations, {fit.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
