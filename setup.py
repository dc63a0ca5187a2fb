"""Build hook: a wheel carries the top-level `scenes/` and `assets/` folders inside the package.

The repository keeps them at the top level (scene files point at `../../assets/...`); the build
copies both trees into `workbench/_bundled/`, where `workbench.paths` finds them in an installed
wheel. Everything else is declared in pyproject.toml. An editable install reads them in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = ("scenes", "assets")
SKIP = shutil.ignore_patterns("__pycache__", "*.py[cod]", "MUJOCO_LOG.TXT", ".DS_Store")


class BuildPyWithData(build_py):
    """`build_py` plus a copy of scenes/ and assets/ into `<build_lib>/workbench/_bundled/`."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders
        for name in BUNDLED:
            source = HERE / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {source} is missing; the wheel must carry {name}/")
            target = Path(self.build_lib) / "workbench" / "_bundled" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(source, target, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
