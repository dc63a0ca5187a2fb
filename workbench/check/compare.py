"""Baselines (JSON: case -> metric key -> stat -> value) and the comparison of a run with one."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.check.suite import MetricSpec, Suite
from workbench.errors import ConfigError
from workbench.output import atomic_write_text

Values = dict[str, dict[str, dict[str, float]]]  # case -> key -> stat -> value


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One guarded metric: `status` is "ok", "improved", "regressed" or "missing" (no baseline)."""

    case: str
    metric: MetricSpec
    baseline: float | None
    value: float
    status: str

    @property
    def change(self) -> float:
        """new - baseline (NaN without a baseline)."""
        return math.nan if self.baseline is None else self.value - self.baseline

    @property
    def allowed(self) -> float:
        return math.nan if self.baseline is None else self.metric.tolerance.allowed(self.baseline)

    def describe(self) -> str:
        """One line naming the metric, baseline, new value and tolerance."""
        tol = self.metric.tolerance
        if self.baseline is None:
            return f"{self.case}: {self.metric.label} = {self.value:.6g} has no baseline"
        pct = f" ({100 * self.change / abs(self.baseline):+.2f} %)" if self.baseline else ""
        return (
            f"{self.case}: {self.metric.label}: baseline {self.baseline:.6g}, new {self.value:.6g}"
            f"{pct}, tolerance +-{self.allowed:.3g} (abs {tol.abs:g} + rel {tol.rel:g}), "
            f"{self.metric.better} is better: {self.status}"
        )


def judge(metric: MetricSpec, baseline: float | None, value: float) -> str:
    if baseline is None:
        return "missing"
    if math.isnan(value) or math.isnan(baseline):
        return "ok" if math.isnan(value) and math.isnan(baseline) else "regressed"
    change = value - baseline
    if abs(change) <= metric.tolerance.allowed(baseline):
        return "ok"
    if metric.better == "lower" and change < 0 or metric.better == "higher" and change > 0:
        return "improved"
    return "regressed"


def compare(suite: Suite, values: Values, baseline: Values) -> list[Outcome]:
    """Each guarded metric of `values` against `baseline`."""
    out = []
    for case in suite.cases:
        for m in case.metrics:
            base = baseline.get(case.name, {}).get(m.key, {}).get(m.stat)
            value = values[case.name][m.key][m.stat]
            out.append(Outcome(case.name, m, base, value, judge(m, base, value)))
    return out


def load_baseline(path: str | Path) -> Values:
    """A baseline file; a malformed one raises ConfigError naming the file and entry."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"--baseline: expected an existing JSON file, got {str(path)!r} "
            "(create it with --update-baseline)"
        )
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(cases, dict):
        raise ConfigError(f'{path}: expected an object with "cases", got {type(doc).__name__}')
    for case, keys in cases.items():
        for key, stats in keys.items() if isinstance(keys, dict) else [(None, None)]:
            if not isinstance(stats, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in stats.values()
            ):
                raise ConfigError(
                    f"{path}: cases.{case}.{key}: expected {{stat: number}}, got {stats!r}"
                )
    return cases


def save_baseline(path: str | Path, suite: Suite, values: Values, meta: Mapping[str, Any]) -> Path:
    doc = {"suite": suite.name, **meta, "cases": values}
    return atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
