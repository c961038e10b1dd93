"""Route choice as UXsim's dynamic user optimum: generations of routing trees and their weights.

Every re-plan on current travel times adds a generation of shortest-path trees (one per
destination). A platoon at a node takes the link of one generation, drawn with weight 1/2 for the
newest, 1/4 for the one before, ... (the oldest kept takes the rest): the share of traffic on
each link is then UXsim's route preference, which a DUO update moves half-way towards the newest
shortest paths (``duo_update_weight = 0.5``). A platoon held at a node by a full link may take
another link with room that some generation uses, as UXsim's vehicles draw their next link again
at every time step while the drawn one cannot take them.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

__all__ = ["RouteGenerations"]


class RouteGenerations:
    """Routing trees of successive re-plans (newest first) and the weights a platoon draws them by.

    Parameters
    ----------
    keep
        How many generations to keep (1: everyone follows the newest trees).
    rng
        The stream of the uniform draws.
    """

    def __init__(self, keep: int, rng: np.random.Generator) -> None:
        self.keep = max(1, int(keep))
        self.rng = rng
        self.trees: list[list[list[int]]] = []  # [generation][destination row][node] -> link
        self.weights = [1.0]
        self.cumulative = [1.0]
        self._draws: list[float] = []

    def reset(self, next_link: list[list[int]]) -> None:
        """Keep only ``next_link`` (after a network change every old route is void)."""
        self.trees = [next_link]
        self._reweigh()

    def add(self, next_link: list[list[int]]) -> None:
        """Add the trees of a periodic re-plan as the newest generation."""
        self.trees = [next_link] + self.trees[:self.keep - 1]
        self._reweigh()

    def _reweigh(self) -> None:
        weights = [0.5 ** (g + 1) for g in range(len(self.trees))]
        weights[-1] += 1.0 - sum(weights)
        self.weights = weights
        self.cumulative = np.cumsum(weights).tolist()

    def link(self, generation: int, d: int, node: int) -> int:
        """The link generation ``generation`` takes at ``node`` towards row ``d`` (-1: none)."""
        trees = self.trees
        return trees[generation if generation < len(trees) else -1][d][node]

    def uniform(self) -> float:
        """A U(0, 1) draw from the stream (drawn in blocks for speed)."""
        if not self._draws:
            self._draws = self.rng.random(4096).tolist()
        return self._draws.pop()

    def draw(self) -> int:
        """A generation: the newest with probability 1/2, the one before 1/4, ..."""
        cumulative = self.cumulative
        if len(cumulative) == 1:
            return 0
        if not self._draws:
            self._draws = self.rng.random(4096).tolist()
        return min(bisect_right(cumulative, self._draws.pop()), len(cumulative) - 1)

    def choices(self, d: int, node: int) -> dict[int, float]:
        """The links the generations take at ``node`` towards ``d``, with their total weights."""
        out: dict[int, float] = {}
        for trees, weight in zip(self.trees, self.weights, strict=True):
            link = trees[d][node]
            if link >= 0:
                out[link] = out.get(link, 0.0) + weight
        return out

    def generation_taking(self, d: int, node: int, link: int) -> int:
        """The newest generation that takes ``link`` at ``node`` towards ``d`` (0 if none)."""
        for gen, trees in enumerate(self.trees):
            if trees[d][node] == link:
                return gen
        return 0

    def pick(self, options: list[tuple[int, float]]) -> int:
        """One item of ``(item, weight)`` pairs, drawn by weight."""
        if len(options) == 1:
            return options[0][0]
        u = self.uniform() * sum(w for _, w in options)
        for item, w in options:
            u -= w
            if u <= 0:
                return item
        return options[-1][0]
