"""Small curve shapes every stage uses, defined once (beside the contracts, importable by all).

    smoothstep(x, edge0, edge1)   0 below edge0, 1 above edge1, 3t^2 - 2t^3 between (C1-smooth)
    ramp(times_s, start_s, length_s)   raised-cosine step from 0 to 1 over [start_s, start_s + length_s]

Both take floats or numpy arrays and return the same kind (arrays as float64).
"""

from __future__ import annotations

from typing import overload

import numpy as np


@overload
def smoothstep(x: float, edge0: float = 0.0, edge1: float = 1.0) -> float: ...
@overload
def smoothstep(
    x: np.ndarray, edge0: float | np.ndarray = 0.0, edge1: float | np.ndarray = 1.0
) -> np.ndarray: ...
def smoothstep(
    x: float | np.ndarray, edge0: float | np.ndarray = 0.0, edge1: float | np.ndarray = 1.0
) -> float | np.ndarray:
    """Hermite step of `x` between edge0 and edge1 (t = (x - edge0) / (edge1 - edge0))."""
    t = np.clip((np.asarray(x, np.float64) - edge0) / (np.asarray(edge1, np.float64) - edge0), 0.0, 1.0)
    out = t * t * (3.0 - 2.0 * t)
    return float(out) if np.ndim(out) == 0 and not isinstance(x, np.ndarray) else out


def ramp(times_s: np.ndarray, start_s: float, length_s: float) -> np.ndarray:
    """(n,) 0 before start_s, a raised-cosine rise over length_s, 1 after."""
    x = np.clip((times_s - start_s) / max(length_s, 1e-6), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)
