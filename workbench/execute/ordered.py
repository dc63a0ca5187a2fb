"""Shard results in job order: backends finish shards in any order (Ray runs the longest
first), a merge that streams its output needs them in the order the job lists them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from workbench.errors import SettingsError
from workbench.execute.shards import ShardResult, ShardSpec


class Merger(Protocol):
    """What `ShardTask.merger(out, shards)` returns for `run_job`: `add` every shard's result
    (in any order; skipped shards' first), `finish()` once all are added (its return value is
    the job's `finalized`), `abort()` if the job fails."""

    def add(self, result: ShardResult) -> None: ...

    def finish(self) -> object: ...

    def abort(self) -> None: ...


class InOrder:
    """Takes results in any order and hands each to `take` in job order, as soon as all the
    shards before it have been handed over; holds only the results (not their files) of the
    shards that finished early."""

    def __init__(self, shards: Sequence[ShardSpec], take: Callable[[ShardResult], None]) -> None:
        self._position = {s: i for i, s in enumerate(shards)}
        self._take = take
        self._waiting: dict[int, ShardResult] = {}
        self._next = 0

    def add(self, result: ShardResult) -> None:
        i = self._position.get(result.shard)
        if i is None or i < self._next or i in self._waiting:
            raise SettingsError(f"shard {result.shard.name}: not in this job, or added twice")
        self._waiting[i] = result
        while self._next in self._waiting:
            self._take(self._waiting.pop(self._next))
            self._next += 1

    @property
    def complete(self) -> bool:
        """Whether every shard has been handed over."""
        return self._next == len(self._position)


def add_all(merger: Any, items: Iterable[Any]) -> Any:
    """`merger.add` each item, then `merger.finish()` (returned); `merger.abort()` and re-raise
    if any of it fails (a merge of everything at once)."""
    try:
        for item in items:
            merger.add(item)
    except BaseException:
        merger.abort()
        raise
    return merger.finish()
