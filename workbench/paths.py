"""Where bundled scenes, assets and mappings live (a checkout, an editable or a wheel install).

Lookup order for scenes and assets: the environment override, then the checkout's top-level
`scenes/` and `assets/` (a source tree or an editable install: the folder holding `workbench/`
also holds `pyproject.toml`), then the copies a wheel carries inside the package
(`workbench/_bundled/scenes`, `workbench/_bundled/assets`, put there by setup.py's build step).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def package_dir() -> Path:
    """The installed `workbench` package folder, as a real directory (MuJoCo reads files by path)."""
    root = resources.files("workbench")
    return root if isinstance(root, Path) else _PACKAGE


def _checkout() -> Path | None:
    """The source tree this package was imported from, or None for an installed wheel."""
    parent = _PACKAGE.parent
    return parent if (parent / "pyproject.toml").is_file() else None


def _bundled(name: str) -> Path:
    checkout = _checkout()
    if checkout is not None and (checkout / name).is_dir():
        return checkout / name
    return package_dir() / "_bundled" / name


def scenes_root() -> Path:
    """Folder of the bundled scenes (`WORKBENCH_SCENES` overrides)."""
    if os.environ.get("WORKBENCH_SCENES"):
        return Path(os.environ["WORKBENCH_SCENES"])
    return _bundled("scenes")


def assets_root() -> Path:
    """Folder of the bundled assets: robot models, bundled real data, mapping files
    (`WORKBENCH_ASSETS` overrides)."""
    if os.environ.get("WORKBENCH_ASSETS"):
        return Path(os.environ["WORKBENCH_ASSETS"])
    return _bundled("assets")


def real_data_root() -> Path:
    """The shared real recordings (`WORKBENCH_REAL_DATA` overrides; default ../shared/data/real
    beside the checkout)."""
    if os.environ.get("WORKBENCH_REAL_DATA"):
        return Path(os.environ["WORKBENCH_REAL_DATA"])
    return _PACKAGE.parent.parent / "shared" / "data" / "real"
