"""A real two-node Ray cluster on one machine, run once and reported (opt-in: ~2-3 min).

    python tests/cluster/multinode.py [--out DIR]
    WORKBENCH_RAY_CLUSTER=1 python -m pytest tests/cluster   (runs this script)

1. `ray start --head` (1 CPU, dashboard on) and a second node `ray start --address ... --block`
   with its own --temp-dir (1 CPU), started in its own process group;
2. job A: `ray_jobs/augment.py --ray-address HOST:PORT` (a driver joining the cluster by
   address): completes, its shards ran on both nodes (`ray_node` per shard in the manifest);
3. job B: the same job with `ray job submit --working-dir . -- python ray_jobs/augment.py ...`
   (its data files byte-identical to job A's);
4. job C: the same job again; when the second node has finished a shard, its process group is
   killed (raylet and workers); the job completes on the head, every shard present once, the
   dataset byte-identical to job A's (no variant lost or duplicated).
Prints one line per check; exits 1 when a check fails. Both nodes (their process groups) are
killed at the end; no other Ray on the machine is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workbench.paths import real_data_root

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(folder)).encode() + p.read_bytes())
    return h.hexdigest()


def digest_of(path: Path) -> str:
    return digest(path) if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def nodes_of(out: Path) -> dict[str, int]:
    count: dict[str, int] = {}
    for row in manifest(out).get("shards", []):
        node = row.get("worker", {}).get("ray_node")
        if node:
            count[node] = count.get(node, 0) + 1
    return count


def wait_nodes(address: str, n: int, env: dict, timeout: float = 180) -> None:
    """Wait until the cluster at `address` has `n` alive nodes."""
    probe = (
        f"import ray; ray.init(address={address!r}, log_to_driver=False); "
        "print('ALIVE', sum(x['Alive'] for x in ray.nodes()))"
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
        )
        if r.returncode == 0 and f"ALIVE {n}" in r.stdout:
            return
        time.sleep(2)
    raise RuntimeError(f"cluster at {address}: expected {n} alive nodes within {timeout} s")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=tempfile.mkdtemp(prefix="ray_cluster_"))
    p.add_argument("--episodes", default="0:20")
    p.add_argument("--variants", type=int, default=20)
    args = p.parse_args()
    out = Path(args.out)
    port, dash = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    # Ray 2.60 clusters use token authentication (~/.ray/auth_token): every client needs the mode
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "token"),
    }
    head_tmp, node_tmp = Path(tempfile.mkdtemp(prefix="rh_")), Path(tempfile.mkdtemp(prefix="rn_"))
    failures = []

    def check(ok: bool, text: str) -> None:
        print(("ok   " if ok else "FAIL ") + text, flush=True)
        if not ok:
            failures.append(text)

    # both nodes in their own process groups (`--block`), so they are stopped by killing exactly
    # those groups (never `ray stop`, which would stop every Ray of this user on the machine)
    head = subprocess.Popen(
        [
            "ray",
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=1",
            "--include-dashboard=true",
            f"--dashboard-port={dash}",
            f"--temp-dir={head_tmp}",
            "--disable-usage-stats",
            "--block",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_nodes(address, 1, env)

    def start_node():
        return subprocess.Popen(
            [
                "ray",
                "start",
                f"--address={address}",
                "--num-cpus=1",
                f"--temp-dir={node_tmp}",
                "--block",
                "--disable-usage-stats",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    node = start_node()
    try:
        wait_nodes(address, 2, env)
        job = [
            sys.executable,
            "ray_jobs/augment.py",
            str(real_data_root() / "cube_toss"),
            "--scene",
            "cube_toss",
            "--spec",
            "scenes/cube_toss/randomization.toml",
            "--variants",
            str(args.variants),
            "--episodes",
            args.episodes,
            "--shard-size",
            "10",
            "--backend",
            "ray",
            "--no-progress",
        ]
        t = time.perf_counter()
        a = subprocess.run(
            [*job, "--out", str(out / "a"), "--ray-address", address],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        check(
            a.returncode == 0,
            f"job A by address: rc {a.returncode} in {time.perf_counter() - t:.0f} s: {a.stdout.strip()[-300:]} {a.stderr.strip()[-300:] if a.returncode else ''}",
        )
        spread = nodes_of(out / "a")
        check(len(spread) == 2, f"job A shards per node: {spread}")
        t = time.perf_counter()
        b = subprocess.run(
            [
                "ray",
                "job",
                "submit",
                f"--address=http://127.0.0.1:{dash}",
                "--working-dir",
                ".",
                "--",
                *[x if x != sys.executable else "python" for x in job],
                "--out",
                str(out / "b"),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        check(
            b.returncode == 0 and (out / "b" / "dataset").exists(),
            f"job B by `ray job submit`: rc {b.returncode} in {time.perf_counter() - t:.0f} s, nodes {nodes_of(out / 'b')}: {b.stdout.strip()[-200:]} {b.stderr.strip()[-300:] if b.returncode else ''}",
        )
        if (out / "b" / "dataset").exists():
            # a `--working-dir` job reads the mapping from its shipped copy: the episodes'
            # metadata names that path; every data file is the same
            same = [
                f
                for f in ("data", "meta/stats.json", "meta/info.json", "meta/tasks.parquet")
                if digest_of(out / "b" / "dataset" / f) == digest_of(out / "a" / "dataset" / f)
            ]
            check(len(same) == 4, f"job B == job A byte for byte: {same} (metadata: mapping path)")
        # job C: kill the second node mid-job
        c = subprocess.Popen(
            [*job, "--out", str(out / "c"), "--ray-address", address],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 300
        killed_at = None
        while time.time() < deadline and c.poll() is None:
            spread = nodes_of(out / "c")
            if len(spread) == 2:
                done = manifest(out / "c")
                os.killpg(node.pid, signal.SIGKILL)
                killed_at = (done.get("shards_finished"), done.get("shards_total"))
                break
            time.sleep(0.2)
        stdout, stderr = c.communicate(timeout=600)
        check(killed_at is not None, f"second node killed mid-job at {killed_at} shards finished")
        m = manifest(out / "c")
        check(
            c.returncode == 0,
            f"job C completed after the kill: rc {c.returncode}: {stdout.strip()[-300:]} {stderr.strip()[-500:] if c.returncode else ''}",
        )
        shards = out / "c" / "shards"
        names = sorted(p.name for p in shards.iterdir()) if shards.exists() else []
        check(
            names == sorted(r["shard"] for r in m.get("shards", []))
            and m.get("shards_finished") == m.get("shards_total"),
            f"job C: {m.get('shards_finished')}/{m.get('shards_total')} shards, none partial or twice",
        )
        check(
            m.get("accepted") == manifest(out / "a").get("accepted")
            and digest(out / "c" / "dataset") == digest(out / "a" / "dataset"),
            f"job C: {m.get('accepted')} accepted, dataset == job A's (bytes): no variant lost or duplicated; nodes {nodes_of(out / 'c')}",
        )
    finally:
        for group in (node, head):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group.pid, signal.SIGKILL)
    print(f"outputs under {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
