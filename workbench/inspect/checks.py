"""Quality checks of one recorded episode, as pure functions over its arrays.

Each returns `Flag`s: what is wrong (`kind`), how bad (`severity`: "warning" or "error"), where
(signal, column, first and last time [s], number of samples) and a sentence with the numbers.
Thresholds are module constants, chosen so that the shipped real recordings raise only their known
quirks (the Panda log's irregular sampling, the pendulum's occasional long step).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

JITTER_WARN = 0.01  # std(dt) / median(dt)
GAP_FACTOR = 1.5  # a step longer than this many median steps drops frames
FROZEN_SECONDS, FROZEN_SAMPLES = 0.2, 20  # a measured column constant at least this long
VELOCITY_RELATIVE_RMS = 0.5  # |recorded v - d(position)/dt| rms relative to the latter's rms
QUAT_NORM_WARN, QUAT_NORM_ERROR = 1e-3, 1e-2
SATURATION_FRACTION = 0.05  # samples within 0.5 % of the range at a bound
MAX_LOCATIONS = 10


@dataclasses.dataclass(frozen=True)
class Flag:
    """One finding. `start`/`end` are times [s] of the first and last affected sample."""

    kind: str
    severity: str
    message: str
    signal: str = ""
    column: str = ""
    start: float | None = None
    end: float | None = None
    samples: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _where(times: np.ndarray, runs: Sequence[tuple[int, int]]) -> str:
    shown = ", ".join(f"{times[a]:.4g}-{times[b]:.4g} s" for a, b in runs[:MAX_LOCATIONS])
    return shown + (f" and {len(runs) - MAX_LOCATIONS} more" if len(runs) > MAX_LOCATIONS else "")


def _run_flag(
    kind: str, severity: str, message: str, times: np.ndarray, runs, *, signal="", column=""
) -> Flag:
    """A flag located by (first, last) sample runs; `samples` counts their samples."""
    return Flag(
        kind,
        severity,
        message,
        signal=signal,
        column=column,
        start=float(times[runs[0][0]]),
        end=float(times[runs[-1][1]]),
        samples=sum(b - a + 1 for a, b in runs),
    )


def timing(times: np.ndarray) -> list[Flag]:
    """Irregular sampling (jitter) and gaps that drop frames."""
    dt = np.diff(times)
    if dt.size == 0:
        return []
    med = float(np.median(dt))
    flags = []
    jitter = float(np.std(dt) / med)
    if jitter > JITTER_WARN:
        off = np.abs(dt / med - 1) > 0.1
        flags.append(
            Flag(
                "irregular_sampling",
                "warning",
                f"irregular sampling: dt median {1e3 * med:.4g} ms, min {1e3 * dt.min():.4g} ms, "
                f"max {1e3 * dt.max():.4g} ms, std {100 * jitter:.2g} % of the median; "
                f"{int(off.sum())} of {dt.size} steps off by more than 10 %",
                start=float(times[0]),
                end=float(times[-1]),
                samples=int(off.sum()),
            )
        )
    gaps = np.flatnonzero(dt > GAP_FACTOR * med)
    if gaps.size:
        missing = int(np.sum(np.round(dt[gaps] / med) - 1))
        runs = [(int(i), int(i) + 1) for i in gaps]
        flags.append(
            Flag(
                "dropped_frames",
                "warning",
                f"{gaps.size} gaps longer than {GAP_FACTOR} x the median step ({missing} frames "
                f"missing, longest {1e3 * dt[gaps].max():.4g} ms) at {_where(times, runs)}",
                start=float(times[gaps[0]]),
                end=float(times[gaps[-1] + 1]),
                samples=missing,
            )
        )
    return flags


def duplicate_frames(times: np.ndarray, values: np.ndarray) -> list[Flag]:
    """Consecutive samples whose every recorded value is identical (a stale frame resent)."""
    same = np.all(np.diff(values, axis=0) == 0, axis=1)
    runs = _runs(same)
    if not runs:
        return []
    n = int(same.sum())
    return [
        Flag(
            "duplicate_frames",
            "warning",
            f"{n} samples repeat the previous one in every column, at {_where(times, runs)}",
            start=float(times[runs[0][0] + 1]),
            end=float(times[runs[-1][1] + 1]),
            samples=n,
        )
    ]


def frozen(times: np.ndarray, values: np.ndarray, *, signal: str, columns: Sequence[str]):
    """Columns of a measured signal that stay exactly constant for a long stretch."""
    flags = []
    dt = float(np.median(np.diff(times))) if times.size > 1 else 0.0
    least = max(FROZEN_SAMPLES, int(np.ceil(FROZEN_SECONDS / dt)) if dt > 0 else FROZEN_SAMPLES)
    for j, col in enumerate(columns):
        x = values[:, j]
        same = np.diff(x) == 0
        runs = [(a, b + 1) for a, b in _runs(same) if b + 2 - a >= least]
        runs = [(a, b) for a, b in runs if np.isfinite(x[a])]
        if runs:
            n = sum(b - a + 1 for a, b in runs)
            message = (
                f"{signal}[{col}] stays at exactly the same value for {n} samples "
                f"(>= {least} in a row) at {_where(times, runs)}"
            )
            flags.append(
                _run_flag("frozen", "warning", message, times, runs, signal=signal, column=col)
            )
    return flags


def missing_values(times: np.ndarray, values: np.ndarray, *, signal: str, columns: Sequence[str]):
    """Runs of NaN/Inf (dropouts) per column."""
    flags = []
    for j, col in enumerate(columns):
        runs = _runs(~np.isfinite(values[:, j]))
        if runs:
            n = sum(b - a + 1 for a, b in runs)
            message = (
                f"{signal}[{col}] has {n} NaN/Inf samples in {len(runs)} runs at "
                f"{_where(times, runs)}"
            )
            flags.append(
                _run_flag("dropout", "error", message, times, runs, signal=signal, column=col)
            )
    return flags


def velocity_consistency(
    times: np.ndarray,
    position: np.ndarray,
    velocity: np.ndarray,
    *,
    columns: Sequence[str],
) -> list[Flag]:
    """Recorded velocity vs the time derivative of the recorded position, per column pair
    (position and velocity columns of the same coordinate, e.g. a hinge angle and its rate).

    Flags a sign flip (correlation < -0.5) as an error, a gain other than 1 (e.g. deg/s against
    rad) or a poor match (relative rms > 0.5) as a warning."""
    flags = []
    derivative = np.gradient(position, times, axis=0)
    for j, col in enumerate(columns):
        d, v = derivative[:, j], velocity[:, j]
        ok = np.isfinite(d) & np.isfinite(v)
        d, v = d[ok], v[ok]
        scale = float(np.sqrt(np.mean(d**2))) if d.size else 0.0
        if scale < 1e-9 or np.std(v) == 0:
            continue
        corr = float(np.corrcoef(d, v)[0, 1])
        gain = float(np.dot(d, v) / np.dot(d, d))
        rel = float(np.sqrt(np.mean((v - d) ** 2)) / scale)
        where = dict(signal="qvel", column=col, start=float(times[0]), end=float(times[-1]))
        if corr < -0.5:
            flags.append(
                Flag(
                    "velocity_sign",
                    "error",
                    f"qvel[{col}] runs against d qpos[{col}]/dt (correlation {corr:.3f}, gain "
                    f"{gain:.3g}): sign flipped",
                    samples=int(ok.sum()),
                    **where,
                )
            )
        elif abs(gain - 1) > 0.2 or rel > VELOCITY_RELATIVE_RMS:
            flags.append(
                Flag(
                    "velocity_mismatch",
                    "warning",
                    f"qvel[{col}] vs d qpos[{col}]/dt: gain {gain:.3g} (expected 1), correlation "
                    f"{corr:.3f}, relative rms difference {rel:.2f}",
                    samples=int(ok.sum()),
                    **where,
                )
            )
    return flags


def quaternion_norms(times: np.ndarray, quat: np.ndarray, *, signal: str, column: str):
    """Unit-norm check of a (T, 4) quaternion block."""
    norm = np.linalg.norm(quat, axis=1)
    dev = np.abs(norm - 1)
    bad = dev > QUAT_NORM_WARN
    if not np.any(bad):
        return []
    worst = int(np.nanargmax(dev))
    severity = "error" if dev[worst] > QUAT_NORM_ERROR else "warning"
    runs = _runs(bad)
    return [
        Flag(
            "quaternion_norm",
            severity,
            f"{signal}[{column}] quaternion norm off 1 by up to {dev[worst]:.3g} (norm "
            f"{norm[worst]:.6g} at {times[worst]:.4g} s), {int(bad.sum())} samples, at "
            f"{_where(times, runs)}",
            signal=signal,
            column=column,
            start=float(times[runs[0][0]]),
            end=float(times[runs[-1][1]]),
            samples=int(bad.sum()),
        )
    ]


def range_violations(
    times: np.ndarray,
    x: np.ndarray,
    lower: float,
    upper: float,
    *,
    signal: str,
    column: str,
    what: str,
    tolerance: float = 1e-3,
) -> list[Flag]:
    """Samples outside [lower, upper] (error) and saturation at a bound (warning)."""
    flags = []
    outside = (x < lower - tolerance) | (x > upper + tolerance)
    runs = _runs(outside)
    where = dict(signal=signal, column=column)
    if runs:
        flags.append(
            Flag(
                f"{what}_violation",
                "error",
                f"{signal}[{column}] leaves the {what} [{lower:.4g}, {upper:.4g}] in "
                f"{int(outside.sum())} samples (extreme {x[outside][np.argmax(np.abs(x[outside]))]:.4g})"
                f" at {_where(times, runs)}",
                start=float(times[runs[0][0]]),
                end=float(times[runs[-1][1]]),
                samples=int(outside.sum()),
                **where,
            )
        )
    band = 0.005 * (upper - lower)
    at_bound = ~outside & ((x <= lower + band) | (x >= upper - band))
    if at_bound.mean() > SATURATION_FRACTION:
        runs = _runs(at_bound)
        flags.append(
            Flag(
                f"{what}_saturation",
                "warning",
                f"{signal}[{column}] sits at a bound of its {what} [{lower:.4g}, {upper:.4g}] in "
                f"{100 * at_bound.mean():.1f} % of samples, at {_where(times, runs)}",
                start=float(times[runs[0][0]]),
                end=float(times[runs[-1][1]]),
                samples=int(at_bound.sum()),
                **where,
            )
        )
    return flags


def outliers(values: dict[str, float], *, metric: str, z: float = 3.5) -> list[tuple[str, float]]:
    """Episodes whose `metric` is far from the dataset's (robust z-score over the median absolute
    deviation above `z`): [(episode id, score)]. Needs at least 5 episodes."""
    ids = [k for k, v in values.items() if np.isfinite(v)]
    if len(ids) < 5:
        return []
    x = np.array([values[k] for k in ids])
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad == 0:
        return []
    score = 0.6745 * (x - med) / mad
    return [(k, float(s)) for k, s in zip(ids, score, strict=True) if s > z]
