"""Load a dataset written by the workbench with LeRobot's own `LeRobotDataset` and read every frame.

Run in a separate environment with LeRobot and a CPU torch (LeRobot 0.4.x runs on Python 3.11):

    python -m venv /tmp/lerobot_venv && /tmp/lerobot_venv/bin/pip install "lerobot==0.4.4"
    /tmp/lerobot_venv/bin/python tests/lerobot_check/check_lerobot.py OUT/dataset

It checks that LeRobot reads the totals, the tasks and every frame, that each frame's values equal
the parquet the workbench wrote, and that episode boundaries match; it exits 1 on any mismatch.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def main(root: str) -> int:
    import lerobot
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root).resolve()
    info = json.loads((root / "meta/info.json").read_text())
    start = time.perf_counter()
    ds = LeRobotDataset("workbench/check", root=root)
    print(f"lerobot {lerobot.__version__}: loaded in {time.perf_counter() - start:.2f} s")
    problems = []
    if ds.num_episodes != info["total_episodes"] or ds.num_frames != info["total_frames"]:
        problems.append(
            f"totals: lerobot {ds.num_episodes} episodes / {ds.num_frames} frames, "
            f"info.json {info['total_episodes']} / {info['total_frames']}"
        )
    if len(ds) != info["total_frames"]:
        problems.append(f"len(dataset) {len(ds)} != total_frames {info['total_frames']}")
    tables = [pq.read_table(f) for f in sorted((root / "data").glob("chunk-*/file-*.parquet"))]
    rows = {}
    for t in tables:
        for key in t.column_names:
            rows.setdefault(key, []).append(t.column(key).to_pylist())
    truth = {k: [x for part in v for x in part] for k, v in rows.items()}
    keys = [k for k, ft in info["features"].items() if ft["dtype"] in ("float32", "float64")]
    start = time.perf_counter()
    tasks = set()
    for i in range(len(ds)):
        item = ds[i]
        tasks.add(item["task"])
        if int(item["index"]) != truth["index"][i]:
            problems.append(f"frame {i}: index {int(item['index'])} != {truth['index'][i]}")
        for key in keys:
            got = np.asarray(item[key], dtype=np.float64).reshape(-1)
            want = np.asarray(truth[key][i], dtype=np.float64).reshape(-1)
            if not np.allclose(got, want, rtol=1e-6, atol=1e-6):
                problems.append(f"frame {i}: {key} {got[:4]} != {want[:4]}")
        if len(problems) > 10:
            break
    elapsed = time.perf_counter() - start
    print(
        f"iterated {len(ds)} frames of {ds.num_episodes} episodes in {elapsed:.2f} s; tasks {tasks}"
    )
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
