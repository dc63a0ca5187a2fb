"""One self-contained HTML page (images embedded) from gap, check and calibration results
(`workbench report`)."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.output import atomic_write_text

__all__ = ["render_report", "write_html_report"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;
color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:4px;
margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;font-size:0.85em;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.bad{background:#fde2e2}.good{background:#e2f5e4}.note{color:#666;font-size:0.9em}
figure{display:inline-block;margin:6px;vertical-align:top}
figure img{max-width:560px;border:1px solid #eee}figcaption{font-size:0.8em;color:#555}
.scroll{max-height:420px;overflow:auto;display:inline-block}
"""


def _num(x: Any) -> str:
    if isinstance(x, float):
        return "-" if math.isnan(x) else f"{x:.5g}"
    return html.escape(str(x))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], classes=None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_num(c)}</td>" for c in r) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _png(data: bytes, caption: str) -> str:
    b64 = base64.b64encode(data).decode()
    cap = html.escape(caption)
    return f'<figure><img alt="{cap}" src="data:image/png;base64,{b64}"><figcaption>{cap}</figcaption></figure>'


def _figure(fig, caption: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return _png(buf.getvalue(), caption)


def _plots_of(path: Path, limit: int = 24) -> str:
    folder = path.parent / "plots"
    pngs = sorted(folder.glob("*.png"))[:limit] if folder.is_dir() else []
    return "".join(_png(p.read_bytes(), p.stem.replace("_", " ")) for p in pngs)


def _gap_section(path: Path, doc: dict) -> str:
    from workbench import plots
    from workbench.metrics.gap import GapReport
    from workbench.pipeline import headline_keys

    fields = ("scene", "mode", "settings", "episodes", "aggregate")
    report = GapReport(**{k: doc[k] for k in fields})
    keys = headline_keys(report)
    rows = [[k, *(report.aggregate[k][s] for s in ("median", "mean", "p90", "n"))] for k in keys]
    parts = [
        f"<h2>Gap: scene {html.escape(report.scene)}, mode {html.escape(report.mode)}, "
        f"{len(report.episodes)} episodes</h2>",
        f'<p class="note">{html.escape(str(path))}</p>',
        "<h3>Summary (over episodes)</h3>",
        _table(["metric", "median", "mean", "p90", "n"], rows),
    ]
    diverged = [e for e in report.episodes if e.get("diverged")]
    if diverged:
        parts.append(
            f'<p class="bad">{len(diverged)} episodes diverged and are excluded from the summary: '
            + ", ".join(html.escape(str(e["id"])) for e in diverged[:20])
            + "</p>"
        )
    shown = keys[:8]
    ep_rows = [[e["id"], *(e["metrics"].get(k, math.nan) for k in shown)] for e in report.episodes]
    parts += ["<h3>Per episode</h3>", _table(["episode", *shown], ep_rows[:500])]
    curves = ""
    if report.mode == "windows":
        keys = sorted(
            {
                k.split("/", 1)[1]
                for k in report.aggregate
                if k.startswith("h=") and k.endswith("/mae")
            }
        )
        for key in keys[:6]:
            curves += _figure(plots.horizon_curve(report, key), f"error vs horizon: {key}")
    if curves:
        parts += ["<h3>Error vs horizon</h3>", curves]
    figures = _plots_of(path)
    if figures:
        parts += ["<h3>Plots</h3>", figures]
    return "\n".join(parts)


def _calibration_section(path: Path, calib: dict | None, heldout: dict | None) -> str:
    parts = ["<h2>Calibration</h2>", f'<p class="note">{html.escape(str(path.parent))}</p>']
    if calib:
        rows = [
            [n, nom, v, s, f"[{c[0]:.4g}, {c[1]:.4g}]", "yes" if ok else "NO"]
            for n, nom, v, s, c, ok in zip(
                calib["names"],
                calib["nominal"],
                calib["values"],
                calib["stderr"],
                calib["ci95"],
                calib["identifiable"],
                strict=True,
            )
        ]
        parts += [
            "<h3>Parameters</h3>",
            _table(
                ["parameter", "nominal", "fitted", "std err", "95 % interval", "identifiable"], rows
            ),
            f'<p class="note">cost {calib["cost_start"]:.5g} -> {calib["cost_final"]:.5g}, '
            f"condition number {calib['condition_number']:.3g}, {calib['evaluations']} evaluations</p>",
        ]
        parts += [f'<p class="bad">{html.escape(w)}</p>' for w in calib.get("warnings", [])]
    if heldout:
        table = heldout["heldout"]
        rows, classes = [], []
        for k, v in table.items():
            ci = v.get("change_ci95_pct")
            rows.append(
                [
                    k,
                    v["nominal"],
                    v["calibrated"],
                    f"{v['change_pct']:+.1f} %",
                    "-" if not ci else f"[{ci[0]:+.1f}, {ci[1]:+.1f}] %",
                ]
            )
            classes.append("bad" if v["change_pct"] > 0 else "good")
        parts += [
            f"<h3>Held out ({len(heldout.get('test', []))} episodes)</h3>",
            _table(["metric", "nominal", "calibrated", "change", "95 % interval"], rows, classes),
        ]
    figures = _plots_of(path)
    if figures:
        parts += ["<h3>Plots</h3>", figures]
    return "\n".join(parts)


def _check_section(path: Path, doc: dict) -> str:
    rows = [
        [o["case"], o["metric"], o["baseline"], o["value"], o["tolerance"], o["status"]]
        for o in doc["outcomes"]
    ]
    classes = ["bad" if o["status"] == "regressed" else "" for o in doc["outcomes"]]
    bad = sum(c == "bad" for c in classes)
    return "\n".join(
        [
            f"<h2>Fidelity check: suite {html.escape(doc['suite'])}</h2>",
            f'<p class="note">{html.escape(str(path))}</p>',
            f"<p>{'<b>' + str(bad) + ' regressions</b>' if bad else 'all metrics hold'} "
            f"({len(rows)} metrics)</p>",
            _table(["case", "metric", "baseline", "new", "tolerance", "status"], rows, classes),
        ]
    )


def _read(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"report: expected an existing JSON file, got {str(path)!r}")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def render_report(paths: Sequence[str | Path], *, title: str = "workbench report") -> str:
    """The HTML page for gap.json, check JSON (`check --json`), calibration.json or a
    calibration's report.json files (the other file of a calibration folder is read too)."""
    if not paths:
        raise ConfigError("report: expected at least one JSON file")
    sections = []
    for p in map(Path, paths):
        doc = _read(p)
        if {"aggregate", "episodes", "scene", "mode"} <= set(doc):
            sections.append(_gap_section(p, doc))
        elif {"outcomes", "suite"} <= set(doc):
            sections.append(_check_section(p, doc))
        elif {"names", "values", "ci95"} <= set(doc) or "heldout" in doc:
            calib = doc if "names" in doc else None
            held = doc if "heldout" in doc else None
            other = p.parent / ("report.json" if calib else "calibration.json")
            if other.is_file():
                calib, held = calib or _read(other), held or _read(other)
            sections.append(_calibration_section(p, calib, held))
        else:
            raise ConfigError(
                f"{p}: expected a gap.json, a check JSON, calibration.json or a calibration "
                f"report.json, got an object with keys {sorted(doc)[:8]}"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>" + "\n".join(sections) + "</body></html>\n"
    )


def write_html_report(paths: Sequence[str | Path], out: str | Path, **kw) -> Path:
    return atomic_write_text(out, render_report(paths, **kw))
