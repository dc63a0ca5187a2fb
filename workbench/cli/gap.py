"""`workbench gap`, `workbench scenes`, `workbench demo`: replay and sim-to-real gap."""

from __future__ import annotations

from pathlib import Path

from workbench.cli.common import (
    add_event_arguments,
    add_motion_arguments,
    event_option,
    floats,
    progress_bar,
    score_option,
)


def add_gap(sub) -> None:
    p = sub.add_parser("gap", help="replay recordings in a scene and measure the sim-to-real gap")
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--scene", required=True, help="bundled scene name or a scene folder")
    p.add_argument("--mapping", help="mapping TOML (default: the scene's dataset_mapping)")
    p.add_argument(
        "--mode", default="open_loop", choices=("open_loop", "windows", "tracking", "inverse")
    )
    p.add_argument("--out", required=True, help="output folder for gap.json and plots/")
    p.add_argument("--episodes", help="episode selector, e.g. 0:50 or 0,3,10:20")
    p.add_argument("--params", help="TOML/JSON of physics values by MuJoCo name")
    p.add_argument(
        "--horizons", type=floats, default=(0.1, 0.25, 0.5), help="windows: seconds, e.g. 0.1,0.25"
    )
    p.add_argument(
        "--stride", type=float, default=0.05, help="windows: seconds between window starts"
    )
    add_motion_arguments(p, "inverse/tracking")
    p.add_argument("--threads", type=int, help="rollout threads (default: all CPUs)")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="divergence threshold by signal, signal/column or pose kind, e.g. qfrc_actuator=20 "
        "(repeatable; default: the scene's, else scaled by the recorded range)",
    )
    add_event_arguments(p, "replay and score")
    p.add_argument(
        "--score",
        metavar="NAMES",
        help="signals or groups to score, comma-separated, e.g. body_pose:cube,qpos or "
        "qpos/elbow,marker:rope_08 (default: all simulated)",
    )
    p.add_argument("--plot-episodes", type=int, default=3, help="episodes with overlay plots")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the episodes already in DIR/episodes.jsonl (same settings) and replay the rest",
    )


def parse_thresholds(items: list[str]) -> dict[str, float]:
    """`NAME=VALUE` options as a dict (values checked by the pipeline)."""
    from workbench.errors import SettingsError

    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not sep or not name.strip() or number is None:
            raise SettingsError(f"--threshold: expected NAME=VALUE (e.g. qpos=0.2), got {item!r}")
        out[name.strip()] = number
    return out


def cmd_gap(args) -> int:
    from workbench.metrics.table import format_table
    from workbench.physics import load_values
    from workbench.pipeline import format_summary, run_gap
    from workbench.replay import ReplaySettings

    settings = ReplaySettings(
        mode=args.mode,
        horizons=args.horizons,
        window_stride=args.stride,
        smooth_window=args.smooth,
        derivatives=args.derivatives,
        threads=args.threads,
    )
    params = load_values(args.params) if args.params else None
    thresholds = parse_thresholds(args.threshold)
    event = event_option(args)
    bar, progress = progress_bar(f"{args.mode} replay")
    try:
        report = run_gap(
            args.recordings,
            scene=args.scene,
            mapping=args.mapping,
            settings=settings,
            params=params,
            select=args.episodes,
            out=args.out,
            plot_episodes=args.plot_episodes,
            resume=args.resume,
            thresholds=thresholds,
            event=event,
            score=score_option(args.score),
            progress=progress,
        )
    finally:
        bar.close()
    print(format_summary(report))
    if len(report.episodes) <= 5:
        print()
        print(format_table(report.episodes))
    out = Path(args.out)
    print(f"wrote {out / 'gap.json'}, {out / 'metrics.csv'} and {out / 'plots'}/")
    return 0


def cmd_scenes(args) -> int:
    from workbench.scenes import list_scenes, load_scene

    for name, folder in list_scenes().items():
        scene = load_scene(folder)
        m = scene.model
        print(
            f"{name:<18} nq={m.nq:<3} nu={m.nu:<3} dt={scene.binding.timestep:.6g}s  "
            f"{scene.metadata.get('description', '')}"
        )
    return 0


def cmd_demo(args) -> int:
    """Gap reports on the bundled real data (cube tosses, double pendulum, pushed cube), the
    fidelity gate's table, and one HTML page of it all (`OUT/report.html`)."""
    from workbench.output import check_output_folder
    from workbench.paths import assets_root
    from workbench.pipeline import format_summary, run_gap
    from workbench.replay import ReplaySettings

    data = assets_root() / "data"
    out = check_output_folder(args.out)
    jobs = [
        ("cube_toss", data / "cube_toss", "open_loop", (0.1, 0.25), None),
        ("cube_toss", data / "cube_toss", "windows", (0.1, 0.25), None),
        ("double_pendulum", data / "double_pendulum", "windows", (0.1, 0.25, 0.5), None),
        (
            "double_pendulum",
            data / "double_pendulum",
            "windows",
            (0.1, 0.25, 0.5),
            "no_friction.toml",
        ),
        ("kinova_push", data / "kinova_push", "open_loop", (0.1,), None),
    ]
    from workbench.physics import load_values
    from workbench.scenes import load_scene

    for scene_name, recordings, mode, horizons, params_file in jobs:
        scene = load_scene(scene_name)
        params = load_values(scene.folder / params_file) if params_file else None
        tag = f"{scene_name}_{mode}" + ("_" + Path(params_file).stem if params_file else "")
        bar, progress = progress_bar(tag)
        try:
            report = run_gap(
                recordings,
                scene=scene,
                settings=ReplaySettings(mode=mode, horizons=horizons),
                params=params,
                out=out / tag,
                progress=progress,
            )
        finally:
            bar.close()
        print(f"\n== {tag} ==")
        print(format_summary(report, limit=14))
    from workbench.check import (
        compare,
        load_baseline,
        load_suite,
        outcomes_json,
        run_suite,
        text_table,
    )
    from workbench.output import atomic_write_text
    from workbench.report import write_html_report

    fidelity = assets_root() / "fidelity"
    suite = load_suite(fidelity / "suite.toml")
    outcomes = compare(suite, run_suite(suite).values, load_baseline(fidelity / "baseline.json"))
    print(f"\n== fidelity gate ({suite.name}) ==")
    print(text_table(outcomes))
    atomic_write_text(out / "check.json", outcomes_json(outcomes, suite=suite.name))
    gaps = sorted(out.glob("*/gap.json"))
    html = write_html_report(
        [out / "check.json", *gaps], out / "report.html", title="workbench demo"
    )
    print(f"\nreports and plots under {out}/; everything on one page: {html}")
    return 0
