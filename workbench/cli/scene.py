"""`workbench make-scene`: scene folders from builder scenes and parameter files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from workbench.errors import SceneError

# scene.toml keys copied from the template (the rest is written anew)
_COPIED = ("builder", "command_history", "license")


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # strings, numbers and lists of them read back as the same TOML


def cmd_make_scene(args) -> int:
    """A scene folder from a bundled builder scene and another parameter file.

    The folder is built and loaded under a temporary name and only then moved into place, so a
    refused parameter file never leaves a half-written scene; an existing non-empty `--out` is
    refused.
    """
    import tomllib

    from workbench.output import check_output_folder, staging_folder
    from workbench.scenes import load_scene, load_scene_folder

    template = load_scene(args.template)
    doc = tomllib.loads((template.folder / "scene.toml").read_text())
    if "parameters" not in doc.get("builder_args", {}):
        raise SceneError(
            f"make-scene: template {args.template!r} (builder {doc.get('builder')!r}) takes no "
            "parameter file; expected a builder scene with builder_args.parameters, e.g. "
            "'double_pendulum'"
        )
    out = check_output_folder(args.out)
    if out.exists() and any(out.iterdir()):
        raise SceneError(f"make-scene: --out: expected a new or empty folder, got {str(out)!r}")
    params = Path(args.parameters)
    if not params.is_file():
        raise SceneError(
            f"make-scene: --parameters: expected an existing file, got {str(params)!r}"
        )
    lines = [
        f"name = {_toml_value(out.name)}",
        f"description = {_toml_value(f'{template.name} built from {params.name}')}",
    ]
    lines += [f"{k} = {_toml_value(doc[k])}" for k in _COPIED if k in doc]
    if "dataset_mapping" in doc:
        mapping = (template.folder / doc["dataset_mapping"]).resolve()
        lines.append(f"dataset_mapping = {_toml_value(mapping.as_posix())}")
    lines += ["", "[builder_args]", f"parameters = {_toml_value(params.name)}", "", "[binding]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in doc["binding"].items()]
    staged = staging_folder(out)
    try:
        shutil.copy(params, staged / params.name)
        (staged / "scene.toml").write_text("\n".join(lines) + "\n")
        scene = load_scene_folder(staged)  # refuses a bad parameter file before anything lands
        if out.exists():
            out.rmdir()
        staged.replace(out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    print(f"wrote {out / 'scene.toml'}: nq={scene.model.nq} nu={scene.model.nu}")
    return 0
