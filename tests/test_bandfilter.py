"""The Bloom filter in front of lsh_bands (archive/bandfilter.py)."""

from __future__ import annotations

import random

import numpy as np

from archive.bandfilter import BITS_PER_KEY, BandFilter


def random_keys(rng: random.Random, articles: int) -> list[tuple[int, ...]]:
    return [tuple(rng.getrandbits(63) for _ in range(32)) for _ in range(articles)]


def filled(articles: list[tuple[int, ...]]) -> BandFilter:
    keys = np.array(articles, dtype=np.int64)
    bands = np.broadcast_to(np.arange(32), keys.shape)
    found = BandFilter.for_keys(keys.size)
    found.add(bands.ravel(), keys.ravel())
    return found


def test_every_key_added_may_be_there() -> None:
    articles = random_keys(random.Random(1), 2000)
    bloom = filled(articles)
    assert all(all(bloom.might_contain(keys)) for keys in articles)
    assert bloom.keys == 2000 * 32


def test_other_keys_mostly_are_not_at_capacity() -> None:
    rng = random.Random(2)
    bloom = BandFilter.for_keys(0)
    articles = random_keys(rng, bloom.capacity // 32)
    keys = np.array(articles, dtype=np.int64)
    bloom.add(np.broadcast_to(np.arange(32), keys.shape).ravel(), keys.ravel())
    hits = sum(sum(bloom.might_contain(keys)) for keys in random_keys(rng, 2000))
    assert hits / (2000 * 32) < 0.03  # designed for ~1.5% at BITS_PER_KEY bits a key


def test_a_key_is_an_entry_of_its_band_only() -> None:
    """Two bands with equal rows have equal keys, but are different entries."""
    key = 123456789123456789
    bloom = filled([(key,) + (1,) * 31])
    assert bloom.might_contain([key]) == [True]
    assert bloom.might_contain([0, key]) == [False, False]


def test_round_trip_through_bytes() -> None:
    articles = random_keys(random.Random(3), 100)
    bloom = filled(articles)
    again = BandFilter.from_bytes(bloom.to_bytes(), bloom.keys)
    assert again.keys == bloom.keys and np.array_equal(again.words, bloom.words)
    assert all(all(again.might_contain(keys)) for keys in articles)


def test_sized_with_room_to_double() -> None:
    assert BandFilter.for_keys(10_000_000).capacity >= 20_000_000
    assert len(BandFilter.for_keys(10_000_000).to_bytes()) <= 2 * 20_000_000 * BITS_PER_KEY // 8
