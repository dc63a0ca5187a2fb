"""A report's per-episode metrics as a long table: one row per episode and compared quantity
(a joint, a body's position or rotation, at a horizon), one column per statistic; as CSV and text."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

STAT_ORDER = (
    "rmse",
    "mae",
    "max",
    "final",
    "mean",
    "divergence_time_s",
    "divergence_horizon_s",
    "first_contact_time_error_s",
)


def metric_table(episodes: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): rows `[episode, quantity, *stats]`; a diverged episode gets one row whose
    quantity is `diverged` and whose first stat is its divergence time."""
    quantities: dict[tuple[str, str], dict[str, float]] = {}
    stats: dict[str, None] = {}
    diverged = {}
    for e in episodes:
        if e.get("diverged"):
            diverged[e["id"]] = (e.get("divergence") or {}).get("time_s", math.nan)
            quantities[(e["id"], "diverged")] = {}
            continue
        for key, value in e["metrics"].items():
            quantity, stat = key.rsplit("/", 1)
            quantities.setdefault((e["id"], quantity), {})[stat] = value
            stats[stat] = None
    order = [s for s in STAT_ORDER if s in stats] + [s for s in stats if s not in STAT_ORDER]
    header = ["episode", "quantity", *order]
    rows = []
    for (eid, quantity), values in quantities.items():
        if quantity == "diverged":
            rows.append([eid, f"diverged at {diverged[eid]:.4g} s", *([math.nan] * len(order))])
        else:
            rows.append([eid, quantity, *(values.get(s, math.nan) for s in order)])
    return header, rows


def table_csv(episodes: Sequence[dict[str, Any]]) -> str:
    header, rows = metric_table(episodes)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([f"{v:.9g}" if isinstance(v, float) else v for v in r])
    return buf.getvalue()


def format_table(episodes: Sequence[dict[str, Any]]) -> str:
    """Fixed-width text of the table (for a handful of episodes)."""
    header, rows = metric_table(episodes)
    text = [header] + [
        [
            f"{v:.5g}"
            if isinstance(v, float) and not math.isnan(v)
            else ("" if isinstance(v, float) else str(v))
            for v in r
        ]
        for r in rows
    ]
    widths = [max(len(r[i]) for r in text) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in text
    )
