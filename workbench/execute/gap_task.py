"""A shard task for batch validation: the sim-to-real gap of a whole dataset, shard by shard.

Shards are episode ranges: `plan_shards([number of episodes], size)` gives shards of one
"episode group" whose variant range [start, stop) indexes the selected episodes. Each shard writes
its episodes' records (`entries.json`, as `workbench gap` writes them); `finalize` merges them
in order into `OUT/gap.json`, the same report `run_gap` makes in one process.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench.execute.cache import builds, cached
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.output import atomic_write_text
from workbench.replay.settings import ReplaySettings


@dataclasses.dataclass(frozen=True)
class GapTask:
    """Replay episodes [start, stop) of the selection and measure their gap (see module doc)."""

    scene: str
    recordings: tuple[str, ...]
    mapping: str | None = None
    select: str | None = None
    settings: ReplaySettings = ReplaySettings("open_loop", threads=1)
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recordings", tuple(str(r) for r in self.recordings))
        object.__setattr__(self, "params", dict(self.params))

    def fingerprint(self) -> dict[str, Any]:
        return {
            "task": "gap",
            "scene": self.scene,
            "recordings": list(self.recordings),
            "mapping": self.mapping,
            "select": self.select,
            "settings": dataclasses.asdict(self.settings),
            "params": dict(sorted(self.params.items())),
        }

    def _inputs(self):
        from workbench.io import load_episodes
        from workbench.pipeline import scene_mapping
        from workbench.scenes import load_scene

        scene = cached(("scene", self.scene), lambda: load_scene(self.scene))
        mapping = self.mapping or str(scene_mapping(scene))
        episodes = cached(
            ("episodes", self.recordings, mapping, self.select),
            lambda: load_episodes(list(self.recordings), mapping, select=self.select),
        )
        return scene, mapping, episodes

    def episodes(self) -> int:
        return len(self._inputs()[2])

    def check(self) -> None:
        """Scene, mapping, recordings, parameters and binding checked before any shard runs."""
        from workbench.pipeline import check_params
        from workbench.replay.prepare import bind_all

        scene, _, episodes = self._inputs()
        check_params(scene, episodes, self.params)
        bind_all(scene, episodes, self.settings)

    def __call__(self, shard: ShardSpec, folder: Path) -> ShardResult:
        from workbench.metrics.gap import episode_entry
        from workbench.replay import replay

        scene, _, episodes = self._inputs()
        part = episodes[shard.start : shard.stop]
        traces = replay(scene, part, self.settings, params=self.params)
        entries = [
            episode_entry(
                t, horizons=self.settings.horizons, contact_bodies=scene.binding.contact_bodies
            )
            for t in traces
        ]
        (folder / "entries.json").write_text(json.dumps(entries, indent=1) + "\n")
        diverged = sum(1 for e in entries if e["diverged"])
        return ShardResult(
            shard,
            len(part),
            len(part) - diverged,
            {"diverged": diverged} if diverged else {},
            ("entries.json",),
            worker={"scene_builds": builds(("scene", self.scene))},
        )

    def finalize(self, out: Path, results: Sequence[ShardResult]) -> dict[str, Any]:
        """Merge every shard's entries (in order) into `OUT/gap.json`."""
        from workbench.metrics.gap import report_from_entries
        from workbench.pipeline import run_record

        scene, mapping, _ = self._inputs()
        entries = []
        for r in results:
            entries += json.loads(
                (Path(out) / "shards" / r.shard.name / "entries.json").read_text()
            )
        record = run_record(
            scene,
            self.settings,
            recordings=list(self.recordings),
            mapping=mapping,
            select=self.select,
            params=self.params,
        )
        report = report_from_entries(
            entries, scene=scene.name, mode=self.settings.mode, settings=record
        )
        atomic_write_text(Path(out) / "gap.json", report.to_json())
        return {"path": "gap.json", "episodes": len(entries), "included": report.included}
