"""The `workbench` command line."""

from __future__ import annotations

import argparse
import sys

from workbench.cli.augment import add_augment, cmd_augment
from workbench.cli.calibrate import add_calibrate, cmd_calibrate
from workbench.cli.check import add_check, cmd_check
from workbench.cli.gap import add_gap, cmd_demo, cmd_gap, cmd_scenes
from workbench.cli.inspect import add_inspect, cmd_inspect
from workbench.cli.randomize import add_randomize, cmd_ensemble, cmd_sweep
from workbench.cli.report import add_report, cmd_report
from workbench.cli.retarget import add_retarget, cmd_retarget
from workbench.cli.scene import add_make_scene, cmd_make_scene
from workbench.cli.scene_object import add_scene, cmd_scene
from workbench.errors import WorkbenchError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_gap(sub)
    add_calibrate(sub)
    add_check(sub)
    add_inspect(sub)
    add_report(sub)
    add_randomize(sub)
    add_scene(sub)
    sub.add_parser("scenes", help="list the bundled scenes")
    add_make_scene(sub)
    add_retarget(sub)
    add_augment(sub)
    demo = sub.add_parser("demo", help="gap reports on the bundled real data")
    demo.add_argument("--out", default="demo_out")
    args = parser.parse_args(argv)
    try:
        return {
            "gap": cmd_gap,
            "calibrate": cmd_calibrate,
            "check": cmd_check,
            "inspect": cmd_inspect,
            "report": cmd_report,
            "ensemble": cmd_ensemble,
            "sweep": cmd_sweep,
            "scenes": cmd_scenes,
            "make-scene": cmd_make_scene,
            "scene": cmd_scene,
            "demo": cmd_demo,
            "retarget": cmd_retarget,
            "augment": cmd_augment,
        }[args.command](args)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # unreadable input, full disk: the message names the path
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
