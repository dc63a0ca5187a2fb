"""What a retargeting run does: which recorded path, which robot tool, how closely, how fast."""

from __future__ import annotations

import dataclasses
import math

from workbench.errors import SettingsError


def _positive(value: float, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise SettingsError(f"{option}: expected a number > 0, got {value!r}")
    if not math.isfinite(value):
        raise SettingsError(f"{option}: expected a finite number, got {value!r}")
    return float(value)


def _vector(value, option: str, length: int) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise SettingsError(f"{option}: expected {length} numbers, got {value!r}") from None
    if len(out) != length or not all(math.isfinite(v) for v in out):
        raise SettingsError(f"{option}: expected {length} finite numbers, got {list(out)}")
    return out


@dataclasses.dataclass(frozen=True)
class RetargetSettings:
    """Settings of `workbench.retarget.retarget` (CLI options in brackets).

    Attributes:
      signal: the recorded hand path, `body_pose:<body>` (x y z qw qx qy qz) [--from-signal].
      site: the robot's tool site (a site of the robot model) [--site].
      tool_point: the point on the recorded hand the tool follows, in the hand frame [m]: three
        numbers, or the name of a body of the objects scene fixed to the hand (its position; its
        geoms become the robot's fingertip, same names); None: the hand's origin [--tool-point].
      tip_offset: where the fingertip sits in the tool site's frame [m] [--tip-offset].
      base: robot base pose in the objects scene (x y z [m], yaw [deg]), or None to choose it
        (`workbench.retarget.placement`) [--base].
      tolerance: largest tool-path error of a sample counted reachable [m] [--tolerance].
      velocity_limit: joint speed bound of every robot joint [rad/s or m/s] [--velocity-limit].
      iterations: differential-IK steps per recorded sample (each dt / iterations) [--iterations].
      orientation_cost: weight of keeping the tool's reference orientation (position: 1).
      posture_cost: weight of staying near the reference pose (regularisation).
      clearance: smallest distance kept between robot geoms, and between robot and static
        object geoms (the fingertip may touch objects) [m] [--clearance].
      servo_hz: bandwidth of the position servos the written scene drives the joints with.
      smooth: Savitzky-Golay window for velocities, accelerations and torques [s] (0: raw).
    """

    signal: str
    site: str
    tool_point: str | tuple[float, float, float] | None = None
    tip_offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    base: tuple[float, float, float, float] | None = None
    tolerance: float = 0.005
    velocity_limit: float = 2.0
    iterations: int = 4
    orientation_cost: float = 0.01
    posture_cost: float = 1e-3
    clearance: float = 0.002
    servo_hz: float = 20.0
    smooth: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.signal, str) or not self.signal.startswith("body_pose:"):
            raise SettingsError(
                f"--from-signal: expected body_pose:<body> (the recorded hand pose), got "
                f"{self.signal!r}"
            )
        if not self.signal[len("body_pose:") :]:
            raise SettingsError("--from-signal: expected a body name after 'body_pose:', got none")
        if not isinstance(self.site, str) or not self.site:
            raise SettingsError(f"--site: expected a site name, got {self.site!r}")
        if self.tool_point is not None and not isinstance(self.tool_point, str):
            object.__setattr__(self, "tool_point", _vector(self.tool_point, "--tool-point", 3))
        object.__setattr__(self, "tip_offset", _vector(self.tip_offset, "--tip-offset", 3))
        if self.base is not None:
            object.__setattr__(self, "base", _vector(self.base, "--base", 4))
        for name in ("tolerance", "velocity_limit", "servo_hz"):
            object.__setattr__(self, name, _positive(getattr(self, name), _option(name)))
        for name in ("orientation_cost", "posture_cost", "clearance", "smooth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise SettingsError(f"{_option(name)}: expected a number >= 0, got {value!r}")
        if (
            isinstance(self.iterations, bool)
            or not isinstance(self.iterations, int)
            or self.iterations < 1
        ):
            raise SettingsError(f"--iterations: expected an integer >= 1, got {self.iterations!r}")

    @property
    def hand(self) -> str:
        """The recorded body whose path is followed."""
        return self.signal[len("body_pose:") :]


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")
