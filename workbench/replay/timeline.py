"""Align a recording's time axis with the simulation timestep (or resample it, and say so)."""

from __future__ import annotations

import dataclasses

import numpy as np

from workbench.episode import Episode, Signal


@dataclasses.dataclass(frozen=True)
class Alignment:
    """How an episode's samples map to simulation steps.

    Attributes:
      substeps: simulation steps per recorded sample.
      dt: sample period used for replay [s] (= substeps * timestep).
      resampled: whether the recording was interpolated onto a uniform grid.
      note: a sentence for reports.
    """

    substeps: int
    dt: float
    resampled: bool
    note: str


def resample(episode: Episode, dt: float) -> Episode:
    """Linear interpolation of every signal onto t0 + k*dt (k = 0.. while <= t_end)."""
    t0 = episode.times[0]
    count = int(np.floor((episode.times[-1] - t0) / dt + 1e-9)) + 1
    grid = t0 + dt * np.arange(count)
    signals = {
        name: dataclasses.replace(
            sig, values=np.stack([np.interp(grid, episode.times, col) for col in sig.values.T], 1)
        )
        for name, sig in episode.signals.items()
    }
    return Episode(episode.id, grid, signals, episode.metadata)


def align(episode: Episode, timestep: float, *, rtol: float = 1e-3) -> tuple[Episode, Alignment]:
    """Use the recording as is when its dt is uniform and an integer multiple of `timestep`.

    Otherwise resample to a uniform grid with dt = round(median dt / timestep) * timestep.
    """
    steps = np.diff(episode.times)
    median = float(np.median(steps))
    substeps = max(1, int(round(median / timestep)))
    dt = substeps * timestep
    uniform = np.max(np.abs(steps - median)) <= rtol * median
    multiple = abs(median - dt) <= rtol * dt
    if uniform and multiple:
        note = f"recorded dt {median:.6g} s = {substeps} x timestep {timestep:.6g} s (aligned)"
        return episode, Alignment(substeps, dt, False, note)
    why = [] if uniform else [f"irregular dt ({steps.min():.6g}..{steps.max():.6g} s)"]
    if not multiple:
        why.append(f"dt {median:.6g} s is not a multiple of timestep {timestep:.6g} s")
    note = f"resampled to uniform dt {dt:.6g} s = {substeps} x timestep: " + "; ".join(why)
    return resample(episode, dt), Alignment(substeps, dt, True, note)


def signal_like(reference: Signal, values: np.ndarray) -> Signal:
    """A simulated signal with the columns, unit and frame of a recorded one."""
    return Signal(values, reference.columns, reference.unit, reference.frame)
