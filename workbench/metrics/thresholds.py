"""Divergence thresholds: when a simulated signal counts as having left the recording.

A threshold is looked up, most specific first, by `<signal>/<column>` (e.g. `qfrc_actuator/joint2`),
then by signal (`qpos`, `qvel`, `qfrc_actuator`, ...). Poses and points (free bodies in `qpos`,
`body_pose:<body>`, `marker:<name>`) are unit-aware: their position [m] and rotation [deg] errors
look up `<signal>/<body>/<kind>` (e.g. `qpos/cube/position_m`), `<signal>/<kind>` (e.g.
`body_pose:link7/rotation_deg`, `marker:rope_08/position_m`), then the kind (`position_m`,
`rotation_deg`), never a scalar threshold of the signal. Without an explicit value, a scalar column's threshold scales with what was
recorded: the larger of the unit default (`DEFAULT_THRESHOLDS`) and `RELATIVE_TO_RANGE` of the
column's recorded range (1st to 99th percentile), so a 300 N m arm is not declared diverged at
0 s by a 1 N m default while small signals keep the absolute floor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench import schema
from workbench.errors import SettingsError

DEFAULT_THRESHOLDS = {
    "qpos": 0.1,  # rad (or m for slide joints)
    "qvel": 1.0,  # rad/s
    "qfrc_actuator": 1.0,  # N m
    "position_m": 0.02,
    "rotation_deg": 10.0,
}
RELATIVE_TO_RANGE = 0.05
POSE_KINDS = ("position_m", "rotation_deg")
_NAME = re.compile(r"^[A-Za-z_][\w:.\-]*(/[^/\s]+)?(/(position_m|rotation_deg))?$")


def check_thresholds(values: Mapping[str, Any] | None, *, where: str) -> dict[str, float]:
    """Explicit thresholds: names `<signal>`, `<signal>/<column>`, a pose kind, or
    `<signal>[/<column>]/<kind>`; values > 0."""
    out = {}
    for name, value in (values or {}).items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise SettingsError(
                f"{where}: threshold name: expected '<signal>', '<signal>/<column>' or one of "
                f"{list(POSE_KINDS)}, got {name!r}"
            )
        out[name] = schema.number(
            value, f"{where}: {name}", SettingsError, lower=0, lower_open=True
        )
    return out


def threshold_for(
    thresholds: Mapping[str, float],
    *,
    signal: str,
    kind: str,
    column: str,
    recorded: np.ndarray | None = None,
) -> float:
    """The threshold of one compared column (see the module docstring for the rule)."""
    if kind in POSE_KINDS:  # [m] or [deg]: never a signal's own (scalar) threshold
        keys = [f"{signal}/{column}/{kind}"] if column else []
        keys += [f"{signal}/{kind}", kind]
    else:
        keys = [f"{signal}/{column}", kind, signal]
    for key in keys:
        if key in thresholds:
            return float(thresholds[key])
    floor = DEFAULT_THRESHOLDS.get(kind, DEFAULT_THRESHOLDS.get(signal, 1.0))
    if kind in POSE_KINDS or recorded is None:
        return floor
    finite = np.asarray(recorded, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size < 2:
        return floor
    lo, hi = np.percentile(finite, [1, 99])
    span = float(hi - lo)
    return max(floor, RELATIVE_TO_RANGE * span) if math.isfinite(span) else floor


def describe(thresholds: Mapping[str, float] | None) -> dict[str, Any]:
    """The threshold settings as recorded in a report."""
    return {
        "explicit": dict(thresholds or {}),
        "default": dict(DEFAULT_THRESHOLDS),
        "relative_to_range": RELATIVE_TO_RANGE,
    }
