"""Event windows and event times on recorded and simulated motion (pure numpy).

An event window is where a predicate holds, widened by a margin: e.g. while a pushed object's
speed is above a threshold. Scoring and calibrating only there keeps 19 s of a resting cube from
drowning the 0.6 s push.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from workbench.episode import Episode
from workbench.errors import EpisodeError, SettingsError, name_list
from workbench.schema import number, string


@dataclasses.dataclass(frozen=True)
class EventWindow:
    """Where `signal`'s position (its first 3 columns, [m]) moves faster than `speed` [m/s],
    from `margin_before` [s] before the first such sample to `margin_after` [s] after the last.
    Speeds come from positions smoothed over `smooth` [s] (a moving average; motion capture
    jitters)."""

    signal: str
    speed: float = 0.02
    margin_before: float = 0.1
    margin_after: float = 0.3
    smooth: float = 0.05

    def __post_init__(self) -> None:
        string(self.signal, "event.signal", SettingsError)
        number(self.speed, "event.speed", SettingsError, lower=0, lower_open=True)
        for key in ("margin_before", "margin_after", "smooth"):
            number(getattr(self, key), f"event.{key}", SettingsError, lower=0)


def speed(episode: Episode, signal: str, *, smooth: float = 0.05) -> np.ndarray:
    """(T,) speed [m/s] of a signal's first three columns (positions [m]), smoothed."""
    pos = episode.signal(signal).values[:, :3]
    dt = float(np.median(np.diff(episode.times)))
    k = max(1, int(round(smooth / dt)))
    if k > 1:
        kernel = np.ones(k) / k
        pad = (k // 2, k - 1 - k // 2)
        pos = np.stack([np.convolve(np.pad(c, pad, "edge"), kernel, "valid") for c in pos.T], 1)
    vel = np.gradient(pos, episode.times, axis=0)
    return np.linalg.norm(vel, axis=1)


def event_interval(episode: Episode, event: EventWindow) -> tuple[int, int] | None:
    """[start, stop) sample indices of the event window, or None when the predicate never holds.

    The event is the run of samples above the speed threshold around the fastest one (one event
    per episode: a push, not a sensor glitch elsewhere), widened by the margins."""
    v = speed(episode, event.signal, smooth=event.smooth)
    peak = int(np.argmax(v))
    if not v[peak] > event.speed:
        return None
    below = np.flatnonzero(v <= event.speed)
    first = int(below[below < peak].max() + 1) if np.any(below < peak) else 0
    last = int(below[below > peak].min() - 1) if np.any(below > peak) else v.size - 1
    t = episode.times
    start = int(np.searchsorted(t, t[first] - event.margin_before, side="left"))
    stop = int(np.searchsorted(t, t[last] + event.margin_after, side="right"))
    return max(start, 0), min(stop, t.size)


def event_slices(episodes, event: EventWindow) -> list[Episode]:
    """Each episode cut to its event window; EpisodeError names an episode without one."""
    out = []
    for ep in episodes:
        span = event_interval(ep, event)
        if span is None or span[1] - span[0] < 2:
            raise EpisodeError(
                f"episode {ep.id!r}: event window: expected {event.signal!r} to move faster than "
                f"{event.speed:g} m/s somewhere, max speed "
                f"{speed(ep, event.signal, smooth=event.smooth).max():.4g} m/s"
            )
        out.append(ep.slice(*span))
    return out


def motion_onset(
    positions: np.ndarray, times: np.ndarray, *, threshold: float = 0.001, rest_samples: int = 5
) -> float | None:
    """Time [s] at which (T, 3) positions [m] first move more than `threshold` [m] from where
    they rested (the mean of the first `rest_samples`), or None if they never do."""
    rest = positions[:rest_samples].mean(axis=0)
    moved = np.flatnonzero(np.linalg.norm(positions - rest, axis=1) > threshold)
    return float(times[moved[0]]) if moved.size else None


_PREDICATE = re.compile(r"^\s*speed\s*:\s*(?P<target>[^\s<>=]+)\s*>\s*(?P<value>\S+)\s*$")


def parse_event(
    text: str,
    *,
    margin: float | tuple[float, float] | None = None,
    smooth: float = 0.05,
    where: str = "--event",
) -> EventWindow:
    """An EventWindow from a predicate `speed:<target> > <m/s>`: `<target>` is a body (its
    `body_pose:<body>` signal) or a signal name with its prefix (`marker:rope_08`). `margin` [s]:
    one value for both sides or (before, after); default (0.1, 0.3). SettingsError names `where`,
    the expected form and the actual text."""
    m = _PREDICATE.match(text) if isinstance(text, str) else None
    value = None
    if m is not None:
        try:
            value = float(m.group("value"))
        except ValueError:
            value = None
    if m is None or value is None:
        raise SettingsError(
            f"{where}: expected a predicate 'speed:<body> > <m/s>' (e.g. 'speed:cube > 0.01'; "
            f"<body> may be a signal like 'marker:rope_08'), got {text!r}"
        )
    number(value, f"{where}: threshold", SettingsError, lower=0, lower_open=True)
    target = m.group("target")
    signal = target if ":" in target else f"body_pose:{target}"
    if margin is None:
        before, after = 0.1, 0.3
    elif isinstance(margin, (tuple, list)):
        if len(margin) not in (1, 2):
            raise SettingsError(
                f"{where}-margin: expected one value or 'before,after' [s], got {list(margin)}"
            )
        before, after = margin[0], margin[-1]
    else:
        before = after = margin
    for side, v in (("before", before), ("after", after)):
        number(v, f"{where}-margin ({side})", SettingsError, lower=0)
    return EventWindow(signal, value, float(before), float(after), smooth)


def check_event(event: EventWindow, model, episodes, *, where: str = "--event") -> None:
    """SettingsError unless the event's body exists in the model (for `body_pose:` signals) and
    every episode records its signal with >= 3 position columns (checked before any run)."""
    import mujoco

    if event.signal.startswith("body_pose:"):
        body = event.signal.split(":", 1)[1]
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body) < 0:
            names = [
                mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)
            ]
            raise SettingsError(
                f"{where}: unknown body {body!r}; the scene's bodies are {name_list(names)}"
            )
    for ep in episodes:
        if event.signal not in ep.signals:
            raise SettingsError(
                f"{where}: episode {ep.id!r}: expected a {event.signal!r} signal to watch, "
                f"got signals {sorted(ep.signals)}"
            )
        if ep.signals[event.signal].values.shape[1] < 3:
            raise SettingsError(
                f"{where}: signal {event.signal!r}: expected >= 3 columns (x y z [m]), got "
                f"{ep.signals[event.signal].values.shape[1]}"
            )


def event_span_trace(trace, event: EventWindow):
    """The trace restricted to its episode's event window (scoring only there): one-window
    modes keep the samples inside it, `windows` keeps the windows starting inside it. EpisodeError
    when the predicate never holds."""
    span = event_interval(trace.episode, event)
    if span is None or span[1] - span[0] < 2:
        event_slices([trace.episode], event)  # raises with the episode's max speed
    a, b = span
    if trace.mode == "windows":
        keep = (trace.starts >= a) & (trace.starts < b)
        return dataclasses.replace(
            trace,
            starts=trace.starts[keep],
            predicted={k: v[keep] for k, v in trace.predicted.items()},
            diverged=np.asarray(trace.diverged)[keep],
        )
    start = int(trace.starts[0])
    lo, hi = max(a - start, 0), max(b - start, 0)
    return dataclasses.replace(
        trace,
        starts=trace.starts + lo,
        predicted={k: v[:, lo:hi] for k, v in trace.predicted.items()},
    )
