"""Measurement-model parameters on recorded signals, next to physics parameters by MuJoCo name.

- `delay:<signal>` [s]: the recording lags the physics by this much; the corrected signal is
  recorded(t + delay) (linear interpolation, edge samples held).
- `offset:<signal>[<column>]` [signal unit]: a sensor bias; the corrected signal is recorded - offset.
- `gain:<signal>[<column>]` [1]: a sensor or drive gain, recorded = gain * true + offset (e.g. a
  torque computed from motor currents with an uncertain torque constant); the corrected signal is
  (recorded - offset) / gain. Nominal 1; a gain must be > 0.

Whatever order the names come in, delays are applied first, then offsets, then gains.

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
_GAIN = re.compile(r"^gain:(?P<signal>[^\[\]]+)\[(?P<column>[^\]]+)\]$")
_ORDER = ("delay:", "offset:", "gain:")


def is_signal_param(name: str) -> bool:
    return name.startswith(_ORDER)


def signal_param_nominal(name: str) -> float:
    """The value that leaves a recording unchanged: 1 for a gain, 0 for a delay or offset."""
    return 1.0 if name.startswith("gain:") else 0.0


def split_params(params: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(model parameters, signal parameters)."""
    model = {k: v for k, v in params.items() if not is_signal_param(k)}
    signal = {k: v for k, v in params.items() if is_signal_param(k)}
    return model, signal


def check_signal_param(name: str) -> None:
    if not (_DELAY.match(name) or _OFFSET.match(name) or _GAIN.match(name)):
        raise ParameterError(
            f"signal parameter {name!r}: expected 'delay:<signal>', 'offset:<signal>[<column>]' "
            "or 'gain:<signal>[<column>]'"
        )


def check_signal_value(name: str, value: float, *, where: str | None = None) -> float:
    """`value` checked for parameter `name` (a number; a gain > 0)."""
    where = where or f"signal parameter {name!r}"
    value = schema.number(value, where, ParameterError)
    if name.startswith("gain:") and not value > 0:
        raise ParameterError(
            f"{where}: a gain expected > 0 (recorded = gain * true), got {value!r}"
        )
    return value


def _rank(name: str) -> int:
    """Application order: delays, offsets, gains (unknown kinds first, to be refused)."""
    kinds = [i for i, prefix in enumerate(_ORDER) if name.startswith(prefix)]
    return kinds[0] if kinds else -1


def apply_signal_params(episode: Episode, params: Mapping[str, float]) -> Episode:
    """The episode with delays, offsets and gains removed from its recorded signals."""
    if not params:
        return episode
    signals = dict(episode.signals)
    for name, value in sorted(params.items(), key=lambda item: _rank(item[0])):
        check_signal_param(name)
        value = check_signal_value(name, value)
        m = _DELAY.match(name) or _OFFSET.match(name) or _GAIN.match(name)
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
            if name.startswith("offset:"):
                values[:, sig.columns.index(column)] -= value
            else:
                values[:, sig.columns.index(column)] /= value
        signals[sig_name] = dataclasses.replace(sig, values=values)
    return dataclasses.replace(episode, signals=signals)
