"""Gymnasium environments over workbench scenes (`ReplayEnv`)."""

from workbench.gym.env import ReplayEnv

__all__ = ["ReplayEnv"]
