"""Opt-in: the two-node Ray cluster script (WORKBENCH_RAY_CLUSTER=1; ~2-3 min, starts two Ray nodes)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(
    not os.environ.get("WORKBENCH_RAY_CLUSTER"), reason="set WORKBENCH_RAY_CLUSTER=1"
)
def test_two_node_cluster(tmp_path):
    script = Path(__file__).with_name("multinode.py")
    r = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
