"""Deformables: cable stiffness/damping from marker tracks with driven ends (see fit.py)."""

from workbench.deformables.fit import (
    CableFit,
    CableSetup,
    RopeRecording,
    cable_scene,
    compile_cable,
    fit_cable,
    replay_markers,
    simulate_cable,
    simulate_cable_loop,
    smooth_end_paths,
    synthetic_rope_recording,
)

__all__ = [
    "CableFit",
    "CableSetup",
    "RopeRecording",
    "cable_scene",
    "compile_cable",
    "fit_cable",
    "replay_markers",
    "simulate_cable",
    "simulate_cable_loop",
    "smooth_end_paths",
    "synthetic_rope_recording",
]
