"""Fidelity suites (TOML): which recordings replay in which scene, and which aggregate metrics of
the gap report are guarded with what tolerance.

Example::

    name = "bundled-real"
    [tolerance]                    # defaults for every metric: holds if the metric got better, or
    abs = 1e-6                     # |new - baseline| <= abs + rel * |baseline|
    rel = 0.02

    [[cases]]
    name = "cube_windows"
    scene = "cube_toss"            # bundled scene name, or a folder (relative to this file)
    recordings = ["../data/cube_toss"]   # relative to this file
    mode = "windows"               # open_loop | windows | tracking | inverse
    episodes = "0:30"
    horizons = [0.1, 0.25]
    metrics = [
      "h=0.25s/qpos/cube/position_error_m/mae",                      # median over episodes
      { key = "h=0.1s/qpos/cube/rotation_error_deg/mae", stat = "p90", rel = 0.05 },
    ]
    [cases.params]                 # optional physics values by MuJoCo name (or params = "file")
    "pair_friction[cube_table][0]" = 0.18
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tomllib

from workbench import schema
from workbench.errors import ConfigError

STATS = ("median", "mean", "p90")
BETTER = ("lower", "higher", "either")
_HIGHER_IS_BETTER = ("divergence_time_s", "divergence_horizon_s")


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """A metric holds if it moved in its better direction, or |new - base| <= abs + rel |base|."""

    abs: float = 1e-9
    rel: float = 0.02

    def allowed(self, baseline: float) -> float:
        return self.abs + self.rel * abs(baseline)


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """One guarded aggregate: `key` of `GapReport.aggregate`, its `stat`, direction, tolerance."""

    key: str
    stat: str
    better: str
    tolerance: Tolerance

    @property
    def label(self) -> str:
        return f"{self.key} [{self.stat}]"


@dataclasses.dataclass(frozen=True)
class Case:
    """One gap run of a suite and the metrics it guards."""

    name: str
    scene: str
    recordings: tuple[str, ...]
    mode: str
    metrics: tuple[MetricSpec, ...]
    mapping: str | None = None
    episodes: str | None = None
    horizons: tuple[float, ...] = (0.1, 0.25, 0.5)
    stride: float = 0.05
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    cases: tuple[Case, ...]


_TOP = {"name", "description", "tolerance", "cases"}
_CASE = {
    "name",
    "scene",
    "recordings",
    "mapping",
    "mode",
    "episodes",
    "horizons",
    "stride",
    "params",
    "metrics",
    "tolerance",
}
_METRIC = {"key", "stat", "better", "abs", "rel"}


def _tolerance(raw: Any, where: str, default: Tolerance) -> Tolerance:
    t = schema.table(raw, where, ConfigError, allowed={"abs", "rel"})
    return Tolerance(
        schema.number(t.get("abs", default.abs), f"{where}.abs", ConfigError, lower=0),
        schema.number(t.get("rel", default.rel), f"{where}.rel", ConfigError, lower=0),
    )


def _metric(raw: Any, where: str, default: Tolerance) -> MetricSpec:
    if isinstance(raw, str):
        raw = {"key": raw}
    m = schema.table(raw, where, ConfigError, allowed=_METRIC, required=("key",))
    key = schema.string(m["key"], f"{where}.key", ConfigError)
    better = "higher" if key.endswith(_HIGHER_IS_BETTER) else "lower"
    tol = {k: m[k] for k in ("abs", "rel") if k in m}
    return MetricSpec(
        key,
        schema.string(m.get("stat", "median"), f"{where}.stat", ConfigError, choices=STATS),
        schema.string(m.get("better", better), f"{where}.better", ConfigError, choices=BETTER),
        _tolerance(tol, where, default),
    )


def _relative(folder: Path, value: str) -> str:
    path = Path(value)
    return str(path if path.is_absolute() else folder / path)


def _case(raw: Any, where: str, folder: Path, default: Tolerance) -> Case:
    c = schema.table(
        raw, where, ConfigError, allowed=_CASE, required=("name", "scene", "recordings", "metrics")
    )
    tol = _tolerance(c.get("tolerance", {}), f"{where}.tolerance", default)
    metrics = c["metrics"]
    if not isinstance(metrics, list) or not metrics:
        raise ConfigError(f"{where}.metrics: expected a non-empty list, got {metrics!r}")
    recordings = c["recordings"]
    if isinstance(recordings, str):
        recordings = [recordings]
    recordings = schema.string_list(recordings, f"{where}.recordings", ConfigError)
    scene = schema.string(c["scene"], f"{where}.scene", ConfigError)
    if "/" in scene or scene.startswith("."):
        scene = _relative(folder, scene)
    params = c.get("params", {})
    if isinstance(params, str):
        from workbench.physics import load_values

        params = load_values(_relative(folder, params))
    if not isinstance(params, dict):
        raise ConfigError(
            f"{where}.params: expected a table of values by MuJoCo name or a file path, got {params!r}"
        )
    spec = Case(
        name=schema.string(c["name"], f"{where}.name", ConfigError),
        scene=scene,
        recordings=tuple(_relative(folder, r) for r in recordings),
        mode=schema.string(
            c.get("mode", "open_loop"),
            f"{where}.mode",
            ConfigError,
            choices=("open_loop", "windows", "tracking", "inverse"),
        ),
        metrics=tuple(_metric(m, f"{where}.metrics[{i}]", tol) for i, m in enumerate(metrics)),
        mapping=_relative(folder, schema.string(c["mapping"], f"{where}.mapping", ConfigError))
        if "mapping" in c
        else None,
        episodes=schema.string(c["episodes"], f"{where}.episodes", ConfigError)
        if "episodes" in c
        else None,
        horizons=schema.number_list(
            c.get("horizons", [0.1, 0.25, 0.5]),
            f"{where}.horizons",
            ConfigError,
            lower=0,
            lower_open=True,
        ),
        stride=schema.number(
            c.get("stride", 0.05), f"{where}.stride", ConfigError, lower=0, lower_open=True
        ),
        params=params,
    )
    labels = [m.label for m in spec.metrics]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{where}.metrics: expected each metric once, got {labels}")
    return spec


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; paths in it are relative to its folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--suite: expected an existing TOML file, got {str(path)!r}")
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    top = schema.table(doc, str(path), ConfigError, allowed=_TOP, required=("cases",))
    default = _tolerance(top.get("tolerance", {}), f"{path}: [tolerance]", Tolerance())
    raw_cases = top["cases"]
    if not isinstance(raw_cases, list) or not raw_cases:
        raise ConfigError(
            f"{path}: cases: expected at least one [[cases]] table, got {raw_cases!r}"
        )
    cases = tuple(
        _case(c, f"{path}: cases[{i}]", path.parent, default) for i, c in enumerate(raw_cases)
    )
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: cases: expected unique names, got {names}")
    name = schema.string(top.get("name", path.stem), f"{path}: name", ConfigError)
    return Suite(name, path, cases)
