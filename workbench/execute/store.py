"""The job folder: finished shards written atomically, a job fingerprint, and the manifest.

    OUT/job.json                the job's fingerprint (a rerun with other inputs is refused)
    OUT/shards/<name>/          one finished shard: its files and `result.json`
    OUT/shards/.tmp-<name>-*    a shard being written (renamed into place when complete)
    OUT/manifest.json           shards, counts and rejections (rewritten as shards finish)

A shard's folder appears by one `rename` of a complete folder, so it is either absent or whole;
a retried or duplicated shard finds its name taken and drops its copy (same inputs, same bytes).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from workbench.datasets.provenance import dumps
from workbench.errors import OutputError
from workbench.execute.cache import worker_info
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.output import atomic_write_text

RESULT = "result.json"


class ShardTask(Protocol):
    """What an executor runs: picklable, with a JSON fingerprint of everything that sets its
    outputs, writing one shard's files into a given (temporary) folder. Optional: `check()`,
    `finalize(out, results)` or `merger(out, shards)` (a streaming merge fed as shards finish:
    see `run_job`), `shard_cost(shard)` (relative run time, for scheduling)."""

    def fingerprint(self) -> Mapping[str, Any]: ...

    def __call__(self, shard: ShardSpec, folder: Path) -> ShardResult: ...


def shard_folder(out: Path, shard: ShardSpec) -> Path:
    return Path(out) / "shards" / shard.name


def finished(out: Path, shard: ShardSpec) -> ShardResult | None:
    """The result of a finished shard, or None."""
    path = shard_folder(out, shard) / RESULT
    try:
        return ShardResult.from_dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return None


def run_shard(task: ShardTask, shard: ShardSpec, out: str | Path) -> ShardResult:
    """Run one shard unless it is finished; its folder appears whole or not at all."""
    out = Path(out)
    done = finished(out, shard)
    if done is not None:
        return done
    shards = out / "shards"
    shards.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{shard.name}-", dir=shards))
    try:
        start, cpu = time.perf_counter(), time.process_time()
        result = task(shard, tmp)
        result = ShardResult(
            shard,
            result.variants,
            result.accepted,
            dict(result.rejected),
            result.files,
            round(time.perf_counter() - start, 6),
            {
                **worker_info(),
                "cpu_s": round(time.process_time() - cpu, 6),
                **dict(result.worker),
            },
        )
        (tmp / RESULT).write_text(json.dumps(result.to_dict(), indent=1) + "\n")
        try:
            os.rename(tmp, shard_folder(out, shard))
        except OSError:  # a duplicate finished first: keep its (identical) files
            shutil.rmtree(tmp, ignore_errors=True)
            again = finished(out, shard)
            if again is None:
                raise
            return again
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def open_job(out: str | Path, fingerprint: Mapping[str, Any]) -> Path:
    """Create or reopen the job folder; refuse one that holds another job's shards."""
    out = Path(out)
    path = out / "job.json"
    text = json.dumps(json.loads(dumps(dict(fingerprint))), indent=1, sort_keys=True) + "\n"
    if path.exists():
        if path.read_text() != text:
            raise OutputError(
                f"{out}: holds shards of another job ({path} differs: other inputs, variants or "
                "settings); use a new output folder or delete this one"
            )
    else:
        if (out / "shards").exists():
            raise OutputError(f"{out}: has shards/ but no job.json; use a new output folder")
        atomic_write_text(path, text)
    clean_partial(out)
    return out


def clean_partial(out: Path) -> int:
    """Remove shard folders left half-written by a killed worker; how many were removed."""
    n = 0
    for tmp in (Path(out) / "shards").glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        n += 1
    return n


def write_manifest(
    out: Path,
    shards: Sequence[ShardSpec],
    results: Mapping[ShardSpec, ShardResult],
    *,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """`OUT/manifest.json`: every shard (finished or pending), counts and rejections."""
    rejected: dict[str, int] = {}
    rows = []
    for shard in shards:
        r = results.get(shard)
        if r is None:
            rows.append({"shard": shard.name, **shard.to_dict(), "status": "pending"})
            continue
        rows.append({**r.to_dict(), "status": "finished"})
        for reason, n in r.rejected.items():
            rejected[reason] = rejected.get(reason, 0) + n
    done = [results[s] for s in shards if s in results]
    manifest = {
        "shards_total": len(shards),
        "shards_finished": len(done),
        "variants": sum(s.size for s in shards),
        "variants_done": sum(r.variants for r in done),
        "accepted": sum(r.accepted for r in done),
        "rejected": dict(sorted(rejected.items())),
        **dict(extra or {}),
        "shards": rows,
    }
    return atomic_write_text(Path(out) / "manifest.json", json.dumps(manifest, indent=1) + "\n")


ProgressFn = Callable[[ShardResult, int, int], None]
