"""`workbench check`: the fidelity gate for CI (exit 0 all hold, 1 regression, 2 broken suite)."""

from __future__ import annotations

import sys
from pathlib import Path

from workbench.cli.common import Progress


def add_check(sub) -> None:
    p = sub.add_parser(
        "check",
        help="replay a fidelity suite and compare its metrics with a baseline (CI gate)",
        description="Exit 0 when every guarded metric holds, 1 on any regression, 2 on a broken "
        "suite or baseline.",
    )
    p.add_argument("--suite", required=True, help="suite TOML (cases, metrics, tolerances)")
    p.add_argument("--baseline", required=True, help="baseline JSON (committed)")
    p.add_argument(
        "--update-baseline",
        action="store_true",
        help="write the measured values as the new baseline (after a deliberate change)",
    )
    p.add_argument("--junit", help="also write JUnit XML here (one testcase per metric)")
    p.add_argument("--markdown", help="also write a Markdown summary here (e.g. a PR comment)")
    p.add_argument(
        "--json", help="also write the outcomes as JSON here (input of `workbench report`)"
    )
    p.add_argument("--out", help="keep each case's gap outputs under this folder")


def cmd_check(args) -> int:
    import mujoco

    import workbench
    from workbench.check import (
        compare,
        junit_xml,
        load_baseline,
        load_suite,
        markdown,
        outcomes_json,
        run_suite,
        save_baseline,
        text_table,
    )
    from workbench.errors import ConfigError
    from workbench.output import atomic_write_text, check_output_folder

    suite = load_suite(args.suite)
    baseline = {} if args.update_baseline else load_baseline(args.baseline)
    for option in ("junit", "markdown", "json"):
        path = getattr(args, option)
        if path:
            check_output_folder(Path(path).parent or ".", option=f"--{option}")
            if Path(path).is_dir():
                raise ConfigError(f"--{option}: expected a file path, got folder {path!r}")
    if args.out:
        check_output_folder(args.out)
    bar = Progress(f"check {suite.name}", "episodes")
    try:
        result = run_suite(
            suite,
            out=args.out,
            progress=lambda case, done, total: bar.update(done, total, note=case),
        )
    finally:
        bar.close()
    if args.update_baseline:
        meta = {"workbench": workbench.__version__, "mujoco": mujoco.__version__}
        path = save_baseline(args.baseline, suite, result.values, meta)
        n = sum(len(s) for k in result.values.values() for s in k.values())
        print(f"wrote {path}: {n} metrics of {len(suite.cases)} cases")
        return 0
    outcomes = compare(suite, result.values, baseline)
    print(text_table(outcomes))
    if args.junit:
        atomic_write_text(args.junit, junit_xml(outcomes, suite=suite.name, seconds=result.seconds))
    if args.markdown:
        atomic_write_text(args.markdown, markdown(outcomes, suite=suite.name))
    if args.json:
        atomic_write_text(args.json, outcomes_json(outcomes, suite=suite.name))
    missing = [o for o in outcomes if o.status == "missing"]
    if missing:
        raise ConfigError(
            f"{args.baseline}: no baseline for {len(missing)} metrics, e.g. "
            f"{missing[0].case}: {missing[0].metric.label}; run with --update-baseline"
        )
    bad = [o for o in outcomes if o.status == "regressed"]
    better = [o for o in outcomes if o.status == "improved"]
    for o in bad:
        print(f"REGRESSION {o.describe()}", file=sys.stderr)
    if better:
        print(f"{len(better)} metrics improved beyond tolerance: consider --update-baseline")
    print(f"{len(outcomes) - len(bad)} of {len(outcomes)} metrics hold")
    return 1 if bad else 0
