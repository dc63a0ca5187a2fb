"""`workbench retarget`: recorded hand paths followed by another robot (workbench.retarget)."""

from __future__ import annotations

from workbench.errors import SettingsError


def add_retarget(sub) -> None:
    p = sub.add_parser(
        "retarget",
        help="make another robot's tool follow recorded hand paths (differential IK) and write "
        "its episodes with the original objects",
    )
    p.add_argument("recordings", nargs="+", help="recording files, folders or globs")
    p.add_argument("--from-signal", required=True, help="body_pose:<hand>: the recorded hand path")
    p.add_argument("--robot", required=True, help="robot scene (name or folder) or .urdf/.xml file")
    p.add_argument("--site", required=True, help="the robot's tool site (or a body)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--mapping", help="mapping TOML (default: the --objects-from scene's)")
    p.add_argument(
        "--objects-from",
        required=True,
        help="scene the recordings replay in (its objects are kept, its driven hand replaced)",
    )
    p.add_argument("--episodes", help="episode selector, e.g. 0:15")
    p.add_argument(
        "--tool-point",
        help="point on the recorded hand the tool follows: a body of the objects scene fixed to "
        "the hand (its geoms become the fingertip) or x,y,z in the hand frame [m]",
    )
    p.add_argument("--tip-offset", default="0,0,0", help="fingertip in the site frame, x,y,z [m]")
    p.add_argument(
        "--base", default="auto", help="robot base x,y,z,yaw_deg in the objects scene, or auto"
    )
    p.add_argument("--tolerance", type=float, default=0.005, help="reachable within [m]")
    p.add_argument("--velocity-limit", type=float, default=2.0, help="joint speed bound [rad/s]")
    p.add_argument("--iterations", type=int, default=4, help="IK steps per recorded sample")
    p.add_argument("--clearance", type=float, default=0.002, help="collision clearance [m]")
    p.add_argument("--orientation-cost", type=float, default=0.01)
    p.add_argument("--servo-hz", type=float, default=20.0, help="position servo bandwidth [Hz]")


def _numbers(text: str, option: str, length: int) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        raise SettingsError(
            f"{option}: expected {length} comma-separated numbers, got {text!r}"
        ) from None
    if len(values) != length:
        raise SettingsError(f"{option}: expected {length} comma-separated numbers, got {text!r}")
    return values


def cmd_retarget(args) -> int:
    from workbench.io.load import load_episodes
    from workbench.output import check_output_folder
    from workbench.pipeline import scene_mapping
    from workbench.retarget.run import load_robot, retarget_episodes, write_retargeted
    from workbench.retarget.settings import RetargetSettings
    from workbench.scenes import load_scene

    from .common import progress_bar

    check_output_folder(args.out)
    tool_point = args.tool_point
    if tool_point is not None and "," in tool_point:
        tool_point = _numbers(tool_point, "--tool-point", 3)
    settings = RetargetSettings(
        signal=args.from_signal,
        site=args.site,
        tool_point=tool_point,
        tip_offset=_numbers(args.tip_offset, "--tip-offset", 3),
        base=None if args.base == "auto" else _numbers(args.base, "--base", 4),
        tolerance=args.tolerance,
        velocity_limit=args.velocity_limit,
        iterations=args.iterations,
        clearance=args.clearance,
        orientation_cost=args.orientation_cost,
        servo_hz=args.servo_hz,
    )
    objects = load_scene(args.objects_from)
    robot = load_robot(args.robot)
    mapping = args.mapping or scene_mapping(objects)
    episodes = load_episodes(args.recordings, mapping, select=args.episodes)
    bar, progress = progress_bar("retarget")
    try:
        result = retarget_episodes(episodes, robot, objects, settings, progress=progress)
    finally:
        bar.close()
    out = write_retargeted(result, args.out, source=f"{robot.where} on {objects.name}")
    s = result.report["summary"]
    b = result.report["base"]
    print(
        f"base: x={b['x']:.3f} y={b['y']:.3f} z={b['z']:.3f} m, yaw {b['yaw_deg']:.1f} deg"
        + (" (chosen)" if result.report["base_chosen"] else "")
    )
    print(
        f"{s['episodes']} episodes: median tool-path error {s['median_error_m'] * 1e3:.2f} mm, "
        f"p95 {s['p95_error_m'] * 1e3:.2f} mm, reachable {100 * s['reachable_fraction']:.1f} % "
        f"of samples, {s['stretches']} stretches beyond {settings.tolerance * 1e3:g} mm"
    )
    for ep in result.report["episodes"]:
        worst = min(ep["joint_margins"].items(), key=lambda kv: kv[1]["margin"], default=None)
        margin = f", closest joint limit {worst[0]} {worst[1]['margin']:.3f}" if worst else ""
        kinds = [f"{s['kind']} {s['start_s']:.2f}-{s['end_s']:.2f} s" for s in ep["stretches"]]
        print(
            f"  {ep['id']}: median {ep['median_error_m'] * 1e3:.2f} mm, reachable "
            f"{100 * ep['reachable_fraction']:.1f} %{margin}"
            + (f"; {'; '.join(kinds[:3])}" + (" ..." if len(kinds) > 3 else "") if kinds else "")
        )
    print(
        f"wrote {out / 'scene'}, {out / 'episodes'}, {out / 'mapping.toml'}, {out / 'report.json'}"
    )
    return 0
