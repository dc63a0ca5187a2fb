"""The README's Python examples run as written (from the repository root, on bundled data)."""

from __future__ import annotations

import os
import re

from workbench.paths import assets_root


def test_readme_python_blocks_run(capsys):
    root = assets_root().parent
    text = (root / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    here = os.getcwd()
    os.chdir(root)
    try:
        namespace: dict = {}
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    finally:
        os.chdir(here)
    out = capsys.readouterr().out
    assert "actuator_delay[shoulder]" in out and "h=0.25s/qpos/shoulder/mae" in out
