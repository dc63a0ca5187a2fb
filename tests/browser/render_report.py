"""Render a workbench HTML report in headless Chromium: no console errors, a screenshot.

    python tests/browser/render_report.py OUT_DIR

Builds a gap report (cube tosses, windows), a check JSON (the bundled suite) and a quick calibration
of the bundled pendulum run, writes `OUT_DIR/report.html`, opens it in Debian's `chromium`
(`apt-get install chromium`) and writes `OUT_DIR/report.png`. Exits 1 when the page logs a console
error or the screenshot is missing. `tests/test_report.py` runs it when chromium is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from workbench.cli import main
from workbench.paths import assets_root, scenes_root


def build(out: Path) -> Path:
    data = assets_root() / "data"
    assert (
        main(
            [
                "gap",
                str(data / "cube_toss"),
                "--scene",
                "cube_toss",
                "--mode",
                "windows",
                "--horizons",
                "0.1,0.25",
                "--episodes",
                "0:10",
                "--out",
                str(out / "gap"),
            ]
        )
        == 0
    )
    fidelity = assets_root() / "fidelity"
    assert main(
        [
            "check",
            "--suite",
            str(fidelity / "suite.toml"),
            "--baseline",
            str(fidelity / "baseline.json"),
            "--json",
            str(out / "check.json"),
        ]
    ) in (0, 1)
    space = scenes_root() / "double_pendulum" / "calibration_space.toml"
    assert (
        main(
            [
                "calibrate",
                str(data / "double_pendulum"),
                "--scene",
                "double_pendulum",
                "--space",
                str(space),
                "--time-split",
                "0.5",
                "--max-iter",
                "1",
                "--out",
                str(out / "cal"),
            ]
        )
        == 0
    )
    html = out / "report.html"
    assert (
        main(
            [
                "report",
                str(out / "gap" / "gap.json"),
                str(out / "check.json"),
                str(out / "cal" / "calibration.json"),
                "--out",
                str(html),
            ]
        )
        == 0
    )
    return html


def render(html: Path, png: Path) -> list[str]:
    """Console errors logged while Chromium renders `html` to `png`."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    result = subprocess.run(
        [
            browser,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2400",
            f"--screenshot={png}",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return [
        line for line in result.stderr.splitlines() if "CONSOLE" in line and "error" in line.lower()
    ]


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "report_check")
    out.mkdir(parents=True, exist_ok=True)
    html = build(out)
    errors = render(html, out / "report.png")
    print(f"{html}: {len(errors)} console errors; screenshot {out / 'report.png'}")
    for e in errors:
        print(e)
    sys.exit(1 if errors or not (out / "report.png").is_file() else 0)
