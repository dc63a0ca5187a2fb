"""One small exception hierarchy; every message names the field, the expected and the actual value."""

from __future__ import annotations

from collections.abc import Iterable


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class EpisodeError(WorkbenchError, ValueError):
    """A recorded episode is malformed (NaN, bad time axis, wrong shapes)."""


class MappingError(WorkbenchError, ValueError):
    """A mapping file is malformed or does not fit the recording it is applied to."""


class SceneError(WorkbenchError, ValueError):
    """A scene folder is malformed or its MJCF does not compile."""


class BindingError(WorkbenchError, ValueError):
    """Episode signals do not fit the scene they are bound to (unknown names, wrong widths)."""


class ParameterError(WorkbenchError, ValueError):
    """A physics parameter name, index or value is invalid."""


class SettingsError(WorkbenchError, ValueError):
    """A run setting (a command-line option or a keyword argument) is out of range or malformed."""


class OutputError(WorkbenchError):
    """The output location cannot be written (a file where a folder is expected, no permission)."""


class SimulationDiverged(WorkbenchError):
    """A simulation went unstable (NaN, MuJoCo's instability reset, energy blow-up)."""


class ConfigError(WorkbenchError, ValueError):
    """A configuration file (parameter space, values file, suite) is malformed."""


def name_list(names: Iterable[str], limit: int = 40) -> str:
    """Format valid names for an error message, truncated to `limit` entries."""
    names = [n for n in names if n]
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown or "(none)"


class DatasetError(WorkbenchError, ValueError):
    """A dataset (LeRobot, robomimic) or a job's shard folder is malformed or does not fit."""


class RetargetError(WorkbenchError, ValueError):
    """A recorded path cannot be retargeted onto a robot (unknown tool site, path out of reach)."""
