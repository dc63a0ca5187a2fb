"""The wheel works anywhere: built from the sources, installed in a fresh venv, it runs the CLI on
the scenes and data it carries, from a folder outside the checkout.

The venv sees the system's site-packages (mujoco and the other dependencies, nothing downloaded);
its own copy of workbench comes first. The sources are copied first so the build leaves nothing in
the checkout and no stale `build/` folder can leak into the wheel.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "workbench",
    "scenes",
    "assets",
)
SKIP = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.egg-info", "MUJOCO_LOG.TXT")


def _can_build_wheels() -> bool:
    return bool(
        importlib.util.find_spec("wheel")
        or importlib.util.find_spec("setuptools.command.bdist_wheel")
    )


pytestmark = pytest.mark.skipif(
    not _can_build_wheels(), reason="needs `wheel` (pip install -e '.[test]' installs it)"
)


def _run(args, *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=SKIP)
        else:
            shutil.copy2(path, src / name)
    return src


@pytest.fixture(scope="module")
def wheel(sources, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", dist, sources],
        cwd=sources,
    )
    (whl,) = dist.glob("workbench-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(venv python, environment without PYTHONPATH, a working folder outside the checkout)."""
    where = tmp_path_factory.mktemp("venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("WORKBENCH_SCENES", None)
    env.pop("WORKBENCH_ASSETS", None)
    _run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", where / "v"],
        cwd=where,
    )
    python = where / "v" / "bin" / "python"
    # the system's pip (seen through --system-site-packages) installs into the venv's prefix
    _run([python, "-m", "pip", "install", "-q", "--no-deps", wheel], cwd=where, env=env)
    work = where / "work"
    work.mkdir()
    return python, env, work


def test_wheel_carries_scenes_and_assets_and_no_caches(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
    for required in (
        "workbench/_bundled/scenes/cube_toss/scene.toml",
        "workbench/_bundled/scenes/double_pendulum/scene.toml",
        "workbench/_bundled/scenes/panda/scene.toml",
        "workbench/_bundled/assets/mappings/double_pendulum.toml",
        "workbench/_bundled/assets/data/cube_toss/tosses_000-099.npz",
        "workbench/_bundled/assets/franka_emika_panda/panda_nohand.xml",
    ):
        assert required in names, required
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert 0.5e6 < wheel.stat().st_size < 10e6, wheel.stat().st_size  # assets are ~3 MB raw


def test_sdist_carries_the_folders_the_wheel_bundles(sources, tmp_path):
    _run([sys.executable, "setup.py", "-q", "sdist", "-d", tmp_path], cwd=sources)
    (sdist,) = tmp_path.glob("workbench-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"setup.py", "scenes/cube_toss/scene.toml", "assets/mappings/cube_toss.toml"} <= names
    assert not [n for n in names if "__pycache__" in n]


def test_installed_wheel_imports_from_the_venv(venv):
    python, env, work = venv
    out = _run(
        [
            python,
            "-c",
            "import workbench.paths as p, workbench; print(workbench.__file__); "
            "print(p.scenes_root()); print(p.assets_root())",
        ],
        cwd=work,
        env=env,
    )
    prefix = str(python.parent.parent)
    package, scenes, assets = out.split()
    assert package.startswith(prefix) and not package.startswith(str(ROOT))
    assert scenes.startswith(prefix) and scenes.endswith("workbench/_bundled/scenes")
    assert assets.startswith(prefix) and assets.endswith("workbench/_bundled/assets")


def test_installed_cli_lists_the_bundled_scenes(venv):
    python, env, work = venv
    out = _run([python.parent / "workbench", "scenes"], cwd=work, env=env)
    for name in ("cube_toss", "double_pendulum", "panda"):
        assert name in out


def test_installed_cli_runs_gap_on_bundled_data(venv):
    python, env, work = venv
    assets = Path(
        _run(
            [python, "-c", "from workbench.paths import assets_root; print(assets_root())"],
            cwd=work,
            env=env,
        ).strip()
    )
    out = work / "gap"
    # no --mapping: the scene's own mapping is found inside the installed package
    _run(
        [python.parent / "workbench", "gap", assets / "data" / "double_pendulum"]
        + ["--scene", "double_pendulum", "--mode", "windows", "--horizons", "0.1", "--out", out],
        cwd=work,
        env=env,
    )
    report = json.loads((out / "gap.json").read_text())
    assert len(report["episodes"]) == 1
    assert report["aggregate"]["h=0.1s/qpos/elbow/mae"]["n"] == 1
    assert list((out / "plots").glob("*.png"))
