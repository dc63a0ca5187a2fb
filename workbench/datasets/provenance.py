"""Provenance: where a written variant came from, exactly enough to regenerate it."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from workbench.errors import DatasetError


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces; floats as `repr`, which round-trips exactly)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Where one written episode came from.

    Attributes:
      source_episode: id of the recorded episode it was derived from.
      variant: variant index within that source episode (None for an unmodified copy).
      seed: the seed the variant was drawn with (None when values were given explicitly).
      transform: the transform applied to the recording (JSON-serialisable; {} for none).
      params: the exact physics values by MuJoCo name the variant was simulated with.
    """

    source_episode: str
    variant: int | None = None
    seed: int | None = None
    transform: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = "provenance"
        if not isinstance(self.source_episode, str) or not self.source_episode:
            raise DatasetError(
                f"{where}.source_episode: expected a non-empty string, got {self.source_episode!r}"
            )
        for key in ("variant", "seed"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise DatasetError(f"{where}.{key}: expected an integer or None, got {value!r}")
        params = {}
        for name, value in dict(self.params).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DatasetError(f"{where}.params[{name!r}]: expected a number, got {value!r}")
            if not math.isfinite(value):
                raise DatasetError(f"{where}.params[{name!r}]: expected finite, got {value!r}")
            params[str(name)] = float(value)
        try:
            transform = json.loads(dumps(dict(self.transform)))
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{where}.transform: expected JSON-serialisable, got {exc}"
            ) from None
        object.__setattr__(self, "params", MappingProxyType(params))
        object.__setattr__(self, "transform", MappingProxyType(transform))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_episode": self.source_episode,
            "variant": self.variant,
            "seed": self.seed,
            "transform": dict(self.transform),
            "params": dict(self.params),
        }

    @classmethod
    def from_dict(cls, raw: Any, where: str = "provenance") -> Provenance:
        if not isinstance(raw, Mapping):
            raise DatasetError(f"{where}: expected a table, got {type(raw).__name__}")
        unknown = sorted(set(raw) - {"source_episode", "variant", "seed", "transform", "params"})
        if unknown:
            raise DatasetError(f"{where}: unknown keys {unknown}")
        try:
            return cls(
                raw["source_episode"],
                raw.get("variant"),
                raw.get("seed"),
                raw.get("transform") or {},
                raw.get("params") or {},
            )
        except KeyError:
            raise DatasetError(f"{where}: missing key 'source_episode'") from None
