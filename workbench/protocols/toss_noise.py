"""Initial-state noise of tossed-object recordings, estimated from the recordings themselves.

Before its first possible contact a toss is in free flight: its position follows a parabola with
known gravity and (for a cube, whose principal moments are equal) its body angular velocity is
constant. So the scatter of the recorded flight about those models is the tracking noise:
- position noise per axis: the residual standard deviation of the parabola fit [m];
- noise of the re-fitted start velocity per axis: that residual times sqrt([(X^T X)^-1]_11), the
  least-squares standard error of the slope at the start sample [m/s];
- angular-velocity noise per axis: the standard deviation of the recorded body rates in flight
  [rad/s].
Medians over tosses are returned as a `RandomizationSpec` section (zero-mean normals), the
initial-state noise of `prepare_toss`'s start state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.episode import Episode
from workbench.errors import EpisodeError
from workbench.protocols.tosses import TossProtocol, first_touch
from workbench.randomize.distributions import Distribution
from workbench.randomize.spec import SignalNoise

_DEFAULT = TossProtocol()


def toss_noise(episode: Episode, protocol: TossProtocol = _DEFAULT) -> dict[str, float] | None:
    """Noise estimates of one raw (unprepared) toss: '<signal>/<column>' -> std, or None when its
    flight has fewer than 5 samples before the first possible touch."""
    qpos, qvel, qc, vc, touch = first_touch(episode, protocol)
    if touch < 5:
        return None
    start = max(touch - protocol.lead_samples, 0)
    t = episode.times[:touch] - episode.times[start]
    design = np.stack([np.ones(touch), t], axis=1)
    slope_factor = float(np.sqrt(np.linalg.inv(design.T @ design)[1, 1]))
    out = {}
    for k in range(3):
        y = qpos.values[:touch, qc[k]] + (0.5 * protocol.gravity * t**2 if k == 2 else 0.0)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        sigma = float(np.sqrt(np.sum((y - design @ coef) ** 2) / (touch - 2)))
        out[f"qpos/{protocol.body}[{k}]"] = sigma
        out[f"qvel/{protocol.body}[{k}]"] = sigma * slope_factor
    for k in range(3, 6):
        out[f"qvel/{protocol.body}[{k}]"] = float(np.std(qvel.values[:touch, vc[k]], ddof=1))
    return out


def toss_state_noise(
    episodes: Sequence[Episode], protocol: TossProtocol = _DEFAULT
) -> tuple[SignalNoise, ...]:
    """Median noise over raw tosses as zero-mean normal initial-state noise entries."""
    per = [n for n in (toss_noise(e, protocol) for e in episodes) if n is not None]
    if not per:
        raise EpisodeError("toss noise: no toss has 5 or more flight samples before contact")
    return tuple(
        SignalNoise.from_key(
            key, Distribution("normal", 0.0, float(np.median([p[key] for p in per]))), "toss noise"
        )
        for key in per[0]
    )
