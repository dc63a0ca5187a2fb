"""A check's outcomes as a text table, JUnit XML (for CI systems) and Markdown (for PR comments)."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from workbench.check.compare import Outcome


def _num(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.6g}"


def _pct(o: Outcome) -> str:
    if o.baseline is None or not o.baseline or math.isnan(o.change):
        return "-"
    return f"{100 * o.change / abs(o.baseline):+.2f} %"


def _rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    return [
        [
            o.case,
            o.metric.label,
            _num(o.baseline),
            _num(o.value),
            _pct(o),
            f"+-{_num(o.allowed)}",
            o.status.upper() if o.status == "regressed" else o.status,
        ]
        for o in outcomes
    ]


HEADER = ["case", "metric", "baseline", "new", "change", "tolerance", "status"]


def text_table(outcomes: Sequence[Outcome]) -> str:
    rows = [HEADER, *_rows(outcomes)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def markdown(outcomes: Sequence[Outcome], *, suite: str) -> str:
    bad = [o for o in outcomes if o.status == "regressed"]
    head = (
        f"**workbench check `{suite}`: {len(bad)} of {len(outcomes)} metrics regressed**"
        if bad
        else f"**workbench check `{suite}`: all {len(outcomes)} metrics hold**"
    )
    lines = [head, "", "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in _rows(outcomes)]
    return "\n".join(lines) + "\n"


def junit_xml(outcomes: Sequence[Outcome], *, suite: str, seconds: dict[str, float]) -> str:
    """One <testcase> per guarded metric (classname workbench.check.<case>); regressions are
    <failure>s whose message names the metric, baseline, new value and tolerance."""
    failures = sum(o.status == "regressed" for o in outcomes)
    root = ET.Element(
        "testsuites",
        name="workbench check",
        tests=str(len(outcomes)),
        failures=str(failures),
        errors="0",
        time=f"{sum(seconds.values()):.3f}",
    )
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(outcomes)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{sum(seconds.values()):.3f}",
    )
    per_case: dict[str, int] = {}
    for o in outcomes:
        per_case[o.case] = per_case.get(o.case, 0) + 1
    for o in outcomes:
        tc = ET.SubElement(
            ts,
            "testcase",
            classname=f"workbench.check.{o.case}",
            name=o.metric.label,
            time=f"{seconds.get(o.case, 0.0) / per_case[o.case]:.3f}",
        )
        if o.status == "regressed":
            failure = ET.SubElement(tc, "failure", message=o.describe(), type="regression")
            failure.text = o.describe()
        else:
            ET.SubElement(tc, "system-out").text = o.describe()
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def outcomes_json(outcomes: Sequence[Outcome], *, suite: str) -> str:
    """The outcomes as JSON: {suite, outcomes: [{case, metric, key, stat, baseline, value,
    tolerance, status, message}]} (what `workbench report` reads)."""
    rows = [
        {
            "case": o.case,
            "metric": o.metric.label,
            "key": o.metric.key,
            "stat": o.metric.stat,
            "baseline": o.baseline,
            "value": o.value,
            "tolerance": None if o.baseline is None else o.allowed,
            "status": o.status,
            "message": o.describe(),
        }
        for o in outcomes
    ]
    return json.dumps({"suite": suite, "outcomes": rows}, indent=1, allow_nan=True) + "\n"
