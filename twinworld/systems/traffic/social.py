"""Who knows whom: a small-world contact network over a run's households (networkx).

The network's shape (a Watts-Strogatz ring lattice of ``n`` positions, each tied to its
``contacts`` nearest, a share ``rewire`` of ties moved to random positions) is a static input: it
is built with networkx once per process for a given size, degree, rewiring share and seed, and
kept as a compressed sparse row (CSR) adjacency. A run places its households on the ring in the
order of where they live (a Z-order curve over their home coordinates), so ring neighbours are
mostly street neighbours and rewired ties reach across the city.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix

from twinworld.core.cache import static

__all__ = ["Contacts", "ring_network", "contacts_of", "z_order"]


@dataclass(frozen=True)
class Contacts:
    """A directed adjacency in CSR form: the contacts of household ``h`` are
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

    def edges_from(self, households: np.ndarray) -> np.ndarray:
        """Positions in ``indices`` of every tie leaving ``households`` (grouped by household)."""
        starts = self.indptr[households]
        counts = self.indptr[households + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64)
        offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        return offsets + np.arange(total)

    def sources(self) -> np.ndarray:
        """The household each tie leaves from (aligned with ``indices``)."""
        return np.repeat(np.arange(self.size), self.degree())


def ring_network(n: int, *, contacts: int, rewire: float, seed: int) -> Contacts:
    """The Watts-Strogatz network over ring positions ``0..n-1``, once per process."""
    key = f"social-ws:{n}:{contacts}:{rewire!r}:{seed}"
    return static(key, lambda: _build(n, contacts, rewire, seed))


def _build(n: int, contacts: int, rewire: float, seed: int) -> Contacts:
    if n <= contacts:
        graph = nx.complete_graph(n)
    else:
        graph = nx.watts_strogatz_graph(n, contacts, rewire, seed=seed)
    matrix = nx.to_scipy_sparse_array(graph, nodelist=range(n), format="csr", dtype=np.int8)
    return Contacts(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64))


def z_order(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """A spatial sort key: the Morton (Z-order) code of coordinates quantised to 16 bits each."""
    def quantise(values: np.ndarray) -> np.ndarray:
        low, high = float(values.min()), float(values.max())
        scale = 65535.0 / (high - low) if high > low else 0.0
        return ((values - low) * scale).astype(np.uint64)

    def spread(bits: np.ndarray) -> np.ndarray:
        bits = (bits | (bits << np.uint64(8))) & np.uint64(0x00FF00FF)
        bits = (bits | (bits << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        bits = (bits | (bits << np.uint64(2))) & np.uint64(0x33333333)
        return (bits | (bits << np.uint64(1))) & np.uint64(0x55555555)

    if lat.size == 0:
        return np.zeros(0, np.uint64)
    return spread(quantise(lat)) | (spread(quantise(lon)) << np.uint64(1))


def contacts_of(lat: np.ndarray, lon: np.ndarray, *, contacts: int, rewire: float, seed: int) -> Contacts:
    """The contact network of households living at ``(lat, lon)``, in household order.

    Households are put on the ring in Z-order of their homes (ties broken by their index, so the
    placement is a pure function of the homes), then the cached ring network is relabelled.
    """
    n = lat.size
    ring = ring_network(n, contacts=contacts, rewire=rewire, seed=seed)
    position_of = np.empty(n, np.int64)
    position_of[np.lexsort((np.arange(n), z_order(lat, lon)))] = np.arange(n)
    matrix = csr_matrix((np.ones(ring.ties, np.int8), ring.indices, ring.indptr), shape=(n, n))
    relabelled = matrix[position_of][:, position_of]
    relabelled.sort_indices()
    return Contacts(relabelled.indptr.astype(np.int64), relabelled.indices.astype(np.int64))
