"""`workbench make-scene`: scene folders from builder scenes and parameter files."""

from __future__ import annotations

import json
from pathlib import Path


def cmd_make_scene(args) -> int:
    """A scene folder from a bundled builder scene and another parameter file."""
    import shutil

    import tomllib

    from workbench.scenes import load_scene, load_scene_folder
    from workbench.scenes.scene import SceneError

    template = load_scene(args.template)
    doc = tomllib.loads((template.folder / "scene.toml").read_text())
    if "builder" not in doc:
        raise SceneError(
            f"make-scene: scene {args.template!r} has no builder; copy its folder instead"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    params = Path(args.parameters)
    if not params.is_file():
        raise SceneError(
            f"make-scene: --parameters: expected an existing file, got {str(params)!r}"
        )
    shutil.copy(params, out / params.name)
    key = next(iter(doc.get("builder_args", {})), "parameters")
    lines = [
        f'name = "{out.name}"',
        f'description = "{template.name} built from {params.name}"',
        f'builder = "{doc["builder"]}"',
    ]
    if "dataset_mapping" in doc:
        mapping = (template.folder / doc["dataset_mapping"]).resolve()
        lines.append(f'dataset_mapping = "{mapping.as_posix()}"')
    lines += ["", "[builder_args]", f'{key} = "{params.name}"', "", "[binding]"]
    for name, value in doc["binding"].items():
        lines.append(f"{name} = {json.dumps(value)}")
    (out / "scene.toml").write_text("\n".join(lines) + "\n")
    scene = load_scene_folder(out)
    print(f"wrote {out / 'scene.toml'}: nq={scene.model.nq} nu={scene.model.nu}")
    return 0
