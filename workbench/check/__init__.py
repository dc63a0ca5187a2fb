"""Fidelity gate: replay a suite of recordings, compare guarded gap metrics with a committed
baseline, and fail on regression (`workbench check`)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path

from workbench.check.compare import Outcome, Values, compare, load_baseline, save_baseline
from workbench.check.formats import junit_xml, markdown, outcomes_json, text_table
from workbench.check.suite import Case, MetricSpec, Suite, Tolerance, load_suite
from workbench.errors import ConfigError, name_list

__all__ = [
    "Case",
    "CheckResult",
    "MetricSpec",
    "Outcome",
    "Suite",
    "Tolerance",
    "compare",
    "junit_xml",
    "load_baseline",
    "load_suite",
    "markdown",
    "outcomes_json",
    "run_suite",
    "save_baseline",
    "text_table",
]


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """Measured values of every guarded metric and the seconds each case took."""

    suite: Suite
    values: Values
    seconds: dict[str, float]


def run_suite(
    suite: Suite,
    *,
    out: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CheckResult:
    """Replay every case (gap run; written under `out/<case>` when given) and read its metrics.

    Raises ConfigError when a guarded metric is not in a case's report (listing the keys it has).
    """
    from workbench.pipeline import run_gap
    from workbench.replay import ReplaySettings

    values: Values = {}
    seconds: dict[str, float] = {}
    for case in suite.cases:
        start = time.perf_counter()
        settings = ReplaySettings(mode=case.mode, horizons=case.horizons, window_stride=case.stride)
        report = run_gap(
            list(case.recordings),
            scene=case.scene,
            mapping=case.mapping,
            settings=settings,
            params=case.params,
            select=case.episodes,
            out=Path(out) / case.name if out is not None else None,
            progress=(lambda d, t, c=case.name: progress(c, d, t)) if progress else None,
        )
        seconds[case.name] = time.perf_counter() - start
        got: dict[str, dict[str, float]] = {}
        for m in case.metrics:
            if m.key not in report.aggregate:
                raise ConfigError(
                    f"{suite.path}: case {case.name!r}: metric {m.key!r} is not in its report; "
                    f"keys are {name_list(report.aggregate, limit=60)}"
                )
            value = report.aggregate[m.key].get(m.stat, math.nan)
            got.setdefault(m.key, {})[m.stat] = float(value)
        values[case.name] = got
    return CheckResult(suite, values, seconds)
