"""Small replay-variant jobs on the bundled cube tosses, shared by the execution tests."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import threading
import time
from pathlib import Path

from workbench.execute import ReplayVariantsTask, ShardSpec, plan_shards
from workbench.paths import assets_root

MU = "pair_friction[cube_table][0]"
DIVERGES = {"opt.gravity[2]": -1e12}  # MuJoCo flags mjWARN_BADQACC at once


def variants(n: int, *, diverging_at: int | None = None) -> list[dict[str, float]]:
    out = [{MU: 0.08 + 0.03 * k, "body_mass[cube]": 0.3 + 0.01 * k} for k in range(n)]
    if diverging_at is not None:
        out[diverging_at] = DIVERGES
    return out


def small_task(fmt="lerobot", episodes=2, per_episode=4, **kwargs) -> ReplayVariantsTask:
    vs = tuple(tuple(variants(per_episode, **kwargs)) for _ in range(episodes))
    return ReplayVariantsTask(
        "cube_toss",
        (str(assets_root() / "data" / "cube_toss"),),
        vs,
        select=f"0:{episodes}",
        format=fmt,
    )


def shards_of(task, size=2):
    return plan_shards(task.variants_per_episode(), size)


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (or of `root` itself if it is a file)."""
    root = Path(root)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {
        str(p.relative_to(root.parent)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
    }


def shard_names(out: Path) -> list[str]:
    return sorted(p.name for p in (Path(out) / "shards").iterdir())


@dataclasses.dataclass(frozen=True)
class KillOnce:
    """Wraps a task: the first attempt at `victim` publishes its pid and waits to be killed."""

    inner: object
    victim: str
    flags: str

    def fingerprint(self):
        return self.inner.fingerprint()

    def check(self):
        self.inner.check()

    def finalize(self, out, results):
        return self.inner.finalize(out, results)

    def __getattr__(self, name):  # the inner task's streaming merge and scheduling, if any
        if name in ("merger", "shard_cost"):
            return getattr(self.__dict__["inner"], name)
        raise AttributeError(name)

    def __call__(self, shard: ShardSpec, folder: Path):
        flags = Path(self.flags)
        if shard.name == self.victim and not (flags / "killed").exists():
            (folder / "half-written").write_text("partial")
            (flags / "pid.tmp").write_text(str(os.getpid()))
            os.replace(flags / "pid.tmp", flags / "pid")
            time.sleep(60)  # killed long before this ends
            raise AssertionError("the victim was not killed")
        return self.inner(shard, folder)


def start_killer(flags: Path) -> tuple[threading.Thread, list[int]]:
    """A thread that waits for `KillOnce`'s victim to publish its pid under `flags` (created
    here), marks it killed and SIGKILLs it; returns the thread and the list the pid goes into."""
    flags.mkdir()
    killed: list[int] = []

    def killer():
        deadline = time.time() + 120
        while not (flags / "pid").exists() and time.time() < deadline:
            time.sleep(0.05)
        pid = int((flags / "pid").read_text())
        (flags / "killed").write_text("yes")
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    return thread, killed
