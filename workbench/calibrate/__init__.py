"""Calibrate physics parameters from recordings, with uncertainty."""

from workbench.calibrate.fit import CalibrationResult, calibrate
from workbench.calibrate.objective import WindowedObjective
from workbench.calibrate.space import Parameter, ParameterSpace

__all__ = ["CalibrationResult", "Parameter", "ParameterSpace", "WindowedObjective", "calibrate"]
