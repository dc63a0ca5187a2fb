"""The validated in-memory episode: a time axis plus named, unit-carrying signals."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from workbench.errors import EpisodeError


def _floats(values: Any, where: str) -> np.ndarray:
    """A float64 copy of `values`; EpisodeError (not ValueError/TypeError) if not numeric."""
    try:
        return np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise EpisodeError(
            f"{where}: expected numbers, got {type(values).__name__} ({exc})"
        ) from None


def check_increasing(
    times: np.ndarray, *, where: str, rows: np.ndarray | None = None, source: str = ""
) -> None:
    """Raise EpisodeError at the first step of (T,) `times` that is not strictly increasing,
    naming both times and their rows (`rows`: file rows of the samples; default 0..T-1)."""
    steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        r = rows if rows is not None else np.arange(times.size)
        kind = "duplicate" if steps[i] == 0 else "decreasing"
        note = f" ({source})" if source else ""
        raise EpisodeError(
            f"{where}: times: expected strictly increasing, got {kind} time "
            f"{float(times[i])!r} -> {float(times[i + 1])!r} at rows {r[i]}->{r[i + 1]}{note}"
        )


@dataclasses.dataclass(frozen=True)
class Signal:
    """One named signal of an episode.

    Attributes:
      values: (T, k) float64 samples on the episode's time axis.
      columns: k column names. For model-bound signals these are MuJoCo addresses
        (`joint`, `joint[i]` for multi-dof joints, actuator names).
      unit: free-text unit, e.g. "rad", "m", "N m".
      frame: free-text frame, e.g. "world", "joint".
    """

    values: np.ndarray
    columns: tuple[str, ...]
    unit: str = ""
    frame: str = ""

    def __post_init__(self) -> None:
        values = _floats(self.values, "signal values")
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise EpisodeError(f"signal values: expected shape (T, k), got {values.shape}")
        if isinstance(self.columns, str) or not isinstance(self.columns, (list, tuple, np.ndarray)):
            raise EpisodeError(
                f"signal columns: expected a list of names, got "
                f"{type(self.columns).__name__} {self.columns!r}"
            )
        columns = tuple(str(c) for c in self.columns)
        if len(columns) != values.shape[1]:
            raise EpisodeError(
                f"signal columns: expected {values.shape[1]} names for shape {values.shape}, "
                f"got {len(columns)}: {list(columns)}"
            )
        if len(set(columns)) != len(columns):
            dup = sorted({c for c in columns if columns.count(c) > 1})
            raise EpisodeError(f"signal columns: expected unique names, duplicated {dup}")
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "columns", columns)

    def column(self, name: str) -> np.ndarray:
        """(T,) samples of one column."""
        try:
            return self.values[:, self.columns.index(name)]
        except ValueError:
            raise EpisodeError(
                f"column {name!r} not in signal; columns are {list(self.columns)}"
            ) from None


@dataclasses.dataclass(frozen=True)
class Episode:
    """A recorded (or simulated) episode.

    Attributes:
      id: identifier, unique within a dataset (e.g. "toss_0012").
      times: (T,) seconds, strictly increasing, finite.
      signals: name -> Signal, every signal with T rows. Names follow the model binding:
        `qpos`, `qvel`, `ctrl`, `qfrc_actuator`, `sensor:<name>`, `body_pose:<body>`.
      metadata: source, robot, task, fps, license, ... (JSON-serialisable values).
    """

    id: str
    times: np.ndarray
    signals: Mapping[str, Signal]
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"episode {self.id!r}"
        if not isinstance(self.id, str) or not self.id:
            raise EpisodeError(f"{where}: id: expected a non-empty string, got {self.id!r}")
        times = _floats(self.times, f"{where}: times").reshape(-1)
        for name, value in (("signals", self.signals), ("metadata", self.metadata)):
            if not isinstance(value, Mapping):
                raise EpisodeError(
                    f"{where}: {name}: expected a mapping of names, got {type(value).__name__}"
                )
        if times.size < 2:
            raise EpisodeError(f"{where}: times: expected at least 2 samples, got {times.size}")
        bad = np.flatnonzero(~np.isfinite(times))
        if bad.size:
            raise EpisodeError(
                f"{where}: times: expected finite values, got {times[bad[0]]} at row {bad[0]}"
            )
        check_increasing(times, where=where)
        for name, sig in self.signals.items():
            if not isinstance(sig, Signal):
                raise EpisodeError(f"{where}: signal {name!r}: expected Signal, got {type(sig)}")
            if sig.values.shape[0] != times.size:
                raise EpisodeError(
                    f"{where}: signal {name!r}: expected {times.size} rows (len(times)), "
                    f"got {sig.values.shape[0]}"
                )
            finite = np.isfinite(sig.values)
            if not finite.all():
                row, col = np.argwhere(~finite)[0]
                raise EpisodeError(
                    f"{where}: signal {name!r} column {sig.columns[col]!r}: expected finite "
                    f"values, got {sig.values[row, col]} at row {row} (t={times[row]:.6g} s)"
                )
        times.flags.writeable = False
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "signals", MappingProxyType(dict(self.signals)))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return float(self.times[-1] - self.times[0])

    @property
    def num_samples(self) -> int:
        return int(self.times.size)

    def signal(self, name: str) -> Signal:
        """The named signal; a missing name lists the ones present."""
        try:
            return self.signals[name]
        except KeyError:
            raise EpisodeError(
                f"episode {self.id!r}: signal {name!r} missing; signals are {sorted(self.signals)}"
            ) from None

    def slice(self, start: int, stop: int) -> Episode:
        """Rows [start, stop) as a new episode (at least 2 rows)."""
        signals = {
            k: dataclasses.replace(s, values=s.values[start:stop]) for k, s in self.signals.items()
        }
        return Episode(self.id, self.times[start:stop], signals, self.metadata)

    def with_signals(self, **signals: Signal) -> Episode:
        """A copy with signals added or replaced."""
        return dataclasses.replace(self, signals={**self.signals, **signals})
