"""Deformables: cable stiffness/damping from marker tracks with driven ends (see fit.py)."""

from workbench.deformables.fit import (
    CableFit,
    CableSetup,
    RopeRecording,
    compile_cable,
    fit_cable,
    simulate_cable,
    smooth_end_paths,
    synthetic_rope_recording,
)

__all__ = [
    "CableFit",
    "CableSetup",
    "RopeRecording",
    "compile_cable",
    "fit_cable",
    "simulate_cable",
    "smooth_end_paths",
    "synthetic_rope_recording",
]
