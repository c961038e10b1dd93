"""A particle filter (sequential importance resampling) over a scenario's uncertain parameters.

Each particle is a point ``z`` in standard-normal coordinates, one per uncertain parameter; its
value is ``dist.ppf(Phi(z))``. Under the prior every ``z`` is N(0, 1) whatever the distribution
(uniform, triangular, lognormal, choice), so moves in ``z`` never leave a parameter's support.

A round multiplies the weights by the likelihood of what was observed since the last round; when
the effective sample size falls below a share of the particles, they are resampled (systematic)
and the duplicates spread out again: by Metropolis-Hastings moves that leave the posterior
unchanged (resample-move, :meth:`ParticleSet.move`; the default) or by the Liu-West kernel (shrink
towards the mean, add Gaussian noise; keeps the mean and covariance but not the shape, so the tail
of a posterior pressed against a prior bound comes out too short). Particles may also carry state
arrays (``states``) for what is only partly observed; resampling copies them along.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr, ndtri

from twinworld.params import Choice, Dist, LogNormal, Normal, Triangular, Uniform

__all__ = ["ParticleSet", "vector_ppf", "systematic", "weighted_quantile"]

_U_EDGE = 1e-12


def vector_ppf(dist: Dist, u: np.ndarray) -> np.ndarray:
    """``dist.ppf`` for an array of quantiles (exactly the scalar formulas, vectorised)."""
    u = np.clip(np.asarray(u, dtype=float), _U_EDGE, 1 - _U_EDGE)
    if isinstance(dist, Uniform):
        return dist.low + u * (dist.high - dist.low)
    if isinstance(dist, Triangular):
        lo, c, hi = dist.low, dist.mode, dist.high
        if hi == lo:
            return np.full(u.shape, lo)
        cut = (c - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (c - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - c))
        return np.where(u < cut, left, right)
    if isinstance(dist, Normal):
        return np.clip(dist.mean + dist.sd * ndtri(u), dist.low, dist.high)
    if isinstance(dist, LogNormal):
        mu, sigma = dist.log_params
        return np.exp(mu + sigma * ndtri(u))
    if isinstance(dist, Choice):
        values = np.asarray(dist.values, dtype=float)
        if dist.weights is None:
            return values[np.minimum((u * len(values)).astype(int), len(values) - 1)]
        cumulative = np.cumsum(dist.weights) / sum(dist.weights)
        return values[np.minimum(np.searchsorted(cumulative, u, side="right"), len(values) - 1)]
    return np.vectorize(dist.ppf, otypes=[float])(u)


def systematic(weights: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` draws by systematic resampling (one uniform, evenly spaced)."""
    positions = (rng.random() + np.arange(count)) / count
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions, side="right").clip(0, len(weights) - 1)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantiles of a weighted sample (midpoint rule on the sorted cumulative weights)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cumulative = np.cumsum(w) - 0.5 * w
    cumulative /= w.sum()
    return np.interp(q, cumulative, v)


