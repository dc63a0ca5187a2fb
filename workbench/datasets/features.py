"""Which dataset feature holds which episode signal (LeRobot keys, robomimic obs keys).

Default names follow LeRobot's conventions: `qpos` -> `observation.state`, `ctrl` -> `action`.
Writers record the map they used (and each signal's columns, unit and frame) in the dataset, so
the workbench's readers invert it exactly; for datasets written elsewhere the readers invert
these defaults or take an explicit {signal: feature} map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.errors import DatasetError

DEFAULT_FEATURES = {
    "qpos": "observation.state",
    "qvel": "observation.velocity",
    "ctrl": "action",
    "qfrc_actuator": "observation.effort",
}
# keys LeRobot itself adds to every frame (never signals)
LEROBOT_INDEX_KEYS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
TIME_KEY = "time"  # exact float64 episode time [s] (LeRobot's `timestamp` is float32 from 0)


def default_feature(signal: str) -> str:
    """The LeRobot feature key of a signal: `sensor:force` -> `observation.sensor.force`."""
    if signal in DEFAULT_FEATURES:
        return DEFAULT_FEATURES[signal]
    return "observation." + signal.replace(":", ".")


def default_signal(feature: str) -> str | None:
    """The inverse of `default_feature` for the prefixes it writes; None for other features."""
    for signal, key in DEFAULT_FEATURES.items():
        if key == feature:
            return signal
    for kind in ("sensor", "body_pose"):
        prefix = f"observation.{kind}."
        if feature.startswith(prefix) and len(feature) > len(prefix):
            return f"{kind}:{feature[len(prefix) :]}"
    return None


def feature_map(signals: list[str], given: Mapping[str, str] | None, *, where: str) -> dict:
    """{signal: feature key} for every signal: `given` entries, the default for the rest.

    Raises DatasetError for a non-string entry, a signal the episodes lack, a key LeRobot
    reserves or two signals on one key.
    """
    out = {s: default_feature(s) for s in signals}
    if given is not None:
        if not isinstance(given, Mapping):
            raise DatasetError(f"{where}: expected a table {{signal: feature}}, got {given!r}")
        for signal, key in given.items():
            if signal not in out:
                raise DatasetError(
                    f"{where}: signal {signal!r} is not in the episodes; signals are {signals}"
                )
            if not isinstance(key, str) or not key:
                raise DatasetError(f"{where}[{signal!r}]: expected a feature name, got {key!r}")
            out[signal] = key
    taken: dict[str, str] = {}
    for signal, key in out.items():
        if key in (*LEROBOT_INDEX_KEYS, TIME_KEY):
            raise DatasetError(f"{where}[{signal!r}]: {key!r} is reserved for frame indices")
        if key in taken:
            raise DatasetError(
                f"{where}: signals {taken[key]!r} and {signal!r} both map to {key!r}"
            )
        taken[key] = signal
    return out


def inverse_map(
    features: Mapping[str, Any], given: Mapping[str, str] | None, *, where: str
) -> dict[str, str]:
    """{signal: feature} to read: `given` (checked against `features`) or the default inverse."""
    if given is None:
        out = {}
        for key in features:
            signal = default_signal(key)
            if signal is not None:
                out[signal] = key
        if not out:
            raise DatasetError(
                f"{where}: no feature has a default signal name "
                f"({sorted(DEFAULT_FEATURES.values())}, observation.sensor.*, "
                f"observation.body_pose.*); features are {sorted(features)}: pass a signal map"
            )
        return out
    if not isinstance(given, Mapping) or not given:
        raise DatasetError(
            f"{where}: expected a non-empty table {{signal: feature}}, got {given!r}"
        )
    for signal, key in given.items():
        if not isinstance(signal, str) or not signal:
            raise DatasetError(f"{where}: expected signal names, got {signal!r}")
        if key not in features:
            raise DatasetError(
                f"{where}[{signal!r}]: feature {key!r} not in the dataset; features are "
                f"{sorted(features)}"
            )
    return dict(given)
