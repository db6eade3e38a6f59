"""Compiled counting for the non-parametric estimators (numba; loaded on first use).

Kaplan–Meier, Nelson–Aalen, Aalen–Johansen and the log-rank test need, per distinct time,
the (weighted) number of rows leaving and of events of each type or group. Registry times
are days or months, so a table of 10^7 rows has a few thousand distinct times: counting
them in one pass through a small open-addressing hash table (which stays in cache) is
several times faster than sorting the 10^7 times. The table has a fixed capacity; when
the data have more distinct values the kernel stops at once and the caller sorts instead.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._jit import kernel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing multiplier (Knuth)


@kernel
def distinct_counts(
    values: FloatArray,
    column: IntArray,
    weights: FloatArray,
    keys: FloatArray,
    counts: FloatArray,
    codes: IntArray,
) -> int:
    """Count rows per distinct value (in order of first appearance) and column.

    ``counts[k, column[i]] += weights[i]`` (1 when ``weights`` is empty) with k the index
    of ``values[i]`` among the distinct values, written to ``keys[k]``; ``codes[i] = k``
    when ``codes`` has rows. ``keys``/``counts`` rows bound the number of distinct values:
    returns how many there are, or -1 as soon as there are more. Equal floats are one value
    (0.0 and -0.0 too); NaN must not occur.
    """
    capacity = keys.shape[0]
    size = 2
    bits = 1
    while size < 2 * capacity:
        size *= 2
        bits += 1
    shift = np.uint64(64 - bits)
    mask = size - 1
    slot_key = np.empty(size)
    slot_id = np.full(size, -1, np.int64)
    unit = weights.shape[0] == 0
    with_codes = codes.shape[0] > 0
    found = 0
    for i in range(values.shape[0]):
        v = values[i] + 0.0  # -0.0 -> 0.0, so that equal values share one slot
        h = np.uint64(np.int64(np.float64(v).view(np.int64))) * _GOLDEN
        s = np.int64(h >> shift) & mask
        while True:
            k = slot_id[s]
            if k < 0:
                if found == capacity:
                    return -1
                k = found
                slot_id[s] = k
                slot_key[s] = v
                keys[k] = v
                found += 1
                break
            if slot_key[s] == v:
                break
            s = (s + 1) & mask
        counts[k, column[i]] += 1.0 if unit else weights[i]
        if with_codes:
            codes[i] = k
    return found
