"""Philox4x32-10 and Box-Muller: known-answer vectors, the generated Numba copy, statistics."""

from __future__ import annotations

import numpy as np
import pytest

from brainsweep import rng
from brainsweep.backends.numba_target import load_module
from brainsweep.codegen import generate

# Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_numpy_philox_matches_known_answers(counter, key, expected):
    words = rng.philox4x32(counter, key)
    assert tuple(int(w) for w in words) == expected


@pytest.fixture(scope="module")
def numba_kernel_module():
    return load_module(generate("montbrio", target="numba", dtype="float64"))


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_generated_numba_philox_matches_known_answers(numba_kernel_module, counter, key,
                                                      expected):
    words = numba_kernel_module.philox4x32(*(np.uint64(c) for c in counter),
                                           *(np.uint64(k) for k in key))
    assert tuple(int(w) for w in words) == expected


def test_generated_numba_normals_match_numpy_reference(numba_kernel_module):
    generator = np.random.default_rng(20261122)
    for _ in range(200):
        seed, sim, step, node = (int(v) for v in generator.integers(0, 2**32, 4))
        words = numba_kernel_module.philox_words(seed, sim, step, node, 0)
        cos_branch, sin_branch = numba_kernel_module.box_muller(words[0], words[1])
        expected = [rng.normal(seed, sim, step, node, v) for v in (0, 1)]
        # same formula in float64 on both sides; libm may differ by an ulp or two
        np.testing.assert_allclose([cos_branch, sin_branch], expected, rtol=0,
                                   atol=4 * np.finfo(np.float64).eps * 8)


def test_normals_are_standard_normal():
    steps = np.arange(200_000)
    z = rng.normal(7, 3, steps, 0, 0)
    # mean within 5 standard errors, variance within 5 of its standard errors (sqrt(2/n))
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.var() - 1.0) < 5 * np.sqrt(2.0 / z.size)
    # the sine branch (variable 1) is uncorrelated with the cosine branch (variable 0)
    z1 = rng.normal(7, 3, steps, 0, 1)
    assert abs(np.corrcoef(z, z1)[0, 1]) < 5 / np.sqrt(z.size)


def test_streams_differ_by_key_and_counter():
    base = rng.normal(1, 0, np.arange(1000), 0, 0)
    for other in (rng.normal(2, 0, np.arange(1000), 0, 0),  # another seed
                  rng.normal(1, 1, np.arange(1000), 0, 0),  # another simulation
                  rng.normal(1, 0, np.arange(1000), 1, 0),  # another node
                  rng.normal(1, 0, np.arange(1000), 0, 4)):  # another variable block
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.15
        assert not np.allclose(base, other)
