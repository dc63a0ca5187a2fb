"""Compatibility re-exports: the code lives in `names`, `validate`, `apply` and `values_file`."""

from workbench.physics.apply import (
    Snapshot,
    check_values,
    inertia_violation,
    set_values,
    values_applied,
    write_unchecked,
)
from workbench.physics.names import SCALE_PREFIX, ParameterAddress, parse_name, resolve
from workbench.physics.values_file import load_values

__all__ = [
    "SCALE_PREFIX",
    "ParameterAddress",
    "Snapshot",
    "check_values",
    "inertia_violation",
    "load_values",
    "parse_name",
    "resolve",
    "set_values",
    "values_applied",
    "write_unchecked",
]
