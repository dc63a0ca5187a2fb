"""Scenes: MJCF or builder plus the binding from recorded signals to the model."""

from workbench.scenes.folder import list_scenes, load_scene, load_scene_folder
from workbench.scenes.scene import Binding, Scene, scene_from_spec, scene_from_xml

__all__ = [
    "Binding",
    "Scene",
    "list_scenes",
    "load_scene",
    "load_scene_folder",
    "scene_from_spec",
    "scene_from_xml",
]
