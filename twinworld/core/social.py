"""Who knows whom: small-world contact networks between agents (networkx), as compact arrays.

A network's shape (a Watts-Strogatz ring lattice of ``n`` positions, each tied to its ``contacts``
nearest, a share ``rewire`` of ties moved to random positions) is a static input: it is built
with networkx once per process for a given size, degree, rewiring share and seed, and kept as a
compressed sparse row (CSR) adjacency, so agents' messages can be passed for all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from twinworld.core.cache import static

__all__ = ["Contacts", "ring_network"]


@dataclass(frozen=True)
class Contacts:
    """A directed adjacency in CSR form: the contacts of agent ``h`` are
    ``indices[indptr[h]:indptr[h + 1]]`` (each tie appears once in each direction)."""

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def size(self) -> int:
        return self.indptr.size - 1

    @property
    def ties(self) -> int:
        return self.indices.size

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def of(self, agent: int) -> np.ndarray:
        """The contacts of one agent."""
        return self.indices[self.indptr[agent]:self.indptr[agent + 1]]

    def edges_from(self, agents: np.ndarray) -> np.ndarray:
        """Positions in ``indices`` of every tie leaving ``agents`` (grouped by agent, in order)."""
        starts = self.indptr[agents]
        counts = self.indptr[agents + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        return offsets + np.arange(total)


def ring_network(n: int, *, contacts: int, rewire: float, seed: int) -> Contacts:
    """The Watts-Strogatz network over ring positions ``0..n-1``, once per process.

    With ``n`` no larger than ``contacts`` everyone knows everyone; with ``contacts`` 0, nobody.
    """
    key = f"social-ws:{n}:{contacts}:{rewire!r}:{seed}"
    return static(key, lambda: _build(n, contacts, rewire, seed))


def _build(n: int, contacts: int, rewire: float, seed: int) -> Contacts:
    if contacts <= 0 or n <= 1:
        return Contacts(np.zeros(n + 1, np.int64), np.zeros(0, np.int64))
    graph = nx.complete_graph(n) if n <= contacts else nx.watts_strogatz_graph(n, contacts, rewire, seed=seed)
    matrix = nx.to_scipy_sparse_array(graph, nodelist=range(n), format="csr", dtype=np.int8)
    return Contacts(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64))
