"""Execution: sharded jobs on a serial or a Ray backend, written atomically with a manifest.

`run_job(task, plan_shards(...), out)` runs every unfinished shard (a rerun skips finished ones),
picks serial below a job size and Ray above it (or on a cluster), and says which ran.
"""

from workbench.execute.backends import RayBackend, SerialBackend, ray_available
from workbench.execute.cache import cached
from workbench.execute.job import JobResult, choose_backend, run_job
from workbench.execute.shards import ShardResult, ShardSpec, plan_shards
from workbench.execute.store import ShardTask, run_shard
from workbench.execute.variants_task import ReplayVariantsTask, same_variants

__all__ = [
    "JobResult",
    "RayBackend",
    "ReplayVariantsTask",
    "SerialBackend",
    "ShardResult",
    "ShardSpec",
    "ShardTask",
    "cached",
    "choose_backend",
    "plan_shards",
    "ray_available",
    "run_job",
    "run_shard",
    "same_variants",
]
