"""RandomizationSpec: distributions over physics values by MuJoCo name, initial-state noise and
sensor noise, in TOML or Python.

TOML form (a calibration's `distribution.toml` is one, with the default operation `set`)::

    description = "cube tosses, fitted on 0-299"

    [parameters."pair_friction[cube_table][0]"]
    distribution = "truncated_normal"   # uniform | log_uniform | normal | truncated_normal
    mean = 0.18
    std = 0.03
    lower = 0.1
    upper = 0.4
    operation = "set"                    # set (the draw) | scale (nominal x draw) | add (nominal + draw)

    [parameters."scale:body_inertia[cube]"]
    distribution = "uniform"
    lower = 0.9
    upper = 1.1

    [initial_state."qvel/cube[0]"]       # added to the recorded state the replay starts from
    distribution = "normal"
    mean = 0.0
    std = 0.01

    [sensor_noise."qpos/cube[0]"]        # added to every sample of a recorded signal
    distribution = "normal"
    mean = 0.0
    std = 0.001

Unknown keys are errors at every level; parameter names are checked for form here and against a
model when a `Randomizer` binds the spec (a wrong name lists the valid ones).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomllib

from workbench import schema
from workbench.errors import ConfigError, ParameterError
from workbench.physics.names import SCALE_PREFIX, parse_name
from workbench.physics.signal_params import is_signal_param
from workbench.randomize.distributions import Distribution

OPERATIONS = ("set", "scale", "add")
_TOP = ("description", "parameters", "initial_state", "sensor_noise")
_SIGNAL_COLUMN = re.compile(r"^(?P<signal>[^/\s]+)/(?P<column>\S.*)$")


@dataclasses.dataclass(frozen=True)
class ParameterRandomization:
    """One physics value by MuJoCo name: the written value is the draw (`set`), nominal x draw
    (`scale`, element by element) or nominal + draw (`add`); nominal is the value the model had
    when the spec was bound, so draws never compound."""

    name: str
    distribution: Distribution
    operation: str = "set"

    def __post_init__(self) -> None:
        schema.string(self.name, "parameter name", ConfigError)
        where = f"parameters.{self.name!r}"
        if not isinstance(self.distribution, Distribution):
            raise ConfigError(f"{where}: expected a Distribution, got {self.distribution!r}")
        schema.string(self.operation, f"{where}: operation", ConfigError, choices=OPERATIONS)
        if is_signal_param(self.name):
            raise ConfigError(
                f"{where}: measurement parameters (delay:, offset:) describe the recording, not "
                "the physics; randomize recorded signals with [sensor_noise] instead"
            )
        try:
            parse_name(
                self.name[len(SCALE_PREFIX) :] if self.name.startswith(SCALE_PREFIX) else self.name
            )
        except ParameterError as exc:
            raise ConfigError(f"{where}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class SignalNoise:
    """Additive noise on one column of a recorded signal, e.g. signal 'qvel', column 'cube[3]'."""

    signal: str
    column: str
    distribution: Distribution

    def __post_init__(self) -> None:
        schema.string(self.signal, "noise signal", ConfigError)
        schema.string(self.column, "noise column", ConfigError)
        if not isinstance(self.distribution, Distribution):
            raise ConfigError(f"{self.key}: expected a Distribution, got {self.distribution!r}")

    @property
    def key(self) -> str:
        return f"{self.signal}/{self.column}"

    @classmethod
    def from_key(cls, key: str, distribution: Distribution, where: str) -> SignalNoise:
        m = _SIGNAL_COLUMN.match(key) if isinstance(key, str) else None
        if not m:
            raise ConfigError(
                f"{where}: expected a key '<signal>/<column>' (e.g. 'qvel/cube[3]'), got {key!r}"
            )
        return cls(m.group("signal"), m.group("column"), distribution)


@dataclasses.dataclass(frozen=True)
class RandomizationSpec:
    """Frozen, validated randomization: physics values, initial-state and sensor noise."""

    parameters: tuple[ParameterRandomization, ...] = ()
    initial_state: tuple[SignalNoise, ...] = ()
    sensor_noise: tuple[SignalNoise, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        for field in ("parameters", "initial_state", "sensor_noise"):
            items = getattr(self, field)
            if not isinstance(items, tuple):
                object.__setattr__(self, field, items := tuple(items))
            keys = [p.name if field == "parameters" else p.key for p in items]
            dup = sorted({k for k in keys if keys.count(k) > 1})
            if dup:
                raise ConfigError(f"randomization spec: duplicate {field} entries {dup}")
        if not (self.parameters or self.initial_state or self.sensor_noise):
            raise ConfigError(
                "randomization spec: expected at least one entry in [parameters], "
                "[initial_state] or [sensor_noise], got none"
            )
        if not isinstance(self.description, str):
            raise ConfigError(f"description: expected a string, got {self.description!r}")

    # -- files ---------------------------------------------------------------------------------
    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str = "randomization spec"
    ) -> RandomizationSpec:
        data = schema.table(data, where, ConfigError, allowed=_TOP)
        params, state, sensor = [], [], []
        for name, table in _section(data, "parameters", where).items():
            w = f"{where}: [parameters.{name!r}]"
            table = schema.table(table, w, ConfigError, allowed=(*_DIST_KEYS, "operation"))
            op = table.pop("operation", "set")
            try:
                params.append(ParameterRandomization(name, Distribution.from_table(table, w), op))
            except ConfigError as exc:
                raise ConfigError(
                    str(exc) if str(exc).startswith(where) else f"{w}: {exc}"
                ) from None
        for section, out in (("initial_state", state), ("sensor_noise", sensor)):
            for key, table in _section(data, section, where).items():
                w = f"{where}: [{section}.{key!r}]"
                out.append(SignalNoise.from_key(key, Distribution.from_table(table, w), w))
        return cls(tuple(params), tuple(state), tuple(sensor), data.get("description", ""))

    @classmethod
    def load(cls, path: str | Path) -> RandomizationSpec:
        """Read a TOML (or JSON) spec; errors name the file and the key."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"randomization spec: expected an existing TOML/JSON file, got {str(path)!r}"
            )
        try:
            text = path.read_text()
            data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"randomization spec {str(path)!r}: not valid TOML/JSON: {exc}"
            ) from None
        return cls.from_dict(data, where=f"randomization spec {str(path)!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        if self.parameters:
            out["parameters"] = {
                p.name: {**p.distribution.as_table(), "operation": p.operation}
                for p in self.parameters
            }
        for section in ("initial_state", "sensor_noise"):
            items = getattr(self, section)
            if items:
                out[section] = {n.key: n.distribution.as_table() for n in items}
        return out

    def to_toml(self) -> str:
        """TOML text that `load` reads back to an equal spec (floats written with repr)."""
        lines = []
        if self.description:
            lines.append(f"description = {json.dumps(self.description)}")
        for section, items in self.to_dict().items():
            if section == "description":
                continue
            for key, table in items.items():
                lines.append(f"\n[{section}.{json.dumps(key)}]")
                for k, v in table.items():
                    lines.append(f"{k} = {json.dumps(v) if isinstance(v, str) else repr(float(v))}")
        return "\n".join(lines) + "\n"

    def digest(self) -> str:
        """sha256 of the canonical JSON form: the spec's identity in sample seeds."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # -- derived specs -------------------------------------------------------------------------
    def widened(
        self, *, parameters: float = 1.0, initial_state: float = 1.0, sensor_noise: float = 1.0
    ) -> RandomizationSpec:
        """The same centres with each section's spread multiplied by a factor (0: a point)."""
        return dataclasses.replace(
            self,
            parameters=tuple(
                dataclasses.replace(p, distribution=p.distribution.widened(parameters))
                for p in self.parameters
            ),
            initial_state=tuple(
                dataclasses.replace(n, distribution=n.distribution.widened(initial_state))
                for n in self.initial_state
            ),
            sensor_noise=tuple(
                dataclasses.replace(n, distribution=n.distribution.widened(sensor_noise))
                for n in self.sensor_noise
            ),
        )


_DIST_KEYS = ("distribution", "mean", "std", "lower", "upper")


def _section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where}: [{key}] expected a table of named tables, got {type(value).__name__} {value!r}"
        )
    return value


def load_spec(path: str | Path) -> RandomizationSpec:
    """`RandomizationSpec.load`."""
    return RandomizationSpec.load(path)
