"""workbench: check and grow real-world robot data with MuJoCo simulation.

Data flow: recorded files -> `load_episodes` (mapping) -> `Episode` -> `replay` in a `Scene`
-> `SimTrace` -> `gap_report` -> `GapReport` (JSON, plots).
"""

from workbench.calibrate import CalibrationResult, Parameter, ParameterSpace, calibrate
from workbench.episode import Episode, Signal
from workbench.errors import (
    BindingError,
    EpisodeError,
    MappingError,
    ParameterError,
    SceneError,
    WorkbenchError,
)
from workbench.io import load_episodes, load_mapping
from workbench.metrics import GapReport, gap_report
from workbench.physics import resolve, set_values, values_applied
from workbench.pipeline import run_gap
from workbench.replay import ReplaySettings, SimTrace, replay, replay_variants
from workbench.scenes import Binding, Scene, list_scenes, load_scene, scene_from_xml

__version__ = "0.1.0"

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
