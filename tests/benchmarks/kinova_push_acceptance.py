"""Kinova push acceptance: calibrate on runs 1-10, test on 11-15, scored over the push.

    WORKBENCH_REAL_DATA=../shared/data/real python tests/benchmarks/kinova_push_acceptance.py [--out DIR]

Prints nominal vs calibrated medians (final planar cube position error [mm], final rotation error
[deg], contact-onset error [s]) on the held-out runs, the fitted values, and the calibration
report's flags for held-out metrics that got worse.
"""

from __future__ import annotations

import argparse
import json
import time

from workbench import load_episodes, load_scene
from workbench.calibrate import calibrate
from workbench.calibrate.report import flag_regressions
from workbench.calibrate.space import ParameterSpace
from workbench.paths import assets_root, real_data_root, scenes_root
from workbench.protocols.push import PushProtocol, push_windows, score_pushes, summarize

SCALES = {**{f"cube[{i}]": 0.002 for i in range(3)}, **{f"cube[{i}]": 0.01 for i in range(3, 7)}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None)
    parser.add_argument("--max-iter", type=int, default=25)
    args = parser.parse_args()
    scene = load_scene("kinova_push")
    runs = load_episodes(
        real_data_root() / "kinova_push" / "runs", assets_root() / "mappings" / "kinova_push.toml"
    )
    protocol = PushProtocol()
    windows = push_windows(runs, protocol)
    train, test = windows[:10], windows[10:]
    horizon = (min(w.num_samples for w in windows) - 1) * 0.01
    space = ParameterSpace.load(scenes_root() / "kinova_push" / "calibration_space.toml")
    t0 = time.perf_counter()
    result = calibrate(
        scene, train, space, horizon=horizon, stride=100.0, max_iter=args.max_iter, scales=SCALES
    )
    fit_s = time.perf_counter() - t0
    params = result.as_params()
    out = {"fit_s": fit_s, "values": params}
    for name, subset in (("train 1-10", train), ("test 11-15", test)):
        nominal = summarize(score_pushes(scene, subset, protocol))
        calibrated = summarize(score_pushes(scene, subset, protocol, params=params))
        out[name] = {"nominal": nominal, "calibrated": calibrated}
        out[name]["worse"] = flag_regressions(
            {k: v for k, v in nominal.items() if k.startswith("median")},
            {k: v for k, v in calibrated.items() if k.startswith("median")},
        )
    print(json.dumps(out, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
