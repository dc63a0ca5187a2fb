"""Randomized physics: specs of distributions over values by MuJoCo name, reproducible samples
applied in place, and ensemble replays scored against real outcomes.

- `distributions`: uniform, log-uniform, normal, truncated normal (inverse CDF, scipy.stats);
- `spec`: `RandomizationSpec` (TOML/Python; a calibration's distribution.toml is one);
- `sampling`: `Randomizer` (a spec bound to a model), `Sample` (exact, serialisable values);
- `ensemble`: replay episodes under N samples and score the real outcomes (`run_ensemble`);
- `sweep`: the gap over a grid of one or two parameters (`run_sweep`).
"""

from workbench.randomize.distributions import Distribution
from workbench.randomize.sampling import Randomizer, Sample
from workbench.randomize.spec import (
    ParameterRandomization,
    RandomizationSpec,
    SignalNoise,
    load_spec,
)

__all__ = [
    "Distribution",
    "ParameterRandomization",
    "RandomizationSpec",
    "Randomizer",
    "Sample",
    "SignalNoise",
    "load_spec",
]
