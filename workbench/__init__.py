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
    from workbench.calibrate import CalibrationResult, Parameter, ParameterSpace, calibrate
    from workbench.episode import Episode, Signal
    from workbench.io import load_episodes, load_mapping
    from workbench.metrics import GapReport, gap_report
    from workbench.physics import resolve, set_values, values_applied
    from workbench.pipeline import run_gap
    from workbench.replay import ReplaySettings, SimTrace, replay, replay_variants
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
