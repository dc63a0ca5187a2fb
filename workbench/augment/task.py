"""AugmentTask: the executor's shard task for augmentation (deterministic, picklable).

For shard (episode e, variants [a, b)): each variant k draws its physics values and initial-state
offsets from the spec (`Randomizer.samples(episode id, k, seed)`) and, when object-centric
transforms are on, its planar transform (`TransformRanges.sample`); the variants are replayed in
batched rollouts (`chunk` per call, model copies cached per worker), filtered (diverged, nan,
penetration, predicate:<name>), the spec's sensor noise added to the accepted ones
(`workbench.augment.noise`) and these written to the shard folder as LeRobot v3.0 (`lerobot/`)
or robomimic (`data.hdf5`); `finalize` concatenates the shards in shard order
(`workbench.augment.merge`) into `OUT/dataset/` or `OUT/dataset.hdf5`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workbench import schema
from workbench.augment.config import AugmentConfig, scene_config
from workbench.augment.merge import ShardsMerger
from workbench.augment.noise import SensorNoise
from workbench.augment.transform import TransformRanges
from workbench.augment.variant import (
    Source,
    Variant,
    output_episode,
    prepare_source,
    provenance,
    sensing_scene,
    simulate,
)
from workbench.datasets.lerobot import write_lerobot
from workbench.datasets.robomimic import write_robomimic
from workbench.errors import SettingsError
from workbench.execute.cache import builds, cached
from workbench.execute.ordered import add_all
from workbench.execute.shards import ShardResult, ShardSpec
from workbench.replay.settings import ReplaySettings

FORMATS = ("lerobot", "robomimic")
SHARD_FILES = {"lerobot": "lerobot", "robomimic": "data.hdf5"}
FINAL = {"lerobot": "dataset", "robomimic": "dataset.hdf5"}
SHARD_ENCODING = "arrow"  # LeRobot shards: Arrow IPC data files, merged into parquet
SCENE_TRANSFORM = "scene"


@dataclasses.dataclass(frozen=True)
class AugmentTask:
    """Augment each selected recording into `variants` variants.

    Attributes:
      scene: bundled scene name or scene folder (its `[augment]` table: see `config`).
      recordings: recording files/folders, read through `mapping` (default: the scene's).
      spec: the randomization spec as a table (`RandomizationSpec.to_dict()`; a calibration's
        distribution.toml loads to one).
      variants: variants per source episode.
      seed: the sampling seed (with the spec, episode id and variant index: the whole draw).
      transform: planar transform ranges, "scene" (the scene's `[augment.transform]`, none if it
        has none) or None (no object-centric transform).
      max_penetration: [m] override of the scene's bound.
      format: "lerobot" or "robomimic"; chunk: variants per batched rollout call.
      task: task string of every written episode (default: the recording's, else the scene name).
    """

    scene: str
    recordings: tuple[str, ...]
    spec: Mapping[str, Any]
    variants: int
    seed: int = 0
    mapping: str | None = None
    select: str | None = None
    transform: TransformRanges | str | None = SCENE_TRANSFORM
    max_penetration: float | None = None
    format: str = "lerobot"
    settings: ReplaySettings = ReplaySettings("open_loop", threads=1)
    chunk: int = 16
    task: str | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise SettingsError(f"--format: expected one of {list(FORMATS)}, got {self.format!r}")
        object.__setattr__(
            self,
            "variants",
            schema.number(self.variants, "--variants", SettingsError, lower=1, integer=True),
        )
        object.__setattr__(
            self, "seed", schema.number(self.seed, "--seed", SettingsError, lower=0, integer=True)
        )
        object.__setattr__(
            self,
            "chunk",
            schema.number(self.chunk, "--chunk", SettingsError, lower=1, integer=True),
        )
        if self.transform is not None and not isinstance(self.transform, TransformRanges):  # noqa: SIM102
            if self.transform != SCENE_TRANSFORM:
                raise SettingsError(
                    f"transform: expected TransformRanges, 'scene' or None, got {self.transform!r}"
                )
        if self.max_penetration is not None:
            schema.number(
                self.max_penetration, "--max-penetration", SettingsError, lower=0, lower_open=True
            )
        if self.settings.mode != "open_loop":
            raise SettingsError(f"augment: expected open_loop replay, got {self.settings.mode!r}")
        object.__setattr__(self, "recordings", tuple(str(r) for r in self.recordings))
        self._spec()  # a malformed spec fails here, in the driver

    # -- inputs (cached per worker process) --------------------------------------------------
    def _spec(self):
        from workbench.randomize import RandomizationSpec

        return RandomizationSpec.from_dict(self.spec, where="--spec")

    def _scene(self):
        from workbench.scenes import load_scene

        return cached(("scene", self.scene), lambda: load_scene(self.scene))

    def _mapping(self, scene) -> str:
        if self.mapping is not None:
            return self.mapping
        from workbench.pipeline import scene_mapping

        return str(scene_mapping(scene))

    def _episodes(self, scene):
        from workbench.io import load_episodes

        key = ("episodes", self.recordings, self._mapping(scene), self.select)
        return cached(key, lambda: load_episodes(list(self.recordings), key[2], select=self.select))

    def _sensing(self, scene):
        """The scene with its penetration sensor, and the sensor's address (`sensing_scene`)."""
        return cached(("augment-sensing", self.scene), lambda: sensing_scene(scene))

    def _randomizer(self, scene):
        """The spec bound to the sensing model (variants are simulated on its `copies`)."""
        from workbench.randomize import Randomizer

        spec = self._spec()
        model = self._sensing(scene)[0].model
        return cached(
            ("augment-randomizer", self.scene, spec.digest()), lambda: Randomizer(spec, model)
        )

    def config(self, scene=None) -> AugmentConfig:
        """The scene's augmentation config with this task's overrides."""
        scene = scene or self._scene()
        config = scene_config(scene)
        ranges = config.transform if self.transform == SCENE_TRANSFORM else self.transform
        if ranges is not None and (config.object is None or config.hand is None):
            raise SettingsError(
                f"--transform: scene {scene.name!r} names no `object` and `hand` in its [augment] "
                "table; object-centric transforms need both (use --transform none)"
            )
        limit = self.max_penetration or config.max_penetration
        return dataclasses.replace(config, transform=ranges, max_penetration=limit)

    def _source(self, scene, config, e: int) -> Source:
        episodes = self._episodes(scene)
        key = (
            "augment-source",
            self.scene,
            self.recordings,
            self.select,
            self.mapping,
            e,
            repr(config.fingerprint()),
        )
        return cached(key, lambda: prepare_source(scene, config, episodes[e], self.settings))

    def episodes(self) -> int:
        """How many source episodes the selection holds."""
        return len(self._episodes(self._scene()))

    def variants_per_episode(self) -> list[int]:
        return [self.variants] * self.episodes()

    def shard_cost(self, shard: ShardSpec) -> int:
        """Simulation steps of a shard (its variants times the source's steps): the Ray
        backend submits the longest shards first."""
        scene = self._scene()
        source = self._source(scene, self.config(scene), shard.episode)
        return shard.size * (source.episode.num_samples - 1) * source.alignment.substeps

    def fingerprint(self) -> dict[str, Any]:
        config = self.config()
        return {
            "task": "augment",
            "scene": self.scene,
            "recordings": list(self.recordings),
            "mapping": self.mapping,
            "select": self.select,
            "spec": self._spec().digest(),
            "variants": self.variants,
            "seed": self.seed,
            "config": config.fingerprint(),
            "format": self.format,
            "settings": dataclasses.asdict(self.settings),
            "chunk": self.chunk,
            "task_string": self.task,
        }

    def check(self) -> None:
        """Validate everything before a shard runs: scene and its [augment] table, recordings,
        the spec against the model (names, value ranges), every episode's segment and binding,
        the spec's noise columns. Raises a WorkbenchError naming what is wrong."""
        scene = self._scene()
        config = self.config(scene)
        randomizer = self._randomizer(scene)
        episodes = self._episodes(scene)
        if not episodes:
            raise SettingsError("--episodes: the selection holds no episode")
        for e in range(len(episodes)):
            source = self._source(scene, config, e)
            for section in ("initial_state", "sensor_noise"):
                for n in getattr(randomizer.spec, section):
                    sig = source.episode.signals.get(n.signal)
                    if sig is None or n.column not in sig.columns:
                        raise SettingsError(
                            f"--spec: {section} {n.key!r}: the replayed episode "
                            f"{source.episode.id!r} has no such column; signals "
                            f"{ {k: list(s.columns) for k, s in source.episode.signals.items()} }"
                        )

    # -- one shard -------------------------------------------------------------------------
    def plan(self, e: int, start: int, stop: int) -> tuple[Source, list[Variant]]:
        """The source and the variants [start, stop) of episode number `e` (drawn, not run)."""
        source, _, variants = self._draw(e, start, stop)
        return source, variants

    def _draw(self, e: int, start: int, stop: int) -> tuple[Source, list, list[Variant]]:
        """The source, the spec's samples and the variants [start, stop) of episode `e`."""
        scene = self._scene()
        config = self.config(scene)
        source = self._source(scene, config, e)
        raw_id = self._episodes(scene)[e].id
        randomizer = self._randomizer(scene)
        samples = randomizer.samples(raw_id, range(start, stop), seed=self.seed)
        out = []
        for s in samples:
            transform = None
            if config.transform is not None:
                from workbench.augment.transform import PlanarTransform

                dx, dy, yaw = config.transform.sample(raw_id, s.variant, self.seed)
                transform = PlanarTransform(dx, dy, yaw, source.pivot)
            noise = SensorNoise.of(randomizer.spec, s)
            out.append(Variant(s.variant, s.values, transform, s.initial_state, noise))
        return source, samples, out

    def __call__(self, shard: ShardSpec, folder: Path) -> ShardResult:
        scene = self._scene()
        config = self.config(scene)
        source, samples, variants = self._draw(shard.episode, shard.start, shard.stop)
        raw = self._episodes(scene)[shard.episode]
        digest = self._spec().digest()
        extra = {
            "spec": digest,
            "crop": list(source.crop) if source.crop else None,
            "t_start": source.t_start,
            "blend": config.blend,
            "object": config.object if config.transform else None,
            "hand": config.hand if config.transform else None,
            "max_penetration": config.max_penetration,
        }
        meta = {
            **raw.metadata,
            "task": self.task or raw.metadata.get("task") or scene.name,
            "scene": scene.name,
        }
        sensing, sensor = self._sensing(scene)
        randomizer = self._randomizer(scene)
        models = cached(
            ("augment-models", self.scene, randomizer.digest, self.chunk),
            lambda: randomizer.copies(self.chunk),
        )
        drawn = {s.variant: s for s in samples}

        def apply(model, v: Variant):
            return randomizer.applied(drawn[v.index], model)

        accepted, rejected = [], {}
        for v, trace, reason in simulate(
            sensing,
            source,
            config,
            variants,
            self.settings,
            models=models,
            limit=config.max_penetration,
            sensor=sensor,
            apply=apply,
        ):
            if reason:
                rejected[reason] = rejected.get(reason, 0) + 1
                continue
            ep = output_episode(
                trace, source, v.index, meta, episode_id=f"{raw.id}/v{v.index:06d}", noise=v.noise
            )
            accepted.append((ep, provenance(raw.id, v, self.seed, extra)))
        files: tuple[str, ...] = ()
        if accepted:
            name = SHARD_FILES[self.format]
            if self.format == "lerobot":
                write_lerobot(folder / name, accepted, encoding=SHARD_ENCODING)
            else:
                write_robomimic(folder / name, accepted, env_name=scene.name, model_file="")
            files = (name,)
        return ShardResult(
            shard,
            len(variants),
            len(accepted),
            rejected,
            files,
            worker={"scene_builds": builds(("scene", self.scene)), **_ray_node()},
        )

    def merger(self, out: Path, shards: Sequence[ShardSpec]) -> ShardsMerger:
        """The job's streaming merge into `OUT/dataset[.hdf5]` (`run_job` feeds it each shard
        as it finishes; see `workbench.augment.merge.ShardsMerger`)."""
        out = Path(out)
        return ShardsMerger(
            out,
            out / FINAL[self.format],
            self.format,
            shards,
            model_file=lambda: _model_xml(self._scene()),
        )

    def finalize(self, out: Path, results: Sequence[ShardResult]) -> dict[str, Any]:
        """The same merge at once, from the results of every shard (in job order)."""
        return add_all(self.merger(out, [r.shard for r in results]), results)


def _ray_node() -> dict[str, str]:
    """{"ray_node": id} when this process is a Ray worker (which node ran a shard)."""
    import sys

    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return {}
    try:
        return {"ray_node": ray.get_runtime_context().get_node_id()}
    except Exception:  # not in a worker context
        return {}


def _model_xml(scene) -> str:
    try:
        return scene.spec().to_xml()
    except Exception:  # some compiled-only scenes cannot be saved as XML
        return ""
