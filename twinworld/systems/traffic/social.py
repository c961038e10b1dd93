"""Who knows whom among a run's households: the small-world network of
:mod:`twinworld.core.social`, with households placed on its ring in the order of where they live
(a Z-order curve over their home coordinates), so ring neighbours are mostly street neighbours and
rewired ties reach across the city.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from twinworld.core.social import Contacts, ring_network

__all__ = ["Contacts", "ring_network", "contacts_of", "z_order"]


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
