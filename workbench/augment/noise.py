"""Sensor noise on the written variants: a spec's `[sensor_noise]` entries added to the signals
a dataset holds, after the simulation and its filters (which see the clean state).

A variant's noise is a function of its sample's sensor seed and each column's distribution
(`workbench.randomize.sampling.column_noise`), both kept in its provenance
(`transform["sensor_noise"]`), so `replay_provenance` adds the same noise again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench import schema
from workbench.episode import Episode
from workbench.errors import BindingError, ConfigError, DatasetError, name_list
from workbench.randomize.distributions import Distribution
from workbench.randomize.sampling import column_noise


@dataclasses.dataclass(frozen=True)
class SensorNoise:
    """One variant's sensor noise.

    Attributes:
      seed: the sample's sensor-noise seed (`Sample.sensor_seed`).
      columns: '<signal>/<column>' -> the distribution of the noise added to every sample of it.
    """

    seed: int
    columns: Mapping[str, Distribution]

    @classmethod
    def of(cls, spec, sample) -> SensorNoise | None:
        """The noise a RandomizationSpec gives a sample it drew (None without [sensor_noise])."""
        if not spec.sensor_noise:
            return None
        return cls(int(sample.sensor_seed), {n.key: n.distribution for n in spec.sensor_noise})

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "columns": {k: d.as_table() for k, d in sorted(self.columns.items())},
        }

    @classmethod
    def from_dict(cls, raw: Any, where: str = "provenance.transform.sensor_noise") -> SensorNoise:
        keys = ("seed", "columns")
        table = schema.table(raw, where, DatasetError, allowed=keys, required=keys)
        seed = table["seed"]  # up to 2**63: exact as a Python int, not through a float
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise DatasetError(f"{where}.seed: expected an integer >= 0, got {seed!r}")
        columns = table["columns"]
        if not isinstance(columns, Mapping) or not columns:
            raise DatasetError(f"{where}.columns: expected a non-empty table, got {columns!r}")
        try:
            dists = {
                str(k): Distribution.from_table(dict(v), f"{where}.columns[{k!r}]")
                for k, v in columns.items()
            }
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{where}.columns: expected distribution tables, got {exc}"
            ) from None
        except ConfigError as exc:  # a malformed table: here a problem of the dataset read
            raise DatasetError(str(exc)) from None
        return cls(int(seed), dists)

    def check(self, episode: Episode) -> None:
        """Raise BindingError if a column is not in the episode's signals."""
        for key in self.columns:
            signal, _, column = key.partition("/")
            sig = episode.signals.get(signal)
            if sig is None:
                raise BindingError(
                    f"sensor_noise {key!r}: episode {episode.id!r} has no signal {signal!r}; "
                    f"signals are {name_list(episode.signals)}"
                )
            if column not in sig.columns:
                raise BindingError(
                    f"sensor_noise {key!r}: signal {signal!r} of episode {episode.id!r} has no "
                    f"column {column!r}; columns are {name_list(sig.columns)}"
                )

    def applied(self, episode: Episode) -> Episode:
        """The episode with the noise added to its columns (the others untouched)."""
        self.check(episode)
        T = episode.num_samples
        values: dict[str, np.ndarray] = {}
        for key, dist in sorted(self.columns.items()):
            signal, _, column = key.partition("/")
            sig = episode.signals[signal]
            rows = values.setdefault(signal, sig.values.copy())
            rows[:, sig.columns.index(column)] += column_noise(self.seed, key, dist, T)
        signals = dict(episode.signals)
        for signal, rows in values.items():
            signals[signal] = dataclasses.replace(signals[signal], values=rows)
        return dataclasses.replace(episode, signals=signals)
