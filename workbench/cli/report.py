"""`workbench report`: one self-contained HTML page from gap, check and calibration results."""

from __future__ import annotations


def add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="a self-contained HTML report from gap.json, check JSON or calibration results",
    )
    p.add_argument(
        "results",
        nargs="+",
        help="gap.json, a `check --json` file, calibration.json or a calibration's report.json",
    )
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.add_argument("--title", default="workbench report")


def cmd_report(args) -> int:
    from pathlib import Path

    from workbench.errors import OutputError
    from workbench.output import check_output_folder
    from workbench.report import write_html_report

    out = Path(args.out)
    if out.is_dir():
        raise OutputError(f"--out: expected an HTML file path, got the folder {str(out)!r}")
    check_output_folder(out.parent if str(out.parent) else ".", option="--out")
    path = write_html_report(args.results, out, title=args.title)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB, images embedded)")
    return 0
