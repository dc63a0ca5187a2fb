"""Backends that run shards: serial (in this process) and Ray (local or a cluster).

Both call `run_shard`, so a shard is written the same way whichever ran it; Ray retries a shard
whose worker process died (`max_retries`), and the atomic shard folder makes a retry harmless.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.errors import SettingsError
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.execute.store import ShardTask, run_shard

OnDone = Callable[[ShardResult], None]


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class SerialBackend:
    """Shards one after another in this process (notebooks, tests, debugging, small jobs)."""

    name = "serial"

    def run(self, task: ShardTask, shards: Sequence[ShardSpec], out: Path, on_done: OnDone) -> None:
        for shard in shards:
            on_done(run_shard(task, shard, out))


def longest_first(task: ShardTask, shards: Sequence[ShardSpec]) -> list[ShardSpec]:
    """Shards in decreasing order of `task.shard_cost(shard)` (default: variants), ties in
    job order: workers that take the longest shards first finish together (a short tail)."""
    cost = getattr(task, "shard_cost", None) or (lambda shard: shard.size)
    return sorted(shards, key=cost, reverse=True)


def _remote_shard(task: ShardTask, shard: ShardSpec, out: str) -> dict[str, Any]:
    return run_shard(task, shard, out).to_dict()


@dataclasses.dataclass(frozen=True)
class RayBackend:
    """Shards as Ray tasks (one CPU each), submitted longest first (`longest_first`).

    Attributes:
      address: a cluster to join (`ray://...`, `host:port` or "auto"); default `RAY_ADDRESS`,
        else an embedded local Ray started with `num_cpus` and no dashboard. A Ray already
        initialised in this process is used as is (and left running).
      num_cpus: CPUs of the embedded local Ray (default: all of this machine's).
      max_retries: times a shard is retried after its worker process died.
      runtime_env: Ray runtime_env for the workers (e.g. {"py_modules": ["dist/workbench.whl"]}).
    """

    address: str | None = None
    num_cpus: int | None = None
    max_retries: int = 3
    runtime_env: Mapping[str, Any] | None = None
    name = "ray"

    def run(self, task: ShardTask, shards: Sequence[ShardSpec], out: Path, on_done: OnDone) -> None:
        try:
            import ray
        except ImportError:
            raise SettingsError(
                "--backend ray: ray is not installed; pip install 'workbench[ray]'"
            ) from None
        started = False
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            env = dict(self.runtime_env) if self.runtime_env else None
            if address:
                ray.init(address=address, runtime_env=env)
            else:
                ray.init(
                    num_cpus=self.num_cpus or os.cpu_count(),
                    include_dashboard=False,
                    runtime_env=env,
                )
            started = True
        pending: dict[Any, ShardSpec] = {}
        try:
            remote = ray.remote(num_cpus=1, max_retries=self.max_retries)(_remote_shard)
            task_ref = ray.put(task)
            folder = str(Path(out).absolute())
            pending = {remote.remote(task_ref, s, folder): s for s in longest_first(task, shards)}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    pending.pop(ref)
                    on_done(ShardResult.from_dict(ray.get(ref)))
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()
