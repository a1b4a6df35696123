"""The contract's latent scheme "philox" in Python: Random123's known answers, the known-answer
latents docs/inference.md prints, row stability, speed, and which scheme a file follows.
The same numbers in JavaScript (Node and Chromium): tests/examples/test_latent_scheme.py."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from inference import Generator, InferenceError, contract, latents
from inference.philox import MAX_SEED, philox4x32

from tests.helpers import toy_metadata

# Random123's kat_vectors, the three "philox4x32 10" lines: counter, key -> the four output words.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]

# The known-answer latents of docs/inference.md (float32, printed with 9 significant digits).
KNOWN = {
    "normal seed 7, 2 x 4": (dict(seed=7, n=2, latent_dim=4, distribution="normal"),
                             [[1.87387967, 0.618039727, 0.726152658, 1.01755476],
                              [0.482316017, -0.598911822, 0.952462018, -0.415347785]]),
    "uniform +-1 seed 7, 1 x 4": (dict(seed=7, n=1, latent_dim=4, distribution="uniform", bound=1.0),
                                  [[0.909194231, -0.634614289, -0.353318363, 0.0849349797]]),
    "normal seed 2**53 - 1, 1 x 3": (dict(seed=MAX_SEED, n=1, latent_dim=3, distribution="normal"),
                                     [[0.414888561, 0.483436793, 2.09629178]]),
}


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_philox_matches_random123s_known_answers(counter, key, expected):
    assert tuple(int(w) for w in philox4x32(counter, key)) == expected


@pytest.mark.parametrize("name", KNOWN)
def test_known_answer_latents(name):
    kwargs, expected = KNOWN[name]
    z = latents.sample(**kwargs, scheme="philox")
    assert z.dtype == np.float32
    np.testing.assert_allclose(z, np.array(expected, np.float32), rtol=0, atol=1e-7)


def test_an_element_depends_only_on_seed_row_and_column():
    big = latents.sample(300, 16, seed=11)
    np.testing.assert_array_equal(big[:7], latents.sample(7, 16, seed=11))  # row k of any batch
    np.testing.assert_array_equal(big[:, :5], latents.sample(300, 5, seed=11))  # column c of any width
    assert not np.array_equal(big, latents.sample(300, 16, seed=12))
    # a seed past 2**32 uses the key's second word: it is not seed mod 2**32
    assert not np.array_equal(latents.sample(2, 4, seed=2**32 + 11), latents.sample(2, 4, seed=11))
    np.testing.assert_allclose(latents.sample(300, 16, seed=11, truncation=0.25), big * 0.25, rtol=1e-6)
    clipped = latents.sample(4000, 8, seed=3, bound=1.0)
    assert np.abs(clipped).max() == 1.0 and np.array_equal(clipped, np.clip(latents.sample(4000, 8, seed=3), -1, 1))


def test_the_numbers_are_standard_normal_and_fast():
    start = time.perf_counter()
    z = latents.sample(10_000, 128, seed=0)
    took = time.perf_counter() - start
    assert took < 3.0, f"10,000 x 128 latents took {took:.2f} s"
    assert abs(z.mean()) < 0.005 and abs(z.std() - 1) < 0.005
    # every column and row uncorrelated with its neighbour (a broken counter would repeat streams)
    assert np.abs(np.corrcoef(z[:, :8].T) - np.eye(8)).max() < 0.04
    assert abs(np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]) < 0.01
    u = latents.sample(10_000, 16, seed=0, distribution="uniform", bound=2.0)
    assert u.min() >= -2.0 and u.max() < 2.0 and abs(u.mean()) < 0.01 and abs(u.var() - 4 / 3) < 0.02


def test_bad_seeds_and_schemes_are_refused():
    with pytest.raises(InferenceError, match="at most 9007199254740991"):
        latents.sample(1, 4, seed=2**53)
    with pytest.raises(InferenceError, match="unknown latent scheme"):
        latents.sample(1, 4, seed=0, scheme="mt19937")
    assert latents.sample(2, 4, seed=None).shape == (2, 4)  # a fresh random seed


def test_a_file_says_which_scheme_its_seeds_follow(small_generator):
    new = Generator.load(small_generator("new.onnx", meta={"latent_scheme": "philox"}))
    old = Generator.load(small_generator("old.onnx"))  # no latent_scheme: a file from before it existed
    assert new.metadata["latent_scheme"] == "philox" and old.metadata["latent_scheme"] == "pcg64"
    np.testing.assert_array_equal(new.sample_latent(3, seed=5), latents.sample(3, 8, seed=5, scheme="philox"))
    np.testing.assert_array_equal(old.sample_latent(3, seed=5),
                                  np.random.Generator(np.random.PCG64(5)).standard_normal((3, 8)).astype(np.float32))
    card = json.loads(small_generator("new2.onnx", meta={"latent_scheme": "philox"}).with_suffix(".json").read_text())
    assert card["metadata"]["latent_scheme"] == "philox"
    props = contract.metadata_to_props(toy_metadata(latent_dim=8, shape=(1, 4, 4)))
    with pytest.raises(InferenceError, match="latent_scheme"):
        Generator.load(small_generator("bad.onnx", props=props | {"gan_studio.latent_scheme": "xorshift"}))
