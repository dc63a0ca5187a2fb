"""`workbench calibrate`: fit physics to recordings and report held-out fidelity."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from workbench import schema
from workbench.cli.common import (
    Progress,
    add_event_arguments,
    add_motion_arguments,
    event_option,
    floats,
)
from workbench.errors import SettingsError
from workbench.output import check_output_folder


def add_calibrate(sub) -> None:
    p = sub.add_parser(
        "calibrate", help="fit physics parameters to recordings; report held-out fidelity"
    )
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--scene", required=True)
    p.add_argument("--mapping", help="mapping TOML (default: the scene's dataset_mapping)")
    p.add_argument("--space", required=True, help="parameter space TOML")
    p.add_argument(
        "--objective",
        default="windows",
        choices=("windows", "inverse", "tosses"),
        help="windows: k-step prediction (least squares); inverse: joint torques (least "
        "squares); tosses: Acosta et al.'s toss protocol (CMA-ES)",
    )
    p.add_argument("--train", help="training episode selector, e.g. 0:2 (default: all)")
    p.add_argument("--test", help="held-out episode selector, e.g. 2 (default: --train)")
    p.add_argument(
        "--time-split",
        type=float,
        help="train on this fraction of each selected episode, test on the rest",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--horizon", type=float, default=0.25, help="windows: window length [s]")
    p.add_argument("--stride", type=float, default=0.1, help="windows: seconds between windows")
    add_motion_arguments(p, "inverse")
    p.add_argument("--max-iter", type=int, default=20, help="least squares iterations")
    p.add_argument("--generations", type=int, default=15, help="tosses: CMA-ES generations")
    p.add_argument("--popsize", type=int, default=8, help="tosses: CMA-ES population")
    p.add_argument("--seed", type=int, default=0, help="tosses: CMA-ES seed")
    p.add_argument(
        "--horizons", type=floats, default=(0.1, 0.25, 0.5), help="held-out horizons [s]"
    )
    p.add_argument(
        "--spread",
        type=int,
        default=0,
        metavar="SAMPLES",
        help="windows: also fit a DROPO-style parameter spread with this many samples",
    )
    p.add_argument(
        "--prior-weight",
        type=float,
        default=0.0,
        help="windows/inverse: weight of a prior toward nominal values (0: none); see README",
    )
    p.add_argument("--threads", type=int)
    add_event_arguments(p, "calibrate and score (train and test episodes)")


def check_calibrate_args(args) -> None:
    """Every numeric option in range before anything is loaded, fitted or written."""
    positive = {"--horizon": args.horizon, "--stride": args.stride}
    for option, value in positive.items():
        schema.number(value, option, SettingsError, lower=0, lower_open=True)
    schema.number(args.smooth, "--smooth", SettingsError, lower=0)
    schema.number(args.prior_weight, "--prior-weight", SettingsError, lower=0)
    if args.prior_weight and args.objective == "tosses":
        raise SettingsError(
            "--prior-weight: a prior applies to the least-squares objectives (windows, inverse), "
            f"not to {args.objective!r}"
        )
    counts = {
        "--max-iter": (args.max_iter, 1),
        "--generations": (args.generations, 1),
        "--popsize": (args.popsize, 2),
        "--spread": (args.spread, 0),
        "--seed": (args.seed, 0),
    }
    if args.threads is not None:
        counts["--threads"] = (args.threads, 1)
    for option, (value, least) in counts.items():
        schema.number(value, option, SettingsError, lower=least, integer=True)
    if not args.horizons:
        raise SettingsError("--horizons: expected at least one horizon in seconds, got none")
    for h in args.horizons:
        schema.number(h, "--horizons", SettingsError, lower=0, lower_open=True)
    if args.time_split is not None:
        schema.number(args.time_split, "--time-split", SettingsError, lower=0, lower_open=True)
        if not args.time_split < 1:
            raise SettingsError(
                f"--time-split: expected a fraction in (0, 1), got {args.time_split}"
            )
        if args.test is not None:
            raise SettingsError(
                "--test: expected no selector with --time-split (the test part of each "
                f"--train episode is held out), got {args.test!r}"
            )
    args.event_window = event_option(args)
    check_output_folder(args.out)


def _split_in_time(episodes, fraction: float):
    import numpy as np

    train, test = [], []
    for ep in episodes:
        cut = int(np.searchsorted(ep.times, ep.times[0] + fraction * ep.duration))
        train.append(ep.slice(0, cut))
        test.append(ep.slice(cut, ep.num_samples))
    return train, test


def cmd_calibrate(args) -> int:
    from workbench.calibrate import ParameterSpace, calibrate
    from workbench.calibrate.report import format_calibration, heldout_comparison, write_report
    from workbench.calibrate.search import calibrate_cma
    from workbench.io import load_episodes
    from workbench.pipeline import scene_mapping
    from workbench.protocols import prepare_toss, score_tosses
    from workbench.scenes import load_scene

    check_calibrate_args(args)
    scene = load_scene(args.scene)
    mapping = args.mapping or scene_mapping(scene)
    space = ParameterSpace.load(args.space)
    space.resolve(scene.model)
    train = load_episodes(args.recordings, mapping, select=args.train)
    if args.time_split is not None:
        train, test = _split_in_time(train, args.time_split)
    else:
        test = load_episodes(args.recordings, mapping, select=args.test or args.train)
        overlap = sorted({e.id for e in train} & {e.id for e in test})
        if overlap:
            print(
                f"warning: train and test share {len(overlap)} episodes (e.g. {overlap[:3]}); "
                "held-out numbers are not held out",
                file=sys.stderr,
            )
    if args.event_window is not None:
        from workbench.metrics.events import check_event, event_slices

        for part in (train, test):
            check_event(args.event_window, scene.model, part)
        train = event_slices(train, args.event_window)
        test = event_slices(test, args.event_window)
    total = args.generations if args.objective == "tosses" else args.max_iter
    bar = Progress(f"calibrate ({args.objective})", "iterations", total=total)

    def progress(iteration: int, objective: float) -> None:
        bar.update(iteration, note=f"objective {objective:.4g}")

    try:
        if args.objective == "tosses":
            train, test = [prepare_toss(e) for e in train], [prepare_toss(e) for e in test]
            from workbench.replay import ReplaySettings, replay

            base = score_tosses(replay(scene, train, ReplaySettings("open_loop")))

            def score(traces) -> float:  # both protocol headline scores, relative to nominal
                s = score_tosses(traces)
                return (
                    s["median_position_error_pct_width"] / base["median_position_error_pct_width"]
                    + s["mean_e_q"] / base["mean_e_q"]
                )

            result = calibrate_cma(
                scene,
                train,
                space,
                score,
                popsize=args.popsize,
                generations=args.generations,
                seed=args.seed,
                progress=progress,
            )
        else:
            result = calibrate(
                scene,
                train,
                space,
                objective=args.objective,
                horizon=args.horizon,
                stride=args.stride,
                smooth_window=args.smooth,
                derivatives=args.derivatives,
                spread_samples=args.spread,
                prior_weight=args.prior_weight,
                max_iter=args.max_iter,
                threads=args.threads,
                progress=progress,
            )
    finally:
        bar.close()
    paths = result.save(args.out, space)
    heldout = heldout_comparison(
        scene,
        test,
        result,
        objective=args.objective,
        horizons=args.horizons,
        smooth_window=args.smooth,
        derivatives=args.derivatives,
    )
    write_report(
        args.out,
        result,
        heldout,
        {
            "train": [e.id for e in train],
            "test": [e.id for e in test],
            "objective": args.objective,
            "event": None if args.event_window is None else dataclasses.asdict(args.event_window),
        },
    )
    print(format_calibration(result, heldout.table))
    print(
        f"wrote {paths['params']} (use with: workbench gap ... --params), {paths['distribution']}, "
        f"{Path(args.out) / 'report.json'}, plots/"
    )
    return 0
