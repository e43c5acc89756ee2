"""Smooth fill of a displacement over a mesh from a few prescribed vertices.

Why: each expression is specified only where it is defined precisely (the lip contours, the
lid margins, the brows, the jaw line) and where it must not act (eyes when the mouth moves,
the face outline above the jaw, the outer rings). Everything in between should follow smoothly,
the way skin stretches. A harmonic fill does exactly that: every free vertex ends up at the
weighted average of its neighbours, with edge weights 1/length so that dense and sparse parts
of the mesh behave alike. The mouth and eye openings are left out of the neighbour graph, so
the lower lip never drags the upper lip along (and vice versa).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def edge_graph(points: np.ndarray, triangles: np.ndarray) -> sp.csr_matrix:
    """(n, n) symmetric sparse matrix of edge weights 1/length for the edges of `triangles`."""
    edges = np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    xy = points[:, :2].astype(np.float64)
    length = np.linalg.norm(xy[edges[:, 0]] - xy[edges[:, 1]], axis=1)
    weight = 1.0 / np.maximum(length, 0.5)
    n = len(points)
    graph = sp.coo_matrix((weight, (edges[:, 0], edges[:, 1])), shape=(n, n))
    return (graph + graph.T).tocsr()


def harmonic_fill(graph: sp.csr_matrix, known: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n, d) values: `values` where `known` (bool (n,)), a harmonic interpolation elsewhere.
    Vertices without neighbours among the free ones keep 0."""
    values = np.where(known[:, None], values, 0.0)
    degree = np.asarray(graph.sum(axis=1)).ravel()
    free = np.flatnonzero(~known & (degree > 0))
    if free.size == 0:
        return values
    laplacian = sp.diags(degree) - graph
    l_ff = laplacian[free][:, free].tocsc()
    rhs = -(laplacian[free][:, np.flatnonzero(known)] @ values[known])
    values = values.copy()
    values[free] = spla.splu(l_ff).solve(np.asarray(rhs, np.float64))
    return values
