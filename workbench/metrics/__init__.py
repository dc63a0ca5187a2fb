"""Sim-to-real gap metrics."""

from workbench.metrics.errors import pose_errors, quat_geodesic_deg, summary
from workbench.metrics.gap import GapReport, aggregate, episode_metrics, gap_report

__all__ = [
    "GapReport",
    "aggregate",
    "episode_metrics",
    "gap_report",
    "pose_errors",
    "quat_geodesic_deg",
    "summary",
]
