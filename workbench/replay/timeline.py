"""Align a recording's time axis with the simulation timestep (or resample it, and say so)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

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


Quaternions = Mapping[str, Sequence[Sequence[int]]]  # signal -> column indices (w x y z) of each


def slerp(times: np.ndarray, quats: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(G, 4) unit quaternions at `grid` times [s], spherically interpolated between the (T, 4)
    samples at `times` (made sign-continuous first: q and -q are one rotation)."""
    q = quats / np.linalg.norm(quats, axis=1, keepdims=True)
    if q.shape[0] < 2:
        return np.repeat(q[:1], grid.shape[0], axis=0)
    flips = np.cumsum(np.r_[False, np.sum(q[1:] * q[:-1], axis=1) < 0]) % 2
    q = np.where(flips[:, None] == 1, -q, q)
    i = np.clip(np.searchsorted(times, grid, side="right") - 1, 0, q.shape[0] - 2)
    f = np.clip((grid - times[i]) / (times[i + 1] - times[i]), 0.0, 1.0)[:, None]
    a, b = q[i], q[i + 1]
    theta = np.arccos(np.clip(np.sum(a * b, axis=1, keepdims=True), -1.0, 1.0))
    sin = np.sin(theta)
    small = sin < 1e-9
    wa = np.where(small, 1.0 - f, np.sin((1.0 - f) * theta) / np.where(small, 1.0, sin))
    wb = np.where(small, f, np.sin(f * theta) / np.where(small, 1.0, sin))
    out = wa * a + wb * b
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def resample(episode: Episode, dt: float, *, quaternions: Quaternions | None = None) -> Episode:
    """Interpolate every signal onto t0 + k*dt (k = 0.. while <= t_end): linearly, except the
    `quaternions` column groups, which are slerped."""
    t0 = episode.times[0]
    count = int(np.floor((episode.times[-1] - t0) / dt + 1e-9)) + 1
    grid = t0 + dt * np.arange(count)
    signals = {}
    for name, sig in episode.signals.items():
        values = np.stack([np.interp(grid, episode.times, col) for col in sig.values.T], 1)
        for cols in (quaternions or {}).get(name, ()):
            values[:, list(cols)] = slerp(episode.times, sig.values[:, list(cols)], grid)
        signals[name] = dataclasses.replace(sig, values=values)
    return Episode(episode.id, grid, signals, episode.metadata)


def align(
    episode: Episode,
    timestep: float,
    *,
    rtol: float = 1e-3,
    quaternions: Quaternions | None = None,
) -> tuple[Episode, Alignment]:
    """Use the recording as is when its dt is uniform and an integer multiple of `timestep`.

    Otherwise resample to a uniform grid with dt = round(median dt / timestep) * timestep
    (`quaternions`: column groups slerped, see `resample`).
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
    return resample(episode, dt, quaternions=quaternions), Alignment(substeps, dt, True, note)


def signal_like(reference: Signal, values: np.ndarray) -> Signal:
    """A simulated signal with the columns, unit and frame of a recorded one."""
    return Signal(values, reference.columns, reference.unit, reference.frame)