@dataclass
class ParticleSet:
    """Particles over named parameters, with log weights and optional state arrays.

    Attributes
    ----------
    names
        Parameter paths (as :func:`twinworld.scenario.uncertain.uncertainties` names them).
    dists
        Their prior distributions.
    z
        ``(particles, parameters)`` standard-normal coordinates.
    log_w
        Normalised log weights.
    states
        Name -> array with one row per particle (state where observations are partial).
    """

    names: tuple[str, ...]
    dists: tuple[Dist, ...]
    z: np.ndarray
    log_w: np.ndarray
    states: dict[str, np.ndarray] = field(default_factory=dict)
    resamplings: int = 0

    @classmethod
    def from_prior(cls, uncertain: Mapping[str, Dist], count: int, rng: np.random.Generator) -> "ParticleSet":
        """``count`` equally weighted draws from the prior."""
        names = tuple(uncertain)
        z = rng.standard_normal((count, len(names)))
        return cls(names, tuple(uncertain[n] for n in names), z, np.full(count, -math.log(count)))

    @property
    def size(self) -> int:
        return self.z.shape[0]

    def values(self) -> np.ndarray:
        """``(particles, parameters)`` parameter values."""
        u = ndtr(self.z)
        columns = [vector_ppf(dist, u[:, j]) for j, dist in enumerate(self.dists)]
        return np.column_stack(columns) if columns else np.empty((self.size, 0))

    def weights(self) -> np.ndarray:
        w = np.exp(self.log_w - self.log_w.max())
        return w / w.sum()

    def ess(self) -> float:
        """Effective sample size, ``1 / sum(w^2)``."""
        w = self.weights()
        return float(1.0 / np.sum(w * w))

    def reweight(self, log_likelihood: np.ndarray) -> None:
        """Multiply the weights by a likelihood (given as logs); all -inf resets to equal weights."""
        log_w = self.log_w + np.asarray(log_likelihood, dtype=float)
        top = np.max(log_w)
        if not np.isfinite(top):
            log_w = np.zeros(self.size)
            top = 0.0
        log_w = log_w - (top + math.log(np.sum(np.exp(log_w - top))))
        self.log_w = log_w

    def resample(self, rng: np.random.Generator, *, bandwidth: float | None = None, liu_west: bool = True) -> None:
        """Systematic resampling, then (``liu_west``) the Liu-West move (mean and covariance kept)."""
        index = systematic(self.weights(), self.size, rng)
        self.z = self.z[index]
        self.states = {name: array[index] for name, array in self.states.items()}
        self.log_w = np.full(self.size, -math.log(self.size))
        self.resamplings += 1
        if self.z.shape[1] and liu_west:
            self._liu_west(rng, bandwidth)

    def move(self, log_target: Callable[[np.ndarray], np.ndarray], rng: np.random.Generator, *,
             steps: int = 5) -> float:
        """Metropolis-Hastings rejuvenation: ``steps`` random-walk moves of every particle that
        leave ``log_target`` (log likelihood of everything observed + log prior, in ``z``)
        invariant. Returns the share of moves accepted.

        The proposal is Gaussian with the particles' covariance scaled by 2.38^2 / d (Roberts,
        Gelman and Gilks 1997). Unlike a kernel move, this keeps the posterior's shape exactly
        (skewness near a prior bound included), at the cost of evaluating the full likelihood.
        """
        n, d = self.z.shape
        if d == 0 or steps <= 0:
            return 0.0
        cov = np.atleast_2d(np.cov(self.z, rowvar=False)) + 1e-9 * np.eye(d)
        try:
            root = np.linalg.cholesky(cov) * (2.38 / math.sqrt(d))
        except np.linalg.LinAlgError:
            root = np.diag(np.sqrt(np.clip(np.diag(cov), 1e-9, None))) * (2.38 / math.sqrt(d))
        current = log_target(self.z)
        accepted = 0
        for _ in range(steps):
            proposal = self.z + rng.standard_normal((n, d)) @ root.T
            target = log_target(proposal)
            take = np.log(rng.random(n)) < target - current
            self.z[take], current[take] = proposal[take], target[take]
            accepted += int(take.sum())
        return accepted / (n * steps)

    def _liu_west(self, rng: np.random.Generator, bandwidth: float | None) -> None:
        n, d = self.z.shape
        h = bandwidth if bandwidth is not None else min(0.5, (4.0 / (n * (d + 2))) ** (1.0 / (d + 4)))
        a = math.sqrt(1.0 - h * h)
        mean = self.z.mean(axis=0)
        cov = np.atleast_2d(np.cov(self.z, rowvar=False)) + 1e-12 * np.eye(d)
        try:
            root = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            root = np.diag(np.sqrt(np.clip(np.diag(cov), 1e-12, None)))
        self.z = a * self.z + (1 - a) * mean + h * rng.standard_normal((n, d)) @ root.T

    def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of ``count`` particles drawn by their weights (systematic): a posterior sample."""
        return systematic(self.weights(), count, rng)

    def summary(self, names: list[str] | None = None, *, level: float = 0.9) -> dict[str, dict[str, float]]:
        """Per parameter: posterior median, mean and the equal-tailed ``level`` credible interval."""
        values, w = self.values(), self.weights()
        tail = (1 - level) / 2
        out = {}
        for j, name in enumerate(self.names):
            if names is not None and name not in names:
                continue
            low, median, high = weighted_quantile(values[:, j], w, np.array([tail, 0.5, 1 - tail]))
            out[name] = {"median": float(median), "low": float(low), "high": float(high),
                         "mean": float(np.sum(w * values[:, j]))}
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays to keep in the store (names as a unicode array; no pickle needed)."""
        arrays = {"names": np.asarray(self.names, dtype=str), "z": self.z, "log_w": self.log_w,
                  "resamplings": np.asarray(self.resamplings)}
        arrays.update({f"state:{k}": v for k, v in self.states.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], uncertain: Mapping[str, Dist]) -> "ParticleSet":
        """Back from :meth:`to_arrays`; the names must be the scenario's uncertain parameters."""
        names = tuple(str(n) for n in arrays["names"])
        if set(names) != set(uncertain):
            raise ValueError("the stored particles are over other parameters than the scenario's")
        states = {k.removeprefix("state:"): v for k, v in arrays.items() if k.startswith("state:")}
        return cls(names, tuple(uncertain[n] for n in names), arrays["z"], arrays["log_w"], states,
                   int(arrays.get("resamplings", 0)))
