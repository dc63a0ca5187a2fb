"""One-dimensional distributions of a randomization spec, drawn by inverse CDF (`scipy.stats`).

Every draw is `ppf(u)` of a uniform `u` in (0, 1), so a sample depends only on its uniforms
(reproducible, and the same whether drawn one at a time or in bulk).

| kind | keys | meaning |
|---|---|---|
| `uniform` | `lower`, `upper` | flat on [lower, upper] |
| `log_uniform` | `lower`, `upper` (> 0) | flat in log on [lower, upper] |
| `normal` | `mean`, `std` | Gaussian |
| `truncated_normal` | `mean`, `std`, `lower`, `upper` | Gaussian restricted to [lower, upper] |
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats

from workbench import schema
from workbench.errors import ConfigError

KINDS: dict[str, tuple[str, ...]] = {
    "uniform": ("lower", "upper"),
    "log_uniform": ("lower", "upper"),
    "normal": ("mean", "std"),
    "truncated_normal": ("mean", "std", "lower", "upper"),
}


@dataclasses.dataclass(frozen=True)
class Distribution:
    """A validated 1-D distribution; unused keys stay None."""

    kind: str
    mean: float | None = None
    std: float | None = None
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        where = f"distribution {self.kind!r}"
        schema.string(self.kind, "distribution", ConfigError, choices=KINDS)
        need = KINDS[self.kind]
        for key in ("mean", "std", "lower", "upper"):
            value = getattr(self, key)
            if key in need:
                if value is None:
                    raise ConfigError(f"{where}: missing {key!r} (needs {list(need)})")
                schema.number(value, f"{where}: {key}", ConfigError)
            elif value is not None:
                raise ConfigError(f"{where}: unexpected {key!r}; it takes {list(need)}")
        if "std" in need:
            schema.number(self.std, f"{where}: std", ConfigError, lower=0)
        if "lower" in need and not self.lower < self.upper:
            raise ConfigError(
                f"{where}: expected lower < upper, got lower={self.lower!r}, upper={self.upper!r}"
            )
        if self.kind == "log_uniform" and self.lower <= 0:
            raise ConfigError(f"{where}: expected lower > 0 (log scale), got {self.lower!r}")
        if (
            self.kind == "truncated_normal"
            and self.std == 0
            and not (self.lower <= self.mean <= self.upper)
        ):
            raise ConfigError(
                f"{where}: std 0 puts all mass at mean {self.mean!r}, outside "
                f"[{self.lower!r}, {self.upper!r}]"
            )

    @classmethod
    def from_table(cls, table: Any, where: str) -> Distribution:
        """From a TOML/JSON table: `distribution = "<kind>"` plus that kind's keys."""
        table = schema.table(
            table,
            where,
            ConfigError,
            allowed=("distribution", "mean", "std", "lower", "upper"),
            required=("distribution",),
        )
        kind = table.pop("distribution")
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(
                f"{where}: distribution expected one of {sorted(KINDS)}, got {kind!r}"
            )
        try:
            return cls(kind, **table)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def as_table(self) -> dict[str, Any]:
        out: dict[str, Any] = {"distribution": self.kind}
        out.update({k: getattr(self, k) for k in KINDS[self.kind]})
        return out

    @property
    def support(self) -> tuple[float, float]:
        """(lowest, highest) value a draw can take."""
        if self.kind == "normal":
            return (-math.inf, math.inf) if self.std > 0 else (self.mean, self.mean)
        return self.lower, self.upper

    @property
    def centre(self) -> float:
        """The point estimate the distribution stands around: mean (normal kinds, clipped to
        the bounds), midpoint (uniform), geometric midpoint (log-uniform)."""
        if self.kind == "uniform":
            return 0.5 * (self.lower + self.upper)
        if self.kind == "log_uniform":
            return math.sqrt(self.lower * self.upper)
        if self.kind == "truncated_normal":
            return min(max(self.mean, self.lower), self.upper)
        return self.mean

    def widened(self, factor: float) -> Distribution:
        """The same centre with its spread times `factor` (std; uniform widths, in log for
        log-uniform), clipped to bounds a truncated normal keeps."""
        schema.number(factor, "spread factor", ConfigError, lower=0)
        if self.kind in ("normal", "truncated_normal"):
            return dataclasses.replace(self, std=self.std * factor)
        c = self.centre
        if self.kind == "uniform":
            half = 0.5 * (self.upper - self.lower) * max(factor, 1e-12)
            return dataclasses.replace(self, lower=c - half, upper=c + half)
        ratio = math.sqrt(self.upper / self.lower) ** max(factor, 1e-12)
        return dataclasses.replace(self, lower=c / ratio, upper=c * ratio)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at probabilities `u` (any shape, each in (0, 1))."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "uniform":
            return self.lower + u * (self.upper - self.lower)
        if self.kind == "log_uniform":
            return np.asarray(stats.loguniform.ppf(u, self.lower, self.upper), dtype=np.float64)
        if self.std == 0:
            return np.full_like(u, self.mean)
        if self.kind == "normal":
            return np.asarray(stats.norm.ppf(u, loc=self.mean, scale=self.std), dtype=np.float64)
        a = (self.lower - self.mean) / self.std
        b = (self.upper - self.mean) / self.std
        x = stats.truncnorm.ppf(u, a, b, loc=self.mean, scale=self.std)
        return np.clip(np.asarray(x, dtype=np.float64), self.lower, self.upper)
