"""ReplaySettings: how to replay, validated at construction (messages name the CLI options)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from workbench.errors import SettingsError
from workbench.replay.inverse import DERIVATIVE_SOURCES
from workbench.replay.trace import MODES
from workbench.schema import number, number_list, string


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (the shared checkers accept plain ints and floats only)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclasses.dataclass(frozen=True)
class ReplaySettings:
    """How to replay.

    Attributes:
      mode: one of `open_loop`, `windows`, `tracking`, `inverse` (`--mode`).
      horizons: windows mode: prediction horizons [s], finite and > 0; windows last the longest
        one (`--horizons`).
      window_stride: windows mode: seconds between window starts, finite and > 0 (`--stride`).
      smooth_window: inverse/tracking: Savitzky-Golay window [s] for velocities and accelerations
        of the recorded motion, finite and >= 0; 0 uses raw forward differences with
        discrete-time inverse dynamics (`--smooth`).
      derivatives: inverse/tracking: where velocities and accelerations come from: "positions",
        "velocities" (recorded) or "auto" (see `workbench.replay.inverse.recorded_motion`)
        (`--derivatives`).
      threads: rollout threads, an integer >= 1 (default None: the CPUs this process may use)
        (`--threads`).
      budget: max floats of simulated state held per rollout call, an integer >= 1.
    Raises:
      SettingsError: naming the option as the command line spells it, the expected and the
        actual value.
    """

    mode: str = "open_loop"
    horizons: tuple[float, ...] = (0.1, 0.25, 0.5)
    window_stride: float = 0.05
    smooth_window: float = 0.2
    derivatives: str = "auto"
    threads: int | None = None
    budget: int = 20_000_000

    def __post_init__(self) -> None:
        string(self.mode, "--mode", SettingsError, choices=MODES)
        horizons = self.horizons
        if isinstance(horizons, np.ndarray):
            horizons = horizons.tolist()
        if isinstance(horizons, (list, tuple)) and not horizons:
            raise SettingsError("--horizons: expected at least one horizon [s] > 0, got none")
        horizons = number_list(
            [_plain(h) for h in horizons] if isinstance(horizons, (list, tuple)) else horizons,
            "--horizons",
            SettingsError,
            lower=0.0,
            lower_open=True,
        )
        stride = number(
            _plain(self.window_stride), "--stride", SettingsError, lower=0.0, lower_open=True
        )
        smooth = number(_plain(self.smooth_window), "--smooth", SettingsError, lower=0.0)
        string(self.derivatives, "--derivatives", SettingsError, choices=DERIVATIVE_SOURCES)
        threads = self.threads
        if threads is not None:
            threads = number(_plain(threads), "--threads", SettingsError, lower=1, integer=True)
        budget = number(_plain(self.budget), "budget", SettingsError, lower=1, integer=True)
        for name, value in (
            ("horizons", horizons),
            ("window_stride", stride),
            ("smooth_window", smooth),
            ("threads", threads),
            ("budget", budget),
        ):
            object.__setattr__(self, name, value)
