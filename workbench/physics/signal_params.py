"""Measurement-model parameters on recorded signals, next to physics parameters by MuJoCo name.

- `delay:<signal>` [s]: the recording lags the physics by this much; the corrected signal is
  recorded(t + delay) (linear interpolation, edge samples held).
- `offset:<signal>[<column>]` [signal unit]: a sensor bias; the corrected signal is recorded - offset.

They are applied to episodes before replay, never to the model.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import numpy as np

from workbench import schema
from workbench.episode import Episode
from workbench.errors import ParameterError, name_list

_DELAY = re.compile(r"^delay:(?P<signal>[^\[\]]+)$")
_OFFSET = re.compile(r"^offset:(?P<signal>[^\[\]]+)\[(?P<column>[^\]]+)\]$")


def is_signal_param(name: str) -> bool:
    return name.startswith(("delay:", "offset:"))


def split_params(params: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(model parameters, signal parameters)."""
    model = {k: v for k, v in params.items() if not is_signal_param(k)}
    signal = {k: v for k, v in params.items() if is_signal_param(k)}
    return model, signal


def check_signal_param(name: str) -> None:
    if not (_DELAY.match(name) or _OFFSET.match(name)):
        raise ParameterError(
            f"signal parameter {name!r}: expected 'delay:<signal>' or 'offset:<signal>[<column>]'"
        )


def apply_signal_params(episode: Episode, params: Mapping[str, float]) -> Episode:
    """The episode with delays and offsets removed from its recorded signals."""
    if not params:
        return episode
    signals = dict(episode.signals)
    for name, value in params.items():
        check_signal_param(name)
        value = schema.number(value, f"signal parameter {name!r}", ParameterError)
        m = _DELAY.match(name) or _OFFSET.match(name)
        sig_name = m.group("signal")
        if sig_name not in signals:
            raise ParameterError(
                f"signal parameter {name!r}: episode {episode.id!r} has no signal {sig_name!r}; "
                f"signals are {name_list(signals)}"
            )
        sig = signals[sig_name]
        values = sig.values.copy()
        if name.startswith("delay:"):
            t = episode.times + value
            values = np.stack([np.interp(t, episode.times, col) for col in sig.values.T], axis=1)
        else:
            column = m.group("column")
            if column not in sig.columns:
                raise ParameterError(
                    f"signal parameter {name!r}: unknown column {column!r}; columns are "
                    f"{name_list(sig.columns)}"
                )
            values[:, sig.columns.index(column)] -= value
        signals[sig_name] = dataclasses.replace(sig, values=values)
    return dataclasses.replace(episode, signals=signals)
