"""Checks on the values of one recorded episode before it becomes an `Episode`.

The time axis must be finite, plausible (|t| <= MAX_ABS_TIME_S), strictly increasing and free of
clock jumps; signal values finite after scaling; declared quaternions of unit norm. Every message
names `where` (file and episode), the column, the file row and the offending value.

Default clock-jump rule, measured on the real datasets (largest step / median step): double
pendulum 1.0-1.85, Panda excitation log 8.8 (1 kHz with 8.8 ms hiccups), Kinova push 1.0,
cube tosses 1.0 (rate-based axis). A step is a jump when it exceeds
max(GAP_FACTOR * typical step, GAP_FLOOR_S), the typical step being the lower median step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.episode import check_increasing
from workbench.errors import EpisodeError

MAX_ABS_TIME_S = 1e10  # ~300 years: Unix-epoch seconds pass, epoch milliseconds unscaled do not
GAP_FACTOR = 20.0
GAP_FLOOR_S = 0.05
QUAT_NORM_TOL = 1e-2


def typical_step(times: np.ndarray) -> float:
    """Lower median of the steps of an increasing (T,) time axis [s] (T >= 2)."""
    steps = np.diff(times)
    return float(np.partition(steps, (steps.size - 1) // 2)[(steps.size - 1) // 2])


def default_max_gap(times: np.ndarray) -> float:
    """Largest step [s] allowed when the mapping sets no `time.max_gap_s`."""
    return max(GAP_FACTOR * typical_step(times), GAP_FLOOR_S)


def check_times(
    times: np.ndarray,
    rows: np.ndarray,
    *,
    where: str,
    source: str,
    max_gap_s: float | None = None,
    mapping: str = "the mapping",
) -> None:
    """Raise EpisodeError unless `times` (T,) [s] is a usable time axis.

    Args:
      rows: (T,) file row of each sample, for the messages.
      source: how the times were made, e.g. "column 't' * 0.001".
      max_gap_s: largest step allowed; None: `default_max_gap`.
      mapping: the mapping file, named in the hint for `max_gap_s`.
    """
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        i = int(bad[0])
        raise EpisodeError(
            f"{where}: times: expected finite values, got {times[i]} at row {rows[i]} ({source})"
        )
    bad = np.flatnonzero(np.abs(times) > MAX_ABS_TIME_S)
    if bad.size:
        i = int(bad[0])
        raise EpisodeError(
            f"{where}: times: expected |t| <= {MAX_ABS_TIME_S:g} s, got {float(times[i])!r} at row "
            f"{rows[i]} ({source}); check the time column and `time.scale` in {mapping}"
        )
    check_increasing(times, where=where, rows=rows, source=source)
    steps = np.diff(times)
    if times.size < 3 and max_gap_s is None:
        return  # one step: nothing to compare it with
    limit = default_max_gap(times) if max_gap_s is None else max_gap_s
    bad = np.flatnonzero(steps > limit)
    if bad.size:
        i = int(bad[0])
        rule = (
            f"time.max_gap_s = {max_gap_s:g} s"
            if max_gap_s is not None
            else f"the default limit max({GAP_FACTOR:g} x typical step, {GAP_FLOOR_S:g} s) = "
            f"{limit:.6g} s"
        )
        raise EpisodeError(
            f"{where}: times: clock jump of {steps[i]:.6g} s between rows {rows[i]} and "
            f"{rows[i + 1]} (t = {times[i]:.6g} -> {times[i + 1]:.6g} s; typical step "
            f"{typical_step(times):.6g} s) exceeds {rule}; a replay would interpolate across it. "
            f"Split the recording there, or allow it with `[time] max_gap_s = <seconds>` "
            f"(above {steps[i]:.6g}) in {mapping}"
        )


def check_finite(
    values: np.ndarray,
    raw: np.ndarray,
    rows: np.ndarray,
    times: np.ndarray,
    *,
    where: str,
    signal: str,
    names: Sequence[str],
    columns: Sequence[str],
) -> None:
    """Raise EpisodeError if a converted value in (T, k) `values` is NaN or infinite.

    Args:
      raw: (T, k) values as read, to tell a bad cell from an overflow of the conversion.
      names: k signal column names; columns: k raw column names.
    """
    finite = np.isfinite(values)
    if finite.all():
        return
    r, c = (int(i) for i in np.argwhere(~finite)[0])
    raw_note = "" if names[c] == columns[c] else f", raw column {columns[c]!r}"
    if np.isfinite(raw[r, c]):
        raw_note += f", raw value {float(raw[r, c])!r} overflowed in scale/offset/unit conversion"
    raise EpisodeError(
        f"{where}: signal {signal!r} column {names[c]!r}: expected finite values, got "
        f"{values[r, c]} at row {rows[r]} (t={times[r]:.6g} s{raw_note})"
    )


def check_quaternions(
    values: np.ndarray,
    positions: Sequence[int],
    rows: np.ndarray,
    times: np.ndarray,
    *,
    where: str,
    signal: str,
    columns: Sequence[str],
    tolerance: float = QUAT_NORM_TOL,
) -> None:
    """Raise EpisodeError unless the quaternion in `positions` of (T, k) `values` has unit norm
    (|norm - 1| <= tolerance) on every row; `columns`: the k raw column names."""
    norms = np.linalg.norm(values[:, list(positions)], axis=1)
    bad = np.flatnonzero(~(np.abs(norms - 1.0) <= tolerance))
    if not bad.size:
        return
    i = int(bad[0])
    quat = [columns[p] for p in positions]
    got = "an all-zero quaternion" if norms[i] == 0 else f"norm {norms[i]:.6g}"
    raise EpisodeError(
        f"{where}: signal {signal!r} quaternion columns {quat} (quat_xyzw = {list(positions)}): "
        f"expected unit norm (|norm - 1| <= {tolerance:g}), got {got} at row {rows[i]} "
        f"(t={times[i]:.6g} s; {bad.size} of {norms.size} rows off)"
    )
