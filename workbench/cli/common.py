"""Shared command-line helpers: progress reporting and argument parsers."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable


class Progress:
    """Progress on stderr: a tqdm bar on a terminal, a plain line every `interval` seconds
    otherwise (CI logs, batch jobs), and always a last line on close."""

    def __init__(self, desc: str, unit: str, *, total: int = 0, interval: float = 10.0):
        self.desc, self.unit, self.total, self.interval = desc, unit, total, interval
        self.done, self.note, self._last = 0, "", time.monotonic()
        self._bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        self.done, self.total, self.note = done, total or self.total, note
        if self._bar is not None:
            self._bar.total, self._bar.n = self.total, done
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.refresh()
        elif time.monotonic() - self._last >= self.interval:
            self._line()

    def _line(self) -> None:
        self._last = time.monotonic()
        total = f"/{self.total}" if self.total else ""
        note = f" ({self.note})" if self.note else ""
        print(f"{self.desc}: {self.done}{total} {self.unit}{note}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done:
            self._line()


def progress_bar(desc: str, unit: str = "episodes") -> tuple[Progress, Callable[[int, int], None]]:
    """A Progress and its (done, total) callback."""
    bar = Progress(desc, unit)
    return bar, lambda done, total: bar.update(done, total)


def floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated seconds, got {text!r}"
        ) from None


def add_motion_arguments(parser, modes: str) -> None:
    """--smooth and --derivatives: how inverse dynamics reads the recorded motion."""
    parser.add_argument(
        "--smooth", type=float, default=0.2, help=f"{modes}: smoothing window [s] (0: raw)"
    )
    parser.add_argument(
        "--derivatives",
        default="auto",
        choices=("auto", "positions", "velocities"),  # workbench.replay.inverse
        help=f"{modes}: differentiate the recorded positions or the recorded velocities "
        "(auto: positions for hinge/slide-only models)",
    )


def add_event_arguments(parser, what: str) -> None:
    """--event and --event-margin: restrict scoring to where a predicate holds."""
    parser.add_argument(
        "--event",
        metavar="PREDICATE",
        help=f"{what} only where the predicate holds, e.g. 'speed:cube > 0.01' (the body's "
        "speed [m/s] from its body_pose signal; or 'speed:marker:<name> > ...')",
    )
    parser.add_argument(
        "--event-margin",
        metavar="S[,S]",
        help="seconds kept before and after the event: one value or before,after (default 0.1,0.3)",
    )


def event_option(args):
    """The EventWindow of --event/--event-margin, or None (SettingsError on bad input)."""
    from workbench.errors import SettingsError
    from workbench.metrics.events import parse_event

    if args.event is None:
        if args.event_margin is not None:
            raise SettingsError(
                f"--event-margin: expected with --event, got {args.event_margin!r} alone"
            )
        return None
    margin = None
    if args.event_margin is not None:
        try:
            margin = tuple(float(x) for x in args.event_margin.split(","))
        except ValueError:
            raise SettingsError(
                f"--event-margin: expected seconds, one value or before,after, got "
                f"{args.event_margin!r}"
            ) from None
    return parse_event(args.event, margin=margin)


def score_option(text: str | None) -> list[str] | None:
    """--score NAME[,NAME...] as a list (checked against the replay by the pipeline)."""
    if text is None:
        return None
    return [x.strip() for x in text.split(",")]
