"""Cross-embodiment retargeting: a recorded hand path followed by another robot."""
