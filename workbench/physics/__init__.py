"""Physics values addressed by MuJoCo names, applied to a compiled model in place."""

from workbench.physics.addresses import (
    ParameterAddress,
    load_values,
    resolve,
    set_values,
    values_applied,
)

__all__ = ["ParameterAddress", "load_values", "resolve", "set_values", "values_applied"]
