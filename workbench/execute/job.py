"""Run a sharded job: skip finished shards, pick a backend, show progress, write the manifest."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from workbench import schema
from workbench.errors import SettingsError
from workbench.execute.backends import RayBackend, SerialBackend, ray_available
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.execute.store import (
    ShardTask,
    clean_partial,
    finished,
    open_job,
    write_manifest,
)
from workbench.output import check_output_folder

BACKENDS = ("auto", "serial", "ray")
SERIAL_BELOW = 400  # variants: below this an embedded Ray's ~17 s start costs more than it saves


@dataclasses.dataclass(frozen=True)
class JobResult:
    """A finished job: which backend ran, every shard's result, and what finalize wrote."""

    out: Path
    backend: str
    reason: str
    shards: tuple[ShardSpec, ...]
    results: Mapping[ShardSpec, ShardResult]
    skipped: int
    seconds: float
    finalized: Mapping[str, Any] | None

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.results.values())

    @property
    def rejected(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results.values():
            for reason, n in r.rejected.items():
                out[reason] = out.get(reason, 0) + n
        return dict(sorted(out.items()))


def choose_backend(
    backend: str,
    variants: int,
    *,
    ray_address: str | None = None,
    num_cpus: int | None = None,
    serial_below: int = SERIAL_BELOW,
) -> tuple[SerialBackend | RayBackend, str]:
    """The backend to use and why (said to the user)."""
    schema.string(backend, "--backend", SettingsError, choices=BACKENDS)
    address = ray_address or os.environ.get("RAY_ADDRESS") or None
    if backend == "serial":
        if ray_address:
            raise SettingsError("--ray-address: given with --backend serial; drop one of them")
        return SerialBackend(), "asked for"
    if backend == "ray" or address:
        if not ray_available():
            raise SettingsError("--backend ray: ray is not installed; pip install 'workbench[ray]'")
        if address:
            check_ray_address(address)
        why = f"cluster at {address}" if address else "asked for"
        return RayBackend(address=address, num_cpus=num_cpus), why
    if not ray_available():
        return SerialBackend(), "ray is not installed"
    if variants < serial_below:
        return (
            SerialBackend(),
            f"{variants} variants to run < {serial_below} (Ray's start costs more)",
        )
    return RayBackend(num_cpus=num_cpus), f"{variants} variants to run >= {serial_below}"


def check_ray_address(address: str, *, timeout: float = 5.0) -> None:
    """SettingsError unless something answers at a `host:port` (or `ray://host:port`) Ray
    address within `timeout` [s]: `ray.init` would otherwise retry an unreachable cluster for
    minutes. "auto" and "local" are left to Ray; so is any address while this process is
    already connected to a Ray."""
    ray = sys.modules.get("ray")
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        if address in ("auto", "local"):
            return
        raise SettingsError(
            "--ray-address: expected host:port (port 1-65535), ray://host:port, auto or local, "
            f"got {address!r}"
        )
    import socket

    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise SettingsError(
            f"--ray-address {address}: no Ray cluster answers there ({exc}); start one with "
            "`ray start --head`, fix the address (or RAY_ADDRESS), or leave it out for an "
            "embedded local Ray"
        ) from None


def run_job(
    task: ShardTask,
    shards: Sequence[ShardSpec],
    out: str | Path,
    *,
    backend: str = "auto",
    ray_address: str | None = None,
    num_cpus: int | None = None,
    serial_below: int = SERIAL_BELOW,
    progress: bool = True,
    on_shard: Callable[[ShardResult], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> JobResult:
    """Run every unfinished shard of `task`, then `task.finalize(out, results)` if it has one.

    Args:
      task: picklable callable (shard, folder) -> ShardResult with `fingerprint()`; its
        optional `check()` runs first, `finalize(out, results)` last; or, in place of
        `finalize`, `merger(out, shards)` (a `workbench.execute.ordered.Merger`), given each
        shard's result here as it finishes (skipped shards' first) and finished last, so a
        task streams its merged output while shards still run.
      shards: the job's shards (`plan_shards`); their names fix the file names.
      out: job folder (see `workbench.execute.store`); a rerun skips finished shards.
      backend: "auto" (serial below `serial_below` variants, else Ray; Ray when an address is
        given), "serial" or "ray".
      ray_address: a Ray cluster (default `RAY_ADDRESS`; none: an embedded local Ray).
      num_cpus: CPUs of an embedded local Ray.
      progress: show a progress bar (variants done, accepted, rejected, rate) on stderr.
      on_shard: called in this process with each shard result as it arrives.
      log: where to say which backend ran (default: stderr).
    Raises:
      OutputError: `out` cannot be written or holds another job's shards.
      SettingsError: a bad backend name, Ray asked for but not installed, or a Ray address
        nobody answers at.
      DatasetError: (from a task's merge) a finished shard that cannot be read.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    shards = list(shards)
    if len({s.name for s in shards}) != len(shards):
        raise SettingsError("shards: expected unique shards, got duplicates")
    out = check_output_folder(out)
    choose_backend(backend, 0, ray_address=ray_address, serial_below=serial_below)  # checks only
    if hasattr(task, "check"):
        task.check()  # every input validated before anything is written
    out.mkdir(parents=True, exist_ok=True)
    open_job(out, {"task": task.fingerprint(), "shards": [s.name for s in shards]})
    results: dict[ShardSpec, ShardResult] = {}
    for s in shards:
        r = finished(out, s)
        if r is not None:
            results[s] = r
    todo = [s for s in shards if s not in results]
    skipped = len(results)
    chosen, reason = choose_backend(
        backend,
        sum(s.size for s in todo),
        ray_address=ray_address,
        num_cpus=num_cpus,
        serial_below=serial_below,
    )
    log(f"backend: {chosen.name} ({reason}); {len(todo)} shards to run, {skipped} already finished")
    start = time.perf_counter()
    bar = tqdm(
        total=sum(s.size for s in todo), unit="variant", disable=not progress, file=sys.stderr
    )
    counts = {"accepted": 0, "rejected": 0}
    extra = {"backend": chosen.name, "backend_reason": reason, "skipped_shards": skipped}

    merger = task.merger(out, shards) if hasattr(task, "merger") else None

    def on_done(result: ShardResult) -> None:
        results[result.shard] = result
        if merger is not None:  # the driver's share of the merge, while workers still run
            merger.add(result)
        counts["accepted"] += result.accepted
        counts["rejected"] += sum(result.rejected.values())
        bar.update(result.variants)
        bar.set_postfix(counts, refresh=False)
        write_manifest(out, shards, results, extra=extra)
        if on_shard:
            on_shard(result)

    try:
        if merger is not None:
            for s in shards:
                if s in results:  # finished by an earlier run
                    merger.add(results[s])
        write_manifest(out, shards, results, extra=extra)
        chosen.run(task, todo, out, on_done)
        clean_partial(out)  # folders of workers killed mid-shard (their shards were retried)
        seconds = time.perf_counter() - start
        finalized = None
        if merger is not None:
            finalized = merger.finish()
        elif hasattr(task, "finalize"):
            finalized = task.finalize(out, [results[s] for s in shards])
    except BaseException:
        if merger is not None:
            merger.abort()
        raise
    finally:
        bar.close()
    ran = sum(results[s].variants for s in todo)
    extra.update(
        seconds=round(seconds, 3),
        variants_per_s=round(ran / seconds, 3) if seconds > 0 else None,
        dataset=finalized,
    )
    write_manifest(out, shards, results, extra=extra)
    return JobResult(out, chosen.name, reason, tuple(shards), results, skipped, seconds, finalized)
