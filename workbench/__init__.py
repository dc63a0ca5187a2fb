"""workbench: check and grow real-world robot data with MuJoCo simulation.

Data flow: recorded files -> `load_episodes` (mapping) -> `Episode` -> `replay` in a `Scene`
-> `SimTrace` -> `gap_report` -> `GapReport` (JSON, plots).

`import workbench` is light: the error types are imported at once, every other public name on
first use (PEP 562), so scipy, MuJoCo and matplotlib load only when needed; pyplot never does.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from workbench.errors import (
    BindingError,
    EpisodeError,
    MappingError,
    ParameterError,
    SceneError,
    WorkbenchError,
)

if TYPE_CHECKING:
    from workbench.augment import AugmentTask
    from workbench.calibrate import CalibrationResult, Parameter, ParameterSpace, calibrate
    from workbench.check import load_suite, run_suite
    from workbench.datasets import Provenance, write_lerobot, write_robomimic
    from workbench.episode import Episode, Signal
    from workbench.execute import plan_shards, run_job
    from workbench.gym import ReplayEnv
    from workbench.inspect import inspect_episodes
    from workbench.io import load_episodes, load_mapping, read_lerobot, read_robomimic
    from workbench.io.raw import read_raw
    from workbench.metrics import GapReport, gap_report
    from workbench.physics import resolve, set_values, values_applied
    from workbench.pipeline import run_gap
    from workbench.randomize import RandomizationSpec, Randomizer
    from workbench.randomize.ensemble import run_ensemble
    from workbench.replay import ReplaySettings, SimTrace, replay, replay_variants
    from workbench.report import write_html_report
    from workbench.scenes import Binding, Scene, list_scenes, load_scene, scene_from_xml

__version__ = "0.1.0"

# public name -> the module it is imported from on first use
_LAZY = {
    "CalibrationResult": "workbench.calibrate",
    "Parameter": "workbench.calibrate",
    "ParameterSpace": "workbench.calibrate",
    "calibrate": "workbench.calibrate",
    "Episode": "workbench.episode",
    "Signal": "workbench.episode",
    "load_episodes": "workbench.io",
    "load_mapping": "workbench.io",
    "GapReport": "workbench.metrics",
    "gap_report": "workbench.metrics",
    "resolve": "workbench.physics",
    "set_values": "workbench.physics",
    "values_applied": "workbench.physics",
    "run_gap": "workbench.pipeline",
    "ReplaySettings": "workbench.replay",
    "SimTrace": "workbench.replay",
    "replay": "workbench.replay",
    "replay_variants": "workbench.replay",
    "Binding": "workbench.scenes",
    "Scene": "workbench.scenes",
    "list_scenes": "workbench.scenes",
    "load_scene": "workbench.scenes",
    "scene_from_xml": "workbench.scenes",
    "RandomizationSpec": "workbench.randomize",
    "Randomizer": "workbench.randomize",
    "run_ensemble": "workbench.randomize.ensemble",
    "AugmentTask": "workbench.augment",
    "run_job": "workbench.execute",
    "plan_shards": "workbench.execute",
    "Provenance": "workbench.datasets",
    "write_lerobot": "workbench.datasets",
    "write_robomimic": "workbench.datasets",
    "read_lerobot": "workbench.io",
    "read_robomimic": "workbench.io",
    "ReplayEnv": "workbench.gym",
    "inspect_episodes": "workbench.inspect",
    "read_raw": "workbench.io.raw",
    "load_suite": "workbench.check",
    "run_suite": "workbench.check",
    "write_html_report": "workbench.report",
}

# functions named like the subpackage that holds them: `workbench.replay` stays the function
_SHADOWED = {"calibrate", "replay"}

__all__ = [
    "CalibrationResult",
    "Parameter",
    "ParameterSpace",
    "calibrate",
    "Binding",
    "BindingError",
    "Episode",
    "EpisodeError",
    "GapReport",
    "MappingError",
    "ParameterError",
    "ReplaySettings",
    "Scene",
    "SceneError",
    "Signal",
    "SimTrace",
    "WorkbenchError",
    "gap_report",
    "list_scenes",
    "load_episodes",
    "load_mapping",
    "load_scene",
    "replay",
    "replay_variants",
    "resolve",
    "run_gap",
    "scene_from_xml",
    "set_values",
    "values_applied",
    "AugmentTask",
    "Provenance",
    "RandomizationSpec",
    "Randomizer",
    "ReplayEnv",
    "inspect_episodes",
    "load_suite",
    "plan_shards",
    "read_lerobot",
    "read_raw",
    "read_robomimic",
    "run_ensemble",
    "run_job",
    "run_suite",
    "write_html_report",
    "write_lerobot",
    "write_robomimic",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name here."""
    if name not in _LAZY:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The import system sets `workbench.<sub>` to each subpackage it loads; for `calibrate` and
    `replay` the public name is the function of that name (as with eager imports), not the
    subpackage (still importable: `from workbench.replay import ...`)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
