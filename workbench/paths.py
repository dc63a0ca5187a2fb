"""Where bundled scenes, assets and mappings live (a checkout, an editable or a wheel install)."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def scenes_root() -> Path:
    """Folder of the bundled scenes (`WORKBENCH_SCENES` overrides)."""
    if os.environ.get("WORKBENCH_SCENES"):
        return Path(os.environ["WORKBENCH_SCENES"])
    return _first_existing(_PACKAGE.parent / "scenes", _PACKAGE / "_bundled" / "scenes")


def assets_root() -> Path:
    """Folder of the bundled assets: robot models, bundled real data, mapping files."""
    if os.environ.get("WORKBENCH_ASSETS"):
        return Path(os.environ["WORKBENCH_ASSETS"])
    return _first_existing(_PACKAGE.parent / "assets", _PACKAGE / "_bundled" / "assets")


def real_data_root() -> Path:
    """The shared real recordings (`WORKBENCH_REAL_DATA` overrides; default ../shared/data/real)."""
    if os.environ.get("WORKBENCH_REAL_DATA"):
        return Path(os.environ["WORKBENCH_REAL_DATA"])
    return _PACKAGE.parent.parent / "shared" / "data" / "real"
