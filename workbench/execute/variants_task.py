"""A generic shard task: replay explicit physics variants of recorded episodes, keep the valid ones.

The augmentation stage plugs in its own task (sampling physics from a spec, transforming initial
states) with the same interface: `task(shard, folder) -> ShardResult`, `task.fingerprint()`,
`task.finalize(out, results)`. This one takes the variants as given (a list of {MuJoCo name:
value} per source episode), so the execution layer and the dataset writers are testable alone.

Accepted variants are written to the shard folder as a LeRobot v3.0 dataset (`lerobot/`) or a
robomimic file (`data.hdf5`); `finalize` merges the shards, in shard order, into `OUT/dataset/`
or `OUT/dataset.hdf5`. Rejections are counted by reason: `diverged` (MuJoCo went unstable, see
`workbench.replay.divergence`), `nan` (non-finite values without a divergence flag).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.datasets.lerobot import write_lerobot
from workbench.datasets.provenance import Provenance
from workbench.datasets.robomimic import write_robomimic
from workbench.episode import Episode, Signal
from workbench.errors import ParameterError, SettingsError
from workbench.execute.cache import builds, cached
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.replay.settings import ReplaySettings
from workbench.replay.trace import SimTrace

FORMATS = ("lerobot", "robomimic")
SHARD_FILES = {"lerobot": "lerobot", "robomimic": "data.hdf5"}
FINAL = {"lerobot": "dataset", "robomimic": "dataset.hdf5"}


def _scene(key: str):
    from workbench.scenes import load_scene

    return cached(("scene", key), lambda: load_scene(key))


def _episodes(recordings: tuple[str, ...], mapping: str | None, select: str | None):
    from workbench.io import load_episodes

    return cached(
        ("episodes", recordings, mapping, select),
        lambda: load_episodes(list(recordings), mapping, select=select),
    )


def simulated_episode(trace: SimTrace, variant: int) -> Episode:
    """The recording with its simulated signals (`qpos`, `qvel`, ...) replaced by the replay's."""
    ep = trace.episode
    signals = dict(ep.signals)
    T = ep.num_samples
    for name, values in trace.predicted.items():
        rec = ep.signals[name]
        signals[name] = Signal(values[0, :T], rec.columns, rec.unit, rec.frame)
    return Episode(f"{ep.id}/v{variant:06d}", ep.times, signals, ep.metadata)


def reject_reason(trace: SimTrace) -> str | None:
    """Why a variant is not written: `diverged`, `nan`, or None when it is valid."""
    if bool(np.any(trace.diverged)):
        return "diverged"
    if any(not np.isfinite(v).all() for v in trace.predicted.values()):
        return "nan"
    return None


