"""Parameter spaces: physical quantities addressed by MuJoCo name, with nominal value, bounds and scale.

TOML form::

    [parameters."dof_damping[shoulder]"]
    lower = 0.0
    upper = 0.1
    scale = "linear"        # or "log" (bounds must then be > 0)
    nominal = 0.001         # optional: default is the scene's compiled value

Unknown keys (at the top level and in each parameter table) are errors; bounds and nominal are
real numbers (booleans and strings refused); names must address real-valued fields, and the
bounds (and nominal) must be values the field can take (`workbench.physics.validate`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import mujoco
import numpy as np
import tomllib

from workbench import schema
from workbench.errors import ParameterError
from workbench.physics.names import MomentAddress, ParameterAddress, resolve
from workbench.physics.signal_params import (
    check_signal_param,
    check_signal_value,
    is_signal_param,
    signal_param_nominal,
)
from workbench.physics.validate import check_value

_SCALES = ("linear", "log")
_KEYS = ("lower", "upper", "scale", "nominal")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One calibrated quantity; every element its name addresses gets the same value."""

    name: str
    lower: float
    upper: float
    scale: str = "linear"
    nominal: float | None = None

    def __post_init__(self) -> None:
        where = f"parameter {self.name!r}"
        schema.string(self.name, "parameter name", ParameterError)
        for key in ("lower", "upper", "nominal"):
            value = getattr(self, key)
            if value is not None:
                schema.number(value, f"{where}: {key}", ParameterError)
        if self.scale not in _SCALES:
            raise ParameterError(f"{where}: scale expected 'linear' or 'log', got {self.scale!r}")
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
        """Addresses in `model` (None for measurement parameters `delay:`/`offset:`/`gain:`); a wrong
        name raises ParameterError listing valid names."""
        out: list[ParameterAddress | None] = []
        for p in self.parameters:
            if is_signal_param(p.name):
                check_signal_param(p.name)
                for value in (p.lower, p.upper, p.nominal):  # e.g. a gain must stay > 0
                    if value is not None:
                        check_signal_value(p.name, value, where=f"parameter {p.name!r}")
                out.append(None)
            else:
                address = resolve(model, p.name)
                if address.is_integer(model):
                    raise ParameterError(
                        f"parameter {p.name!r}: {address.field} holds integers; a calibrated "
                        "parameter expected a real-valued field"
                    )
                for value in (p.lower, p.upper, p.nominal):  # e.g. a simple body's CoM
                    if value is not None:
                        check_value(model, address, value)
                out.append(address)
        self._check_moment_masses(out)
        return out

    def _check_moment_masses(self, addresses: list[ParameterAddress | None]) -> None:
        """A body whose first moment (`body_mc`) is fitted keeps a positive mass: its
        `body_mass` parameter, if any, needs lower > 0."""
        moment_bodies = {
            getattr(a, "body", None) for a in addresses if isinstance(a, MomentAddress)
        }
        for p, a in zip(self.parameters, addresses, strict=True):
            moment_body = a is not None and a.field == "body_mass" and a.index[0] in moment_bodies
            if moment_body and not p.lower > 0:
                raise ParameterError(
                    f"parameter {p.name!r}: the body's first moment is fitted too (body_mc), "
                    f"so its mass must stay > 0; expected lower > 0, got {p.lower}"
                )

    def nominal(self, model: mujoco.MjModel) -> np.ndarray:
        """(n,) nominal physical values: given ones, else the model's (first element; for
        measurement parameters the value that leaves the recording unchanged: 0, or 1 for a gain)."""
        values = []
        for p, a in zip(self.parameters, self.resolve(model), strict=True):
            if p.nominal is not None:
                values.append(p.nominal)
            else:
                values.append(
                    signal_param_nominal(p.name) if a is None else float(a.read(model)[0])
                )
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
    def from_dict(cls, data: Mapping, *, source: str = "parameter space") -> ParameterSpace:
        """A space from a parsed TOML table; `source` (the file) prefixes every message."""
        doc = schema.table(data, source, ParameterError, allowed=("parameters",))
        params = doc.get("parameters")
        if not isinstance(params, Mapping) or not params:
            raise ParameterError(
                f'{source}: expected a [parameters."<name>"] table per parameter, got {params!r}'
            )
        out = []
        for name, spec in params.items():
            where = f'{source}: [parameters."{name}"]'
            spec = schema.table(
                spec, where, ParameterError, allowed=_KEYS, required=("lower", "upper")
            )
            nominal = spec.get("nominal")
            try:
                out.append(
                    Parameter(
                        name,
                        schema.number(spec["lower"], f"{where}.lower", ParameterError),
                        schema.number(spec["upper"], f"{where}.upper", ParameterError),
                        schema.string(
                            spec.get("scale", "linear"),
                            f"{where}.scale",
                            ParameterError,
                            choices=_SCALES,
                        ),
                        None
                        if nominal is None
                        else schema.number(nominal, f"{where}.nominal", ParameterError),
                    )
                )
            except ParameterError as exc:
                if str(exc).startswith(source):
                    raise
                raise ParameterError(f"{source}: {exc}") from exc
        return cls(tuple(out))

    @classmethod
    def load(cls, path: str | Path) -> ParameterSpace:
        path = Path(path)
        if not path.is_file():
            raise ParameterError(
                f"parameter space: expected an existing TOML file, got {str(path)!r}"
            )
        try:
            doc = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ParameterError(f"{path}: invalid TOML: {exc}") from exc
        return cls.from_dict(doc, source=str(path))


def identifiable_flags(space: ParameterSpace, values, stderr) -> list[bool]:
    """A parameter counts as identified when its standard error is under half its value (or under
    half of 1 % of its range, for values near zero) and finite."""
    return [
        bool(np.isfinite(s) and s < 0.5 * max(abs(v), 0.01 * (p.upper - p.lower)))
        for p, v, s in zip(space.parameters, values, stderr, strict=True)
    ]
