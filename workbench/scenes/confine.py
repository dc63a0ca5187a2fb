"""Files a scene may read: its own folder and the bundled assets, unless it opts out.

A scene folder reads files only under its folder or under the bundled assets root
(`workbench.paths.assets_root()`: robot models and parameter files shipped with the package), so a
scene copied from elsewhere cannot make the workbench read arbitrary files. This covers `mjcf`,
builder arguments declared as files, and everything an MJCF pulls in: `<include file>`, every
`file*` attribute (mesh, texture and its cube faces, hfield, skin, model, flexcomp) and the
`<compiler>` `meshdir`, `texturedir` and `assetdir`. `allow_outside_paths = true` in scene.toml
lifts the rule for that scene. The MJCF is read with xml.etree before MuJoCo sees it.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

from workbench.errors import SceneError
from workbench.paths import assets_root

_MESH_TAGS = ("mesh", "hfield", "skin", "flexcomp")
_DIRS = ("meshdir", "texturedir", "assetdir")


@dataclasses.dataclass(frozen=True)
class Confinement:
    """Where a scene may read files: `roots` (the scene folder first), or anywhere (`free`)."""

    folder: Path
    roots: tuple[Path, ...]
    free: bool = False

    @classmethod
    def for_scene(cls, folder: Path, *, allow_outside: bool = False) -> Confinement:
        folder = folder.resolve()
        return cls(folder, (folder, assets_root().resolve()), allow_outside)

    def path(self, value: str, *, base: Path, where: str) -> Path:
        """`value` resolved against `base`; SceneError when it leaves every root."""
        path = (base / value).resolve()
        if self.free or any(path.is_relative_to(root) for root in self.roots):
            return path
        raise SceneError(
            f"{where}: path {value!r} resolves to {str(path)!r}, outside the scene folder "
            f"{str(self.folder)!r} (and the bundled assets {str(self.roots[-1])!r}); expected a "
            "path inside it, or `allow_outside_paths = true` in scene.toml to allow it"
        )

    def check_mjcf(self, mjcf: Path) -> None:
        """Every file `mjcf` and its includes name stays inside the roots (see module doc)."""
        mjcf = mjcf.resolve()
        model_dir = mjcf.parent
        dirs = {"mesh": model_dir, "texture": model_dir}
        pending, seen = [mjcf], set()
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            root = _parse(current)
            for compiler in root.iter("compiler"):
                for attr in _DIRS:
                    if attr in compiler.attrib:
                        where = f"{current}: <compiler {attr}>"
                        found = self.path(compiler.attrib[attr], base=model_dir, where=where)
                        if attr in ("meshdir", "assetdir"):
                            dirs["mesh"] = found
                        if attr in ("texturedir", "assetdir"):
                            dirs["texture"] = found
            for element in root.iter():
                for attr, value in element.attrib.items():
                    if not attr.startswith("file") or not isinstance(element.tag, str):
                        continue
                    where = f"{current}: <{element.tag} {attr}>"
                    if element.tag in _MESH_TAGS:
                        base = dirs["mesh"]
                    elif element.tag == "texture":
                        base = dirs["texture"]
                    else:
                        base = model_dir
                    found = self.path(value, base=base, where=where)
                    if element.tag == "include" and found.is_file():
                        pending.append(found)


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise SceneError(f"{path}: MJCF does not parse: {exc}") from exc