@dataclasses.dataclass(frozen=True)
class ReplayVariantsTask:
    """Replay explicit physics variants of each source episode (open-loop by default).

    Attributes:
      scene: a bundled scene name or a scene folder (loaded once per worker process).
      recordings: recording files or folders, read through `mapping` (default: the scene's).
      variants: per source episode (in selection order), a list of {MuJoCo name: value}.
      mapping: mapping file; select: episode selector (`0:20`).
      format: "lerobot" or "robomimic".
      settings: replay settings (`threads` 1 by default: one worker per core).
      chunk: variants replayed per batched rollout call.
      task: task string written with every episode (default: the scene name).
    """

    scene: str
    recordings: tuple[str, ...]
    variants: tuple[tuple[Mapping[str, float], ...], ...]
    mapping: str | None = None
    select: str | None = None
    format: str = "lerobot"
    settings: ReplaySettings = ReplaySettings("open_loop", threads=1)
    chunk: int = 16
    task: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise SettingsError(f"--format: expected one of {list(FORMATS)}, got {self.format!r}")
        object.__setattr__(self, "recordings", tuple(str(r) for r in self.recordings))
        object.__setattr__(
            self,
            "variants",
            tuple(
                tuple({str(k): float(v) for k, v in d.items()} for d in vs) for vs in self.variants
            ),
        )

    def variants_per_episode(self) -> list[int]:
        return [len(v) for v in self.variants]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "task": "replay_variants",
            "scene": self.scene,
            "recordings": list(self.recordings),
            "mapping": self.mapping,
            "select": self.select,
            "format": self.format,
            "settings": dataclasses.asdict(self.settings),
            "chunk": self.chunk,
            "task_string": self.task,
            "variants": [[dict(sorted(d.items())) for d in vs] for vs in self.variants],
        }

    def _mapping(self, scene) -> str | None:
        if self.mapping is not None:
            return self.mapping
        from workbench.pipeline import scene_mapping

        return str(scene_mapping(scene))

    def _inputs(self):
        scene = _scene(self.scene)
        episodes = _episodes(self.recordings, self._mapping(scene), self.select)
        if len(episodes) != len(self.variants):
            raise SettingsError(
                f"variants: expected one list per selected episode ({len(episodes)}), got "
                f"{len(self.variants)}"
            )
        return scene, episodes

    def check(self) -> None:
        """Validate everything before a shard runs: scene, recordings, every variant's values
        (names and ranges against the model, nothing written), the episodes against the scene.

        Raises SceneError, MappingError, EpisodeError, BindingError, ParameterError or
        SettingsError naming the episode and variant.
        """
        from workbench.physics import check_values
        from workbench.physics.signal_params import is_signal_param
        from workbench.replay.prepare import prepare

        scene, episodes = self._inputs()
        prepare(scene, episodes, self.settings)
        for e, values in enumerate(self.variants):
            for k, v in enumerate(values):
                where = f"variants[{e}][{k}] (episode {episodes[e].id!r})"
                bad = [n for n in v if is_signal_param(n)]
                if bad:
                    raise ParameterError(f"{where}: {bad}: expected physics values only")
                try:
                    check_values(scene.model, v)
                except ParameterError as exc:
                    raise ParameterError(f"{where}: {exc}") from None

    def __call__(self, shard: ShardSpec, folder: Path) -> ShardResult:
        from workbench.replay.variants import replay_variants

        scene, episodes = self._inputs()
        source = episodes[shard.episode]
        values = self.variants[shard.episode][shard.start : shard.stop]
        accepted: list[tuple[Episode, Provenance]] = []
        rejected: dict[str, int] = {}
        for i, (trace,) in replay_variants(
            scene, [source], values, self.settings, chunk=self.chunk
        ):
            reason = reject_reason(trace)
            if reason:
                rejected[reason] = rejected.get(reason, 0) + 1
                continue
            k = shard.start + i
            meta = {**source.metadata, "task": self.task or scene.name, "scene": scene.name}
            ep = dataclasses.replace(simulated_episode(trace, k), metadata=meta)
            accepted.append((ep, Provenance(source.id, k, None, {}, values[i])))
        files: tuple[str, ...] = ()
        if accepted:
            name = SHARD_FILES[self.format]
            self._write(folder / name, accepted, scene)
            files = (name,)
        return ShardResult(
            shard,
            len(values),
            len(accepted),
            rejected,
            files,
            worker={"scene_builds": builds(("scene", self.scene))},
        )

    def _write(self, path: Path, records, scene) -> None:
        if self.format == "lerobot":
            write_lerobot(path, records)
        else:
            write_robomimic(path, records, env_name=scene.name, model_file=_model_xml(scene))

    def finalize(self, out: Path, results: Sequence[ShardResult]) -> dict[str, Any] | None:
        """Merge the shards' datasets (in shard order) into `OUT/dataset/` or `dataset.hdf5`."""
        from workbench.io.lerobot import read_lerobot_records
        from workbench.io.robomimic import read_robomimic_records

        out = Path(out)
        final = out / FINAL[self.format]
        parts = [out / "shards" / r.shard.name / f for r in results for f in r.files]
        if not parts:
            if final.is_dir():
                shutil.rmtree(final)
            final.unlink(missing_ok=True) if final.is_file() else None
            return {"path": None, "episodes": 0, "note": "no variant accepted"}
        if self.format == "lerobot":
            records = (rec for p in parts for rec in read_lerobot_records(p))
            summary = write_lerobot(final, records)
        else:
            scene = _scene(self.scene)
            records = (rec for p in parts for rec in read_robomimic_records(p))
            summary = write_robomimic(
                final, records, env_name=scene.name, model_file=_model_xml(scene)
            )
        return {
            "path": str(final.relative_to(out)),
            "format": self.format,
            "episodes": summary.episodes,
            "frames": summary.frames,
        }


def _model_xml(scene) -> str:
    try:
        return scene.spec().to_xml()
    except Exception:  # some compiled-only scenes cannot be saved as XML
        return ""


def same_variants(
    variants: Sequence[Mapping[str, float]], episodes: int
) -> tuple[tuple[Mapping[str, float], ...], ...]:
    """The same list of variants for each of `episodes` source episodes."""
    return tuple(tuple(variants) for _ in range(episodes))
