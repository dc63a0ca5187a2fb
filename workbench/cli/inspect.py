"""`workbench inspect`: recording quality before anything is replayed or augmented."""

from __future__ import annotations

import sys
from pathlib import Path


def add_inspect(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="check recordings: timing, dropouts, frozen frames, velocity vs position, limits",
        description="Exit 0 when no finding is an error (with --strict: no finding at all), "
        "1 otherwise, 2 on unreadable input.",
    )
    p.add_argument("recordings", nargs="+", help="recording files or folders")
    p.add_argument("--mapping", help="mapping TOML (default: the --scene's dataset_mapping)")
    p.add_argument("--scene", help="also check joint limits and actuator ranges of this scene")
    p.add_argument("--episodes", help="episode selector, e.g. 0:50")
    p.add_argument("--json", help="write every finding and per-signal summary here")
    p.add_argument(
        "--gap",
        choices=("open_loop", "windows"),
        help="also replay in --scene and flag episodes whose error is far from the dataset's",
    )
    p.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")


def gap_outlier_flags(recordings, mapping, scene, mode: str, select: str | None):
    """(episode id -> [Flag], note) from a replay of every loadable episode."""
    from workbench.errors import WorkbenchError
    from workbench.inspect import Flag, checks
    from workbench.pipeline import run_gap
    from workbench.replay import ReplaySettings

    try:
        report = run_gap(
            recordings,
            scene=scene,
            mapping=mapping,
            settings=ReplaySettings(mode, horizons=(0.25,)),
            select=select,
        )
    except WorkbenchError as exc:
        return {}, f"gap outliers not computed: the recordings do not replay as they are ({exc})"
    keys = [k for k in report.aggregate if k.endswith(("/rmse", "/mae"))]
    if mode == "windows":
        keys = [k for k in keys if k.startswith("h=0.25s/")]
    worst: dict[str, list[tuple[float, str, float]]] = {}
    for key in keys[:8]:
        values = {e["id"]: e["metrics"].get(key, float("nan")) for e in report.episodes}
        for eid, score in checks.outliers(values, metric=key):
            worst.setdefault(eid, []).append((score, key, values[eid]))
    flags = {}
    for eid, found in worst.items():
        score, key, value = max(found)
        also = f" (and {len(found) - 1} more metrics)" if len(found) > 1 else ""
        flags[eid] = [
            Flag(
                "gap_outlier",
                "warning",
                f"{key} = {value:.4g} is far above the dataset's (median "
                f"{report.aggregate[key]['median']:.4g}, robust z {score:.1f}){also}",
                signal=key,
            )
        ]
    return flags, f"gap outliers from a {mode} replay of {len(report.episodes)} episodes"


def cmd_inspect(args) -> int:
    from workbench.errors import SettingsError
    from workbench.inspect import format_inspection, inspect_episodes
    from workbench.io.raw import read_raw
    from workbench.output import atomic_write_text, check_output_folder
    from workbench.pipeline import scene_mapping
    from workbench.scenes import load_scene

    scene = load_scene(args.scene) if args.scene else None
    if args.mapping is None and scene is None:
        raise SettingsError("--mapping: expected a mapping file (or a --scene that names one)")
    if args.gap and scene is None:
        raise SettingsError(f"--gap: expected a --scene to replay in, got --gap {args.gap}")
    if args.json:
        if Path(args.json).is_dir():
            raise SettingsError(f"--json: expected a file path, got the folder {args.json!r}")
        check_output_folder(Path(args.json).parent, option="--json")
    mapping = args.mapping or scene_mapping(scene)
    raw = read_raw(args.recordings, mapping, select=args.episodes)
    result = inspect_episodes(raw, model=scene.model if scene else None)
    if args.gap:
        extra, note = gap_outlier_flags(args.recordings, mapping, scene, args.gap, args.episodes)
        result = result.with_flags(extra, note)
    print(format_inspection(result))
    if args.json:
        atomic_write_text(args.json, result.to_json())
        print(f"wrote {args.json}")
    flagged = result.flags
    failing = flagged if args.strict else [x for x in flagged if x[1].severity == "error"]
    if failing:
        print(f"{len(failing)} findings fail the inspection", file=sys.stderr)
    return 1 if failing else 0
