"""Reproducible samples of a RandomizationSpec bound to a model, applied in place and restored.

Each sample is a pure function of (spec, episode id, variant index, seed): its generator is
`numpy.random.Generator(PCG64(SeedSequence([seed, h(spec), h(episode), variant])))` with h the
first 64 bits of a sha256, so any variant can be regenerated alone, in any order, on any worker.
Draws are inverse-CDF transforms of the generator's uniforms (`Distribution.ppf`), so sampling one
variant or 10,000 at once gives the same values.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import BindingError, ConfigError, ParameterError, name_list
from workbench.physics import resolve, values_applied
from workbench.physics.apply import inertia_violation
from workbench.physics.names import ParameterAddress, parse_name, write_order
from workbench.physics.validate import check_value
from workbench.randomize.distributions import Distribution
from workbench.randomize.spec import RandomizationSpec, SignalNoise

# names of quantities that live on the MjSpec (changing them recompiles the model): refused,
# with what to randomize instead
RECOMPILE = {
    "flex_young": "scale:flex_stiffness[<flex>] (compiled elasticity is linear in Young's modulus)",
    "flex_poisson": "scale:flex_stiffness[<flex>] (Poisson's ratio needs a recompile from MjSpec)",
    "flex_thickness": "scale:flex_stiffness[<flex>] (thickness needs a recompile from MjSpec)",
    "mesh_scale": "scale:body_mass / scale:body_inertia (a mesh's size changes the compiled arrays)",
}
_TINY = 2.0**-54


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclasses.dataclass(frozen=True)
class Sample:
    """One drawn variant with its exact values.

    Attributes:
      episode, variant, seed, spec: what the sample is a function of (`spec` is the digest).
      values: physics values by MuJoCo name as written (a float, or one per element for
        `scale`/`add` of multi-element names).
      initial_state: '<signal>/<column>' -> offset added to the recorded start state.
      sensor_seed: entropy of this sample's sensor-noise stream (`Randomizer.sensor_noise`).
    """

    episode: str
    variant: int
    seed: int
    spec: str
    values: dict[str, float | tuple[float, ...]]
    initial_state: dict[str, float]
    sensor_seed: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; floats round-trip exactly through `json` (repr)."""
        return {
            **dataclasses.asdict(self),
            "values": {k: list(v) if isinstance(v, tuple) else v for k, v in self.values.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data["values"].items()}
        return cls(**{**data, "values": values})


@dataclasses.dataclass(frozen=True)
class _Bound:
    name: str
    address: ParameterAddress
    operation: str
    nominal: np.ndarray  # (elements,) for set/add/scale of plain names; (1,) factor for scale:
    flat: np.ndarray | None  # flat view of the bound model's array (None: a scalar option)
    index: np.ndarray  # flat element indices
    base: np.ndarray | None  # elements behind a `scale:` factor


# fields whose validity depends on several elements together (checked per sample, never fast)
_JOINT_RULES = ("body_inertia",)


class Randomizer:
    """A spec bound to a model: names resolved, nominal values stored once, value ranges checked.

    The model is not modified here; `applied` writes one sample in place and restores it.
    """

    def __init__(self, spec: RandomizationSpec, model: mujoco.MjModel):
        if not isinstance(spec, RandomizationSpec):
            raise ConfigError(
                f"Randomizer: expected a RandomizationSpec, got {type(spec).__name__}"
            )
        self.spec, self.model, self.digest = spec, model, spec.digest()
        self._h_spec = _h64(self.digest)
        bound = []
        for p in spec.parameters:
            field = parse_name(p.name.removeprefix("scale:"))[0]
            if field in RECOMPILE:
                raise ParameterError(
                    f"parameter {p.name!r}: {field} is not in the compiled model (it lives on the "
                    f"MjSpec, and changing it recompiles); randomize {RECOMPILE[field]} instead"
                )
            address = resolve(model, p.name)
            if address.is_integer(model):
                raise ParameterError(
                    f"parameter {p.name!r}: {address.field} holds integers; randomization "
                    "expected a real-valued field"
                )
            nominal = address.read(model)
            arr = address.array(model)
            bound.append(
                _Bound(
                    p.name,
                    address,
                    p.operation,
                    nominal,
                    None if arr is None else arr.reshape(-1),
                    np.array(address.index, dtype=np.intp),
                    None if address.base is None else np.asarray(address.base),
                )
            )
        self._bound = tuple(bound)
        self._setconst = any(b.address.needs_setconst for b in self._bound)
        # the fast path writes drawn samples without per-element checks: every per-element rule
        # holds because every draw lies between the extremes checked below; rules over several
        # elements together (a body's principal inertias) are checked per sample after writing
        self._joint = any(
            b.address.field in _JOINT_RULES and b.address.base is None for b in self._bound
        )
        self._order = sorted(range(len(bound)), key=lambda i: write_order(bound[i].address))
        self._drawn: weakref.WeakValueDictionary[int, Sample] = weakref.WeakValueDictionary()
        # models the fast path writes into: the bound one and its copies (`copies`), each with
        # its flat views of the bound fields and a scratch MjData for mj_setConst
        self._targets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._targets[model] = self._views(model)
        for b, p in zip(self._bound, spec.parameters, strict=True):  # extremes must be writable
            # the smallest and largest uniforms the generator can give (see _uniforms)
            low, high = p.distribution.ppf(np.array([_TINY, 1 - 2.0**-53]))
            for draw in (low, high):
                try:
                    check_value(model, b.address, self._value(b, draw))
                except ParameterError as exc:
                    raise ParameterError(
                        f"{exc} (a {p.distribution.kind} draw {draw:.6g} with operation "
                        f"{p.operation!r}; narrow or truncate the distribution)"
                    ) from None

    @staticmethod
    def _value(b: _Bound, draw: float) -> float | tuple[float, ...]:
        if b.operation == "set":
            return float(draw)
        out = b.nominal * draw if b.operation == "scale" else b.nominal + draw
        return float(out[0]) if out.size == 1 else tuple(float(v) for v in out)

    @property
    def nominal(self) -> dict[str, np.ndarray]:
        """Stored nominal value per parameter name (copies)."""
        return {b.name: b.nominal.copy() for b in self._bound}

    def centre_values(self) -> dict[str, float | tuple[float, ...]]:
        """Physics values with every distribution at its centre (`Distribution.centre`): the point
        model a spec stands around (for a calibration's distribution, the fitted values)."""
        return {
            b.name: self._value(b, p.distribution.centre)
            for b, p in zip(self._bound, self.spec.parameters, strict=True)
        }

    # -- sampling ------------------------------------------------------------------------------
    def _uniforms(self, episode: str, variant: int, seed: int) -> tuple[np.ndarray, int]:
        ss = np.random.SeedSequence([seed, self._h_spec, _h64(str(episode)), variant])
        rng = np.random.Generator(np.random.PCG64(ss))
        n = len(self.spec.parameters) + len(self.spec.initial_state)
        u = rng.random(n)
        return np.where(u > 0, u, _TINY), int(rng.integers(0, 2**63 - 1))

    def samples(self, episode: str, variants: Sequence[int], *, seed: int = 0) -> list[Sample]:
        """Samples for (episode, each variant, seed): identical to drawing them one by one."""
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed: expected an integer >= 0, got {seed!r}")
        variants = [int(v) for v in variants]
        if any(v < 0 for v in variants):
            raise ConfigError(f"variants: expected indices >= 0, got {min(variants)}")
        drawn = [self._uniforms(episode, v, seed) for v in variants]
        u = np.stack([d[0] for d in drawn]) if drawn else np.zeros((0, 0))
        P = len(self.spec.parameters)
        cols = [p.distribution.ppf(u[:, i]) for i, p in enumerate(self.spec.parameters)]
        cols += [n.distribution.ppf(u[:, P + i]) for i, n in enumerate(self.spec.initial_state)]
        out = []
        for k, (v, (_, sensor_seed)) in enumerate(zip(variants, drawn, strict=True)):
            values = {b.name: self._value(b, cols[i][k]) for i, b in enumerate(self._bound)}
            state = {n.key: float(cols[P + i][k]) for i, n in enumerate(self.spec.initial_state)}
            sample = Sample(str(episode), v, seed, self.digest, values, state, sensor_seed)
            self._drawn[id(sample)] = sample
            out.append(sample)
        return out

    def sample(self, episode: str, variant: int, *, seed: int = 0) -> Sample:
        return self.samples(episode, [variant], seed=seed)[0]

    # -- applying ------------------------------------------------------------------------------
    def _check(self, sample: Sample) -> None:
        if sample.spec != self.digest:
            raise ConfigError(
                f"sample (episode {sample.episode!r}, variant {sample.variant}) was drawn from "
                f"spec {sample.spec[:12]}, not this one ({self.digest[:12]})"
            )

    def copies(self, n: int) -> list[mujoco.MjModel]:
        """`n` copies of the bound model that `applied` writes samples into as fast as into the
        bound model (e.g. one per variant of a batched rollout). Leave their values as `applied`
        restores them: the fast path relies on the values the extremes were checked against."""
        out = []
        for _ in range(n):
            m = copy.copy(self.model)
            self._targets[m] = self._views(m)
            out.append(m)
        return out

    def _views(self, model: mujoco.MjModel) -> tuple[list[np.ndarray | None], Any]:
        flats = [
            None if b.flat is None else b.address.array(model).reshape(-1) for b in self._bound
        ]
        return flats, mujoco.MjData(model) if self._setconst else None

    @contextlib.contextmanager
    def applied(
        self, sample: Sample, model: mujoco.MjModel | None = None
    ) -> Iterator[mujoco.MjModel]:
        """Write the sample's physics values into `model` (default: the bound one) in place for a
        `with` block; restored bit for bit after (`workbench.physics.values_applied`).

        A sample this randomizer drew, written into the bound model or one of its `copies`,
        takes a fast path (names resolved and value ranges checked once, at construction);
        any other model or sample goes through the fully checked `values_applied`."""
        self._check(sample)
        target = self.model if model is None else model
        views = self._targets.get(target)
        if views is not None and self._drawn.get(id(sample)) is sample:
            previous = self._write(sample, target, views)
            try:
                yield target
            finally:
                self._restore(previous, target, views)
            return
        with values_applied(target, sample.values) as m:
            yield m

    def _write(self, sample: Sample, model: mujoco.MjModel, views) -> list:
        """Write a sample this randomizer drew (its values are known valid element by element)
        into `model`; returns the exact previous elements. Raises ParameterError, leaving the
        model as it was, when the values break a rule over several elements."""
        flats, scratch = views
        previous: list = [None] * len(self._bound)
        opt = model.opt
        for i in self._order:  # first moments last: they divide by the (written) mass
            b, flat, value = self._bound[i], flats[i], sample.values[self._bound[i].name]
            if flat is None:
                attr = b.address.field[4:]
                previous[i] = getattr(opt, attr)
                setattr(opt, attr, float(value))
                continue
            previous[i] = flat[b.index]  # fancy indexing copies
            if write_order(b.address):
                b.address.write(model, value)
            else:
                flat[b.index] = value if b.base is None else b.base * value
        problem = inertia_violation(model) if self._joint else None
        if problem:
            self._restore(previous, model, views)
            raise ParameterError(problem)
        if self._setconst:
            mujoco.mj_setConst(model, scratch)
        return previous

    def _restore(self, previous: list, model: mujoco.MjModel, views) -> None:
        flats, scratch = views
        opt = model.opt
        for b, flat, before in zip(self._bound, flats, previous, strict=True):
            if flat is None:
                setattr(opt, b.address.field[4:], before)
            else:
                flat[b.index] = before
        if self._setconst:
            mujoco.mj_setConst(model, scratch)

    def check_episode(self, episode: Episode) -> None:
        """Raise BindingError if a noise entry names a signal or column the episode lacks."""
        for n in (*self.spec.initial_state, *self.spec.sensor_noise):
            _column(episode, n)

    def perturb(self, episode: Episode, sample: Sample) -> Episode:
        """The episode with the sample's initial-state offsets added to its first sample."""
        self._check(sample)
        if not sample.initial_state:
            return episode
        signals = dict(episode.signals)
        for n in self.spec.initial_state:
            col = _column(episode, n)
            sig = signals[n.signal]
            values = sig.values.copy()
            values[0, col] += sample.initial_state[n.key]
            signals[n.signal] = dataclasses.replace(sig, values=values)
        return dataclasses.replace(episode, signals=signals)

    def sensor_noise(
        self, sample: Sample, signal: str, columns: Sequence[str], length: int
    ) -> np.ndarray:
        """(length, len(columns)) additive noise for those columns of a recorded signal (zero
        where the spec has none); each column's stream depends only on (sample, signal/column)."""
        self._check(sample)
        out = np.zeros((length, len(columns)))
        by_key = {n.key: n for n in self.spec.sensor_noise}
        for j, column in enumerate(columns):
            n = by_key.get(f"{signal}/{column}")
            if n is not None:
                out[:, j] = column_noise(sample.sensor_seed, n.key, n.distribution, length)
        return out


def column_noise(seed: int, key: str, distribution: Distribution, length: int) -> np.ndarray:
    """(length,) additive sensor noise of one '<signal>/<column>' `key` for a sample whose
    `Sample.sensor_seed` is `seed`: a function of (seed, key, distribution, length) only, so a
    variant's noise is rebuilt exactly from its provenance."""
    ss = np.random.SeedSequence([seed, _h64(key)])
    u = np.random.Generator(np.random.PCG64(ss)).random(length)
    return distribution.ppf(np.where(u > 0, u, _TINY))


def _column(episode: Episode, noise: SignalNoise) -> int:
    if noise.signal not in episode.signals:
        raise BindingError(
            f"noise {noise.key!r}: episode {episode.id!r} has no signal {noise.signal!r}; "
            f"signals are {name_list(episode.signals)}"
        )
    columns = episode.signals[noise.signal].columns
    if noise.column not in columns:
        raise BindingError(
            f"noise {noise.key!r}: signal {noise.signal!r} of episode {episode.id!r} has no column "
            f"{noise.column!r}; columns are {name_list(columns)}"
        )
    return list(columns).index(noise.column)
