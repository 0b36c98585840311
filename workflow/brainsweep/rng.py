"""Counter-based random numbers: Philox4x32-10 and Box–Muller, in NumPy.

This is the readable reference of the generator every kernel template implements. The key is
(seed, global simulation index) and the counter (step, node, variable // 4, 0), so a
simulation's noise depends on nothing but its seed and its index: not on the shard, its size,
the order of simulations, the backend or the device. One Philox call gives four 32-bit words,
which Box–Muller turns into four normals (words 0-1 → variables 4k and 4k+1 as the cosine and
sine branch, words 2-3 → variables 4k+2 and 4k+3).
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_muller", "normal", "philox4x32"]

_MASK = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_TWO_POW_MINUS_32 = 2.0**-32


def philox4x32(counter, key, rounds: int = 10) -> tuple[np.ndarray, ...]:
    """Philox4x32 (Salmon et al. 2011) on broadcastable arrays of 32-bit words.

    Parameters
    ----------
    counter
        Four arrays (or ints) ``c0..c3``, each word < 2**32.
    key
        Two arrays (or ints) ``k0, k1``.

    Returns
    -------
    Four ``uint64`` arrays holding the 32-bit output words.
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & _MASK for c in counter)
    k0, k1 = (np.asarray(k, dtype=np.uint64) & _MASK for k in key)
    for _ in range(rounds):
        product0 = _M0 * c0  # both < 2**32, so the 64-bit product is exact
        product1 = _M1 * c2
        hi0, lo0 = product0 >> np.uint64(32), product0 & _MASK
        hi1, lo1 = product1 >> np.uint64(32), product1 & _MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return c0, c1, c2, c3


def box_muller(word0, word1, dtype=np.float64, *, branch: str = "cos") -> np.ndarray:
    """A standard normal from two 32-bit words: sqrt(-2 ln u1) cos(2 pi u2) (or sin).

    ``u1 = (word0 + 1) 2**-32`` lies in (0, 1], so the logarithm is always finite.
    """
    dtype = np.dtype(dtype)
    u1 = (np.asarray(word0, dtype=np.float64) + 1.0) * _TWO_POW_MINUS_32
    u2 = np.asarray(word1, dtype=np.float64) * _TWO_POW_MINUS_32
    u1 = u1.astype(dtype)
    u2 = u2.astype(dtype)
    two_pi = dtype.type(2.0 * np.pi)
    trig = np.cos if branch == "cos" else np.sin
    return np.sqrt(dtype.type(-2.0) * np.log(u1)) * trig(two_pi * u2)


def normal(seed: int, sim_index, step, node, variable: int, dtype=np.float64) -> np.ndarray:
    """The normal variate of (seed, simulation, step, node, variable); arrays broadcast."""
    words = philox4x32((step, node, variable // 4, 0), (seed, sim_index))
    pair = (variable % 4) // 2
    branch = "cos" if variable % 2 == 0 else "sin"
    return box_muller(words[2 * pair], words[2 * pair + 1], dtype=dtype, branch=branch)
