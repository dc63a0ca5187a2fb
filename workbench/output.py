"""Output folders: checked before a run starts, and written so that a refused or failed run leaves
earlier results untouched (each file replaced atomically, plot folders swapped whole)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from workbench.errors import OutputError


def check_output_folder(path: str | Path, *, option: str = "--out") -> Path:
    """`path` as a folder that can be written, checked without creating it.

    Raises OutputError when `path` (or a parent) is an existing file, or when the nearest existing
    folder refuses a new file (read-only folder or file system).
    """
    folder = Path(path)
    if str(path).strip() == "":
        raise OutputError(f"{option}: expected a folder path, got an empty string")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option}: expected a folder, got an existing file {str(folder)!r}")
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"{option}: expected a folder path, but {str(existing)!r} is an existing file"
        )
    try:  # the only reliable test (root ignores permission bits, file systems may be read-only)
        fd, probe = tempfile.mkstemp(prefix=".workbench-probe-", dir=existing)
    except OSError as exc:
        raise OutputError(
            f"{option}: expected a writable folder, but {str(existing)!r} refuses new files "
            f"({exc.strerror or exc})"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return folder


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def staging_folder(final: str | Path) -> Path:
    """A fresh empty folder beside `final` to build its new contents in (see `swap_in`)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".new", dir=final.parent))


def remove_leftovers(final: str | Path) -> list[str]:
    """Remove what a killed writer of `final` left beside it: staging folders (`staging_folder`,
    `swap_in`'s old copy) and temporary files (`.<name>.*.tmp`); the names removed. Only for a
    `final` that no other process is writing."""
    final = Path(final)
    removed = []
    if not final.parent.is_dir():
        return removed
    for suffix in (".new", ".old", ".tmp"):
        for path in final.parent.glob(f".{final.name}.*{suffix}"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    return sorted(removed)


def swap_in(staged: Path, final: str | Path) -> Path:
    """Replace folder `final` by `staged` (the old contents are removed only after the swap)."""
    final = Path(final)
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
        os.replace(final, old / final.name)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final
