"""Physics values addressed by MuJoCo names, checked, then applied to a compiled model in place.

- `names`: parse and resolve names to `ParameterAddress` (flat indices into a model array);
- `validate`: the rules a value must obey before it is written (documented there);
- `apply`: `set_values`, `values_applied`, `check_values`, `write_unchecked`;
- `values_file`: `load_values` (TOML/JSON parameter-value files);
- `signal_params`: `delay:`/`offset:`/`gain:` measurement parameters on recorded signals.
"""

from workbench.physics.apply import (
    Snapshot,
    check_values,
    inertia_violation,
    set_values,
    values_applied,
    write_unchecked,
)
from workbench.physics.names import ParameterAddress, resolve
from workbench.physics.values_file import load_values

__all__ = [
    "ParameterAddress",
    "Snapshot",
    "check_values",
    "inertia_violation",
    "load_values",
    "resolve",
    "set_values",
    "values_applied",
    "write_unchecked",
]
