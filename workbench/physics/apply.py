"""Writing physics values into a compiled model in place, and restoring them exactly.

Every value is checked (`workbench.physics.validate`) before the first one is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from collections.abc import Iterator, Mapping, Sequence

import mujoco
import numpy as np

from workbench.errors import ParameterError
from workbench.physics.names import ParameterAddress, resolve, write_order
from workbench.physics.validate import check_value

_SCRATCH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scratch_data(model: mujoco.MjModel) -> mujoco.MjData:
    """A reusable MjData per model for mj_setConst (allocating one costs more than the call)."""
    data = _SCRATCH.get(model)
    if data is None:
        data = _SCRATCH[model] = mujoco.MjData(model)
    return data


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The exact element values behind a `scale:` (or `body_mc`) name, as `set_values` returns
    them: passing them back restores the elements bit for bit (a factor could not)."""

    values: tuple[float, ...]


def _addresses(
    model: mujoco.MjModel, values: Mapping[str, float | Snapshot]
) -> list[tuple[ParameterAddress, np.ndarray]]:
    """Resolve and check every value (nothing written): (address, checked value) pairs."""
    out = []
    for name, value in values.items():
        address = resolve(model, name)
        if isinstance(value, Snapshot):
            address = ParameterAddress(
                address.name, address.field, address.index, width=address.width
            )
            value = value.values
        out.append((address, check_value(model, address, value)))
    return out


def check_values(model: mujoco.MjModel, values: Mapping[str, float | Snapshot]) -> None:
    """Raise ParameterError if any value could not be applied by `set_values`; writes nothing."""
    checked = _addresses(model, values)
    inertia = [(a, v) for a, v in checked if a.field == "body_inertia"]
    if inertia:
        trial = model.body_inertia.copy()
        for a, v in inertia:
            trial.reshape(-1)[list(a.index)] = a.elements(v)
        problem = inertia_violation(model, trial)
        if problem:
            raise ParameterError(problem)


def set_values(
    model: mujoco.MjModel, values: Mapping[str, float | Snapshot]
) -> dict[str, np.ndarray | Snapshot]:
    """Write values by name in place; returns the previous values (pass them back to restore).

    All values are checked before any is written. Calls `mj_setConst` when a changed field feeds
    derived constants (masses, inertias, armature).
    """
    checked = _addresses(model, values)
    previous = {
        a.name: Snapshot(tuple(a.array(model).reshape(-1)[list(a.index)].tolist()))
        if a.base is not None or write_order(a)
        else a.read(model)
        for a, _ in checked
    }
    for a, value in sorted(checked, key=lambda item: write_order(item[0])):
        a.write(model, value)
    problem = (
        inertia_violation(model) if any(a.field == "body_inertia" for a, _ in checked) else None
    )
    if problem:
        _write_back(model, [a for a, _ in checked], previous)  # leave the model as it was
        raise ParameterError(problem)
    if any(a.needs_setconst for a, _ in checked):
        mujoco.mj_setConst(model, _scratch_data(model))
    return previous


def _write_back(
    model: mujoco.MjModel,
    addresses: Sequence[ParameterAddress],
    previous: Mapping[str, np.ndarray | Snapshot],
) -> None:
    """Restore values `set_values` returned (the model's own, so unchecked) and derived constants."""
    for a in sorted(addresses, key=write_order):
        before = previous[a.name]
        if isinstance(before, Snapshot):
            plain = ParameterAddress(a.name, a.field, a.index, width=a.width)
            plain.write(model, np.asarray(before.values))
        else:
            a.write(model, before)
    if any(a.needs_setconst for a in addresses):
        mujoco.mj_setConst(model, _scratch_data(model))


def inertia_violation(model: mujoco.MjModel, inertia: np.ndarray | None = None) -> str | None:
    """Why some body's principal moments of inertia (`inertia`, (nbody, 3), default the model's)
    are not physical, or None when all are."""
    inertia = model.body_inertia if inertia is None else inertia
    moments = np.sort(inertia, axis=1)
    bad = np.flatnonzero(moments[:, 0] + moments[:, 1] < moments[:, 2] * (1 - 1e-9))
    if not bad.size:
        return None
    body = int(bad[0])
    name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or f"#{body}"
    small, mid, large = moments[body]
    return (
        f"body_inertia[{name}]: principal moments {inertia[body].tolist()} violate the "
        f"triangle inequality (not a physical body): expected the two smaller to sum to at least "
        f"the largest, got {small:.6g} + {mid:.6g} < {large:.6g}"
    )


def write_unchecked(
    model: mujoco.MjModel, addresses: Sequence[ParameterAddress | None], values
) -> bool:
    """Fast path for optimisers: write one value per address (None entries skipped) and refresh
    derived constants, without bookkeeping; bounds are the caller's job (a ParameterSpace checks
    its bounds with `check_value` once).

    Returns False when the written values make a body's inertia non-physical, or give a body with
    a first moment (`body_mc`) no mass (the caller should
    score that candidate as infeasible; derived constants are then not refreshed).
    """
    pairs = [(a, v) for a, v in zip(addresses, values, strict=True) if a is not None]
    for a, v in sorted(pairs, key=lambda pair: write_order(pair[0])):
        if write_order(a) and not model.body_mass[a.body] > 0:  # a first moment needs a mass
            return False
        a.write(model, v)
    inertia = any(a is not None and a.field == "body_inertia" for a in addresses)
    if inertia and inertia_violation(model):
        return False
    if any(a is not None and a.needs_setconst for a in addresses):
        mujoco.mj_setConst(model, _scratch_data(model))
    return True


@contextlib.contextmanager
def values_applied(model: mujoco.MjModel, values: Mapping[str, float]) -> Iterator[mujoco.MjModel]:
    """Apply values in place for the duration of a `with` block, then restore them exactly."""
    addresses = [resolve(model, name) for name in values]
    previous = set_values(model, values)
    try:
        yield model
    finally:
        _write_back(model, addresses, previous)
