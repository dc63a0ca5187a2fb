"""Sensitivity sweep: the sim-to-real gap over a grid of one or two physics parameters.

Every grid point is one variant of `replay_variants` (batched rollouts, values applied in place on
model copies); each variant's traces become a `GapReport` whose aggregate metric is read off.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from workbench.episode import Episode
from workbench.errors import SettingsError
from workbench.metrics.gap import gap_report
from workbench.replay import ReplaySettings, replay_variants
from workbench.scenes.scene import Scene

_AXIS = re.compile(r"^(?P<name>.+)=(?P<lo>[^:=]+):(?P<hi>[^:=]+):(?P<n>[^:=]+?)(?P<log>:log)?$")


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept parameter: `count` values from `lower` to `upper` (log-spaced with `log`)."""

    name: str
    lower: float
    upper: float
    count: int
    log: bool = False

    def __post_init__(self) -> None:
        where = f"sweep axis {self.name!r}"
        if not self.lower < self.upper:
            raise SettingsError(
                f"{where}: expected lower < upper, got {self.lower} >= {self.upper}"
            )
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 2:
            raise SettingsError(f"{where}: expected at least 2 points, got {self.count!r}")
        if self.log and self.lower <= 0:
            raise SettingsError(f"{where}: log spacing needs lower > 0, got {self.lower}")

    @property
    def values(self) -> np.ndarray:
        if self.log:
            return np.geomspace(self.lower, self.upper, self.count)
        return np.linspace(self.lower, self.upper, self.count)

    @classmethod
    def parse(cls, text: str) -> Axis:
        """`NAME=LOWER:UPPER:COUNT[:log]`, e.g. `pair_friction[cube_table][0]=0.1:0.4:7:log`."""
        m = _AXIS.match(text.strip()) if isinstance(text, str) else None
        if not m:
            raise SettingsError(
                f"--param: expected NAME=LOWER:UPPER:COUNT[:log], e.g. "
                f"'pair_friction[cube_table][0]=0.1:0.4:7', got {text!r}"
            )
        try:
            lo, hi, n = float(m.group("lo")), float(m.group("hi")), float(m.group("n"))
        except ValueError:
            raise SettingsError(f"--param {text!r}: LOWER, UPPER, COUNT must be numbers") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or n != int(n):
            raise SettingsError(f"--param {text!r}: expected finite bounds and an integer count")
        return cls(m.group("name"), lo, hi, int(n), bool(m.group("log")))


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """`grid` (P, len(axes)) parameter values; `values` (P,) the metric's aggregate per point
    (NaN where every episode diverged); `diverged` (P,) excluded episodes per point."""

    axes: tuple[Axis, ...]
    metric: str
    stat: str
    grid: np.ndarray
    values: np.ndarray
    diverged: np.ndarray

    def as_dict(self) -> dict:
        return {
            "axes": [dataclasses.asdict(a) | {"values": a.values.tolist()} for a in self.axes],
            "metric": self.metric,
            "stat": self.stat,
            "points": [
                {
                    "params": dict(zip([a.name for a in self.axes], g.tolist(), strict=True)),
                    "value": None if not np.isfinite(v) else float(v),
                    "diverged": int(d),
                }
                for g, v, d in zip(self.grid, self.values, self.diverged, strict=True)
            ],
            "best": self.best(),
        }

    def best(self) -> dict | None:
        if not np.isfinite(self.values).any():
            return None
        i = int(np.nanargmin(self.values))
        return {
            "params": dict(zip([a.name for a in self.axes], self.grid[i].tolist(), strict=True)),
            "value": float(self.values[i]),
        }

    def figure(self):
        from workbench.plots import subplots

        if len(self.axes) == 1:
            fig, ax = subplots(figsize=(6, 4))
            ax.plot(self.grid[:, 0], self.values, "o-")
            ax.set_xscale("log" if self.axes[0].log else "linear")
            ax.set_xlabel(self.axes[0].name)
            ax.set_ylabel(f"{self.metric} ({self.stat})")
            return fig
        a, b = self.axes
        fig, ax = subplots(figsize=(6.5, 5))
        z = self.values.reshape(a.count, b.count)
        im = ax.pcolormesh(b.values, a.values, z, shading="nearest")
        ax.set_xscale("log" if b.log else "linear")
        ax.set_yscale("log" if a.log else "linear")
        ax.set_xlabel(b.name)
        ax.set_ylabel(a.name)
        fig.colorbar(im, ax=ax, label=f"{self.metric} ({self.stat})")
        return fig


def run_sweep(
    scene: Scene,
    episodes: Sequence[Episode],
    axes: Sequence[Axis],
    metric: str,
    *,
    settings: ReplaySettings | None = None,
    stat: str = "median",
    chunk: int = 16,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """The aggregate `metric` (a `GapReport` key, e.g. `qpos/cube/position_error_m/final`) at
    every point of the grid of `axes` (one or two), over all `episodes`."""
    axes = tuple(axes)
    if len(axes) not in (1, 2):
        raise SettingsError(f"--param: expected one or two swept parameters, got {len(axes)}")
    if len({a.name for a in axes}) != len(axes):
        raise SettingsError(f"--param: the two swept parameters are the same: {axes[0].name!r}")
    if stat not in ("median", "mean", "p90"):
        raise SettingsError(f"stat: expected one of ['median', 'mean', 'p90'], got {stat!r}")
    settings = settings or ReplaySettings("open_loop")
    grid = np.array(list(itertools.product(*[a.values for a in axes])), dtype=np.float64)
    variants = [{a.name: float(v) for a, v in zip(axes, row, strict=True)} for row in grid]
    values = np.full(len(grid), np.nan)
    diverged = np.zeros(len(grid), dtype=int)
    horizons = settings.horizons if settings.mode == "windows" else ()
    for i, traces in replay_variants(
        scene, episodes, variants, settings, chunk=chunk, progress=progress
    ):
        report = gap_report(traces, scene=scene.name, settings={}, horizons=horizons)
        diverged[i] = sum(1 for e in report.episodes if e["diverged"])
        if metric in report.aggregate:
            values[i] = report.aggregate[metric][stat]
        elif i == 0 and diverged[i] < len(traces):
            report.value(metric, stat)  # raises, listing close metric names
    return SweepResult(axes, metric, stat, grid, values, diverged)
