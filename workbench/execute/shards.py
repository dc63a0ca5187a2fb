"""Shards: the unit of work, keyed by (episode, variant range), and what finishing one produced."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from workbench.errors import SettingsError


@dataclasses.dataclass(frozen=True, order=True)
class ShardSpec:
    """Variants [start, stop) of source episode number `episode` (its index in the job's list)."""

    episode: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        """Deterministic file name: `e00003-v000100-000150`."""
        return f"e{self.episode:05d}-v{self.start:06d}-{self.stop:06d}"

    @property
    def size(self) -> int:
        return self.stop - self.start

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ShardResult:
    """What one finished shard produced.

    Attributes:
      shard: the shard.
      variants: variants attempted (= shard.size).
      accepted: variants written.
      rejected: reason -> count of variants not written (e.g. {"diverged": 2}).
      files: files written, relative to the shard's folder.
      seconds: wall time of the shard [s].
      worker: {"pid": ..., "host": ..., ...} of the process that ran it (diagnostics only).
    """

    shard: ShardSpec
    variants: int
    accepted: int
    rejected: Mapping[str, int]
    files: tuple[str, ...] = ()
    seconds: float = 0.0
    worker: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shard": self.shard.name,
            **self.shard.to_dict(),
            "variants": self.variants,
            "accepted": self.accepted,
            "rejected": dict(sorted(self.rejected.items())),
            "files": list(self.files),
            "seconds": self.seconds,
            "worker": dict(self.worker),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ShardResult:
        return cls(
            ShardSpec(raw["episode"], raw["start"], raw["stop"]),
            raw["variants"],
            raw["accepted"],
            dict(raw["rejected"]),
            tuple(raw["files"]),
            raw.get("seconds", 0.0),
            dict(raw.get("worker", {})),
        )


def plan_shards(variants_per_episode: Sequence[int], shard_size: int) -> list[ShardSpec]:
    """Shards of at most `shard_size` variants, episode by episode, in a fixed order."""
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise SettingsError(f"--shard-size: expected an integer >= 1, got {shard_size!r}")
    shards = []
    for e, n in enumerate(variants_per_episode):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise SettingsError(f"variants of episode {e}: expected an integer >= 0, got {n!r}")
        shards += [ShardSpec(e, s, min(s + shard_size, n)) for s in range(0, n, shard_size)]
    return shards
