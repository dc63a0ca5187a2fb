"""Retargeting acceptance: the shipped Panda follows the Kinova hand path of push runs 1-15, and
the retargeted episodes replay with the cube.

    WORKBENCH_REAL_DATA=../shared/data/real python tests/benchmarks/retarget_panda_push.py [--out DIR]

Prints the chosen base, the median tool-path error and the fraction of samples reachable (all
samples and the push windows), the stretches, the closest joint-limit margins; then, per run, the
real cube displacement over the push window, the displacement when the Panda pushes (open-loop
replay of the retargeted joints through position servos), and the same for the Kinova hand
replayed as recorded (mocap), with the final planar errors against the real cube.

Tool geometry: the Panda (Menagerie, no gripper) gets a fingertip 0.10 m out of its flange site
along the flange axis carrying a copy of the Kinova scene's `finger` geom (10 mm sphere, same
name, so the `cube_finger` contact pair applies unchanged); the fingertip follows the same tool
point on the recorded hand as the Kinova's `finger` body.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench import load_episodes, load_scene
from workbench.paths import assets_root, real_data_root
from workbench.protocols.push import PushProtocol, push_windows
from workbench.replay import ReplaySettings, replay
from workbench.retarget.run import load_robot, retarget_episodes, write_retargeted
from workbench.retarget.settings import RetargetSettings
from workbench.scenes import load_scene_folder


def cube_displacements(scene, windows) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """Per window: (real, simulated) planar cube displacement (2,) [m] and whether it diverged."""
    out = []
    for trace in replay(scene, list(windows), ReplaySettings("open_loop")):
        cols = list(trace.episode.signals["qpos"].columns)
        idx = [cols.index("cube[0]"), cols.index("cube[1]")]
        sim = trace.predicted["qpos"][0][:, idx]
        real = trace.recorded("qpos")[0][:, idx]
        out.append((real[-1] - real[0], sim[-1] - sim[0], bool(trace.diverged.any())))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None, help="keep the retargeted episodes here")
    parser.add_argument("--base", default=None, help="x,y,z,yaw (default: chosen)")
    args = parser.parse_args()
    runs = load_episodes(
        real_data_root() / "kinova_push" / "runs",
        assets_root() / "mappings" / "kinova_push.toml",
        select="0:15",
    )
    kinova = load_scene("kinova_push")
    settings = RetargetSettings(
        "body_pose:hand",
        "attachment_site",
        tool_point="finger",
        tip_offset=(0.0, 0.0, 0.10),
        base=tuple(float(v) for v in args.base.split(",")) if args.base else None,
    )
    t0 = time.perf_counter()
    result = retarget_episodes(runs, load_robot("panda"), kinova, settings)
    took = time.perf_counter() - t0
    out = Path(args.out or tempfile.mkdtemp(prefix="retarget-panda-")) / "panda_push"
    write_retargeted(result, out)
    s, b = result.report["summary"], result.report["base"]
    print(f"retargeted {s['episodes']} runs in {took:.1f} s; written to {out}")
    print(
        f"base: x={b['x']:.3f} y={b['y']:.3f} z={b['z']:.3f} m yaw={b['yaw_deg']:.1f} deg "
        f"({'chosen on run 1 from ' + str(len(result.report['base_candidates'])) + ' candidates' if result.report['base_chosen'] else 'given'})"
    )
    print(
        f"all samples: median tool-path error {s['median_error_m'] * 1e3:.3f} mm, p95 "
        f"{s['p95_error_m'] * 1e3:.3f} mm, reachable (<= {settings.tolerance * 1e3:g} mm) "
        f"{100 * s['reachable_fraction']:.2f} %"
    )
    kinds = {}
    for ep in result.report["episodes"]:
        for st in ep["stretches"]:
            kinds.setdefault(st["kind"], []).append(st)
    for kind, items in kinds.items():
        print(
            f"  {len(items)} {kind} stretches, {sum(i['samples'] for i in items)} samples, "
            f"worst {max(i['max_error_m'] for i in items) * 1e3:.1f} mm"
        )
    margins = {}
    for ep in result.report["episodes"]:
        for joint, m in ep["joint_margins"].items():
            margins[joint] = min(margins.get(joint, np.inf), m["margin"])
    print(
        "smallest joint-limit margins [rad]: "
        + ", ".join(f"{j} {v:.3f}" for j, v in margins.items())
    )

    protocol = PushProtocol()
    panda_scene = load_scene_folder(out / "scene")
    retargeted = load_episodes(out / "episodes", out / "mapping.toml")
    windows = push_windows(retargeted, protocol)
    err = []
    for r, w in zip(result.episodes, windows, strict=True):
        rows = (r.episode.times >= w.times[0] - 1e-9) & (r.episode.times <= w.times[-1] + 1e-9)
        err.append(r.follow.error[rows])
    err = np.concatenate(err)
    print(
        f"push windows: median tool-path error {np.median(err) * 1e3:.3f} mm, reachable "
        f"{100 * np.mean(err <= settings.tolerance):.2f} %"
    )
    panda = cube_displacements(panda_scene, windows)
    hand = cube_displacements(kinova, push_windows(runs, protocol))
    print()
    print(
        "run              real [mm]   Panda sim [mm]  Kinova-hand sim [mm]  |Panda-real| |Kinova-real|"
    )
    rows = []
    for w, (real, sim, div), (_, ksim, kdiv) in zip(windows, panda, hand, strict=True):
        pe, ke = np.linalg.norm(sim - real) * 1e3, np.linalg.norm(ksim - real) * 1e3
        rows.append(
            (
                np.linalg.norm(real) * 1e3,
                np.linalg.norm(sim) * 1e3,
                np.linalg.norm(ksim) * 1e3,
                pe,
                ke,
                div or kdiv,
            )
        )
        print(
            f"{w.id:16s} {rows[-1][0]:9.1f} {rows[-1][1]:14.1f} {rows[-1][2]:18.1f} {pe:14.1f} {ke:12.1f}"
            + ("  DIVERGED" if div or kdiv else "")
        )
    a = np.array([r[:5] for r in rows if not r[5]])
    print(
        f"median: real displacement {np.median(a[:, 0]):.1f} mm, Panda {np.median(a[:, 1]):.1f} mm, "
        f"Kinova hand {np.median(a[:, 2]):.1f} mm; final planar error Panda {np.median(a[:, 3]):.1f} mm, "
        f"Kinova hand {np.median(a[:, 4]):.1f} mm ({len(a)} of {len(rows)} runs, nominal physics)"
    )


if __name__ == "__main__":
    main()
