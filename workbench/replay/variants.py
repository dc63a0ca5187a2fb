"""Many physics variants of the same episodes, replayed in batched calls and yielded as they finish.

The batch unit for randomized augmentation and sensitivity studies: every window of every episode
under every variant of a chunk goes into one set of `mujoco.rollout` calls, each variant in its own
model copy with its values applied in place (validated, then restored for the next chunk). Results
come back per variant in order, so a caller can write them to disk and drop them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence

import mujoco

from workbench.episode import Episode
from workbench.errors import ParameterError, SettingsError
from workbench.physics import set_values
from workbench.physics.signal_params import is_signal_param
from workbench.replay.forward import Progress, control_rows, forward_traces
from workbench.replay.prepare import prepare
from workbench.replay.run import replay
from workbench.replay.settings import ReplaySettings
from workbench.replay.trace import SimTrace
from workbench.scenes.scene import Scene


def replay_variants(
    scene: Scene,
    episodes: Sequence[Episode],
    variants: Sequence[Mapping[str, float]],
    settings: ReplaySettings | None = None,
    *,
    chunk: int = 16,
    progress: Progress | None = None,
    perturb: Callable[[int, Episode], Episode] | None = None,
) -> Iterator[tuple[int, list[SimTrace]]]:
    """Yield (variant index, one SimTrace per episode) for each physics variant, in order.

    Args:
      scene: the scene; its compiled model is left unchanged (variants use copies).
      episodes: recorded episodes, replayed under every variant.
      variants: physics values by MuJoCo name per variant (measurement parameters `delay:` /
        `offset:` describe the recording, not the physics: pass them to `replay` instead).
      settings: replay settings; `open_loop` and `windows` batch `chunk` variants per call,
        `inverse` and `tracking` replay variant after variant.
      chunk: variants simulated together (memory grows with it).
      progress: called with (variants done, variants total).
      perturb: (variant index, episode) -> the episode that variant replays (e.g. with
        initial-state noise); applied after alignment, so it must keep the episode's timeline.
    Raises:
      ParameterError: a bad name or value in some variant (checked before anything runs).
    """
    settings = settings or ReplaySettings()
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise SettingsError(f"chunk: expected an integer >= 1, got {chunk!r}")
    variants = [dict(v) for v in variants]
    for i, values in enumerate(variants):
        bad = [name for name in values if is_signal_param(name)]
        if bad:
            raise ParameterError(
                f"variant {i}: {bad} are measurement parameters; expected physics values only "
                "(apply measurement parameters with replay(params=...))"
            )
    _check_all(scene.model, variants)
    if settings.mode not in ("open_loop", "windows"):
        for i, values in enumerate(variants):
            eps = [perturb(i, ep) for ep in episodes] if perturb else episodes
            yield i, replay(scene, eps, settings, params=values)
            if progress:
                progress(i + 1, len(variants))
        return
    episodes, alignments, bounds = prepare(scene, episodes, settings)
    controls = [control_rows(scene.model, ep, b) for ep, b in zip(episodes, bounds, strict=True)]
    copies = [copy.copy(scene.model) for _ in range(min(chunk, len(variants)))]
    n = len(episodes)
    for first in range(0, len(variants), chunk):
        group = variants[first : first + chunk]
        restore = [set_values(m, values) for m, values in zip(copies, group, strict=False)]
        try:
            traces = forward_traces(
                scene.model,
                [perturb(first + k, ep) for k in range(len(group)) for ep in episodes]
                if perturb
                else list(episodes) * len(group),
                list(alignments) * len(group),
                list(bounds) * len(group),
                settings,
                list(controls) * len(group),
                None,
                episode_models=[m for m in copies[: len(group)] for _ in range(n)],
            )
        finally:
            for m, previous in zip(copies, restore, strict=False):
                set_values(m, previous)
        for k in range(len(group)):
            yield first + k, traces[k * n : (k + 1) * n]
            if progress:
                progress(first + k + 1, len(variants))


def _check_all(model: mujoco.MjModel, variants: list[dict[str, float]]) -> None:
    """Validate every variant on a scratch copy before simulating any."""
    scratch = copy.copy(model)
    for i, values in enumerate(variants):
        try:
            previous = set_values(scratch, values)
        except ParameterError as exc:
            raise ParameterError(f"variant {i}: {exc}") from exc
        set_values(scratch, previous)
