"""Parameter spaces: physical quantities addressed by MuJoCo name, with nominal value, bounds and scale.

TOML form::

    [parameters."dof_damping[shoulder]"]
    lower = 0.0
    upper = 0.1
    scale = "linear"        # or "log" (bounds must then be > 0)
    nominal = 0.001         # optional: default is the scene's compiled value
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import mujoco
import numpy as np
import tomllib

from workbench.errors import ParameterError
from workbench.physics.addresses import ParameterAddress, resolve
from workbench.physics.signal_params import check_signal_param, is_signal_param


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One calibrated quantity; every element its name addresses gets the same value."""

    name: str
    lower: float
    upper: float
    scale: str = "linear"
    nominal: float | None = None

    def __post_init__(self) -> None:
        if self.scale not in ("linear", "log"):
            raise ParameterError(
                f"parameter {self.name!r}: scale expected 'linear' or 'log', got {self.scale!r}"
            )
        if not self.lower < self.upper:
            raise ParameterError(
                f"parameter {self.name!r}: expected lower < upper, got [{self.lower}, {self.upper}]"
            )
        if self.scale == "log" and self.lower <= 0:
            raise ParameterError(
                f"parameter {self.name!r}: log scale needs lower > 0, got {self.lower}"
            )
        if self.nominal is not None and not self.lower <= self.nominal <= self.upper:
            raise ParameterError(
                f"parameter {self.name!r}: nominal {self.nominal} outside bounds [{self.lower}, {self.upper}]"
            )

    def to_unit(self, value: np.ndarray) -> np.ndarray:
        """Physical value -> optimiser coordinate (log10 for log scale)."""
        return np.log10(value) if self.scale == "log" else np.asarray(value, dtype=float)

    def from_unit(self, z: np.ndarray) -> np.ndarray:
        return 10.0**z if self.scale == "log" else np.asarray(z, dtype=float)


@dataclasses.dataclass(frozen=True)
class ParameterSpace:
    parameters: tuple[Parameter, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.parameters]
        if not names:
            raise ParameterError("parameter space: expected at least one parameter")
        if len(set(names)) != len(names):
            raise ParameterError(
                f"parameter space: duplicate names {sorted({n for n in names if names.count(n) > 1})}"
            )

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def resolve(self, model: mujoco.MjModel) -> list[ParameterAddress | None]:
        """Addresses in `model` (None for measurement parameters `delay:`/`offset:`); a wrong
        name raises ParameterError listing valid names."""
        out: list[ParameterAddress | None] = []
        for p in self.parameters:
            if is_signal_param(p.name):
                check_signal_param(p.name)
                out.append(None)
            else:
                address = resolve(model, p.name)
                for value in (p.lower, p.upper):  # e.g. a simple body's CoM, a too-long delay
                    address.validate(model, value)
                out.append(address)
        return out

    def nominal(self, model: mujoco.MjModel) -> np.ndarray:
        """(n,) nominal physical values: given ones, else the model's (first element; 0 for
        measurement parameters)."""
        values = []
        for p, a in zip(self.parameters, self.resolve(model), strict=True):
            if p.nominal is not None:
                values.append(p.nominal)
            else:
                values.append(0.0 if a is None else float(a.read(model)[0]))
        return np.array(values)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Optimiser-coordinate bounds."""
        lo = np.array([p.to_unit(p.lower) for p in self.parameters], dtype=float)
        hi = np.array([p.to_unit(p.upper) for p in self.parameters], dtype=float)
        return lo, hi

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        return np.array(
            [p.to_unit(v) for p, v in zip(self.parameters, values, strict=True)], dtype=float
        )

    def from_unit(self, z: np.ndarray) -> np.ndarray:
        return np.array(
            [p.from_unit(v) for p, v in zip(self.parameters, z, strict=True)], dtype=float
        )

    def as_dict(self, values: Sequence[float]) -> dict[str, float]:
        return {p.name: float(v) for p, v in zip(self.parameters, values, strict=True)}

    @classmethod
    def from_dict(cls, data: Mapping) -> ParameterSpace:
        params = data.get("parameters")
        if not isinstance(params, Mapping) or not params:
            raise ParameterError(
                'parameter space: expected a [parameters."<name>"] table per parameter'
            )
        out = []
        for name, spec in params.items():
            unknown = set(spec) - {"lower", "upper", "scale", "nominal"}
            if unknown or "lower" not in spec or "upper" not in spec:
                raise ParameterError(
                    f"parameter {name!r}: expected keys lower, upper[, scale, nominal], got {sorted(spec)}"
                )
            out.append(
                Parameter(
                    name,
                    float(spec["lower"]),
                    float(spec["upper"]),
                    spec.get("scale", "linear"),
                    spec.get("nominal"),
                )
            )
        return cls(tuple(out))

    @classmethod
    def load(cls, path: str | Path) -> ParameterSpace:
        path = Path(path)
        if not path.is_file():
            raise ParameterError(
                f"parameter space: expected an existing TOML file, got {str(path)!r}"
            )
        try:
            return cls.from_dict(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"{path}: invalid TOML: {exc}") from exc


def identifiable_flags(space: ParameterSpace, values, stderr) -> list[bool]:
    """A parameter counts as identified when its standard error is under half its value (or under
    half of 1 % of its range, for values near zero) and finite."""
    return [
        bool(np.isfinite(s) and s < 0.5 * max(abs(v), 0.01 * (p.upper - p.lower)))
        for p, v, s in zip(space.parameters, values, stderr, strict=True)
    ]
