"""Augmentation: many physically varied, validated variants of each recorded episode.

- `config`: a scene's `[augment]` table (object, hand, interaction segment, transform ranges,
  penetration bound, task predicates);
- `transform`: object-centric planar transforms (MimicGen-style) of object and hand path;
- `noise`: a spec's sensor noise on the written variants, rebuilt from provenance;
- `predicates`: task predicates (`displacement`, `final_height`, `rotation`, `max_speed`);
- `variant`: build, replay, filter one source's variants; `replay_provenance` regenerates one;
- `task`: `AugmentTask` for `workbench.execute.run_job`; `merge`: shard datasets concatenated.
"""

from workbench.augment.config import AugmentConfig, parse_augment, scene_config
from workbench.augment.predicates import KINDS, Predicate
from workbench.augment.task import AugmentTask
from workbench.augment.transform import PlanarTransform, TransformRanges
from workbench.augment.variant import replay_provenance

__all__ = [
    "KINDS",
    "AugmentConfig",
    "AugmentTask",
    "PlanarTransform",
    "Predicate",
    "TransformRanges",
    "parse_augment",
    "replay_provenance",
    "scene_config",
]
