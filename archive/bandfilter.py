"""A Bloom filter over the LSH band keys in `lsh_bands`: which keys may be there.

Most band keys of a new article are in no other article, and each lookup of one in the
big table reads a leaf page that no recent lookup read: at 100,000 archived articles the
32 lookups cost ~75 µs against ~10 µs at 1,000 (bench/dedup_cost.py). Asked first, the
filter answers "not there" for all but about one key in fifty, from memory; the table is
read for the rest. It never answers "not there" for a key that is there.

Blocked layout (one 64-bit word per key, three bits set in it): one memory access per
key. A band key is already a uniform 63-bit hash, so the word and the bits are cut from
it, after a per-band salt (two bands whose rows are equal have equal keys, but are
different entries). Keys are only added: an entry deleted from `lsh_bands` (a revision)
leaves its bits set, which costs a wasted lookup, never a missed one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

BITS_PER_KEY = 12  # about 1.5% false positives at capacity
MIN_WORDS = 1 << 16  # 512 KB: the keys of ~11,000 articles, a first fold's


def _salts(count: int = 64) -> np.ndarray:
    return np.array([int.from_bytes(hashlib.blake2b(f"band {band}".encode(),
                                                    digest_size=8).digest(), "little") >> 1
                     for band in range(count)], dtype=np.uint64)


SALTS = _salts()


def mixed_keys(keys: Sequence[int]) -> np.ndarray:
    """An article's band keys (band i's at index i), each as one int distinct from the
    same key in another band: the values the filter cuts its words and bits from, and
    the pending keys' index (archive/pendingkeys.py) is keyed by."""
    return np.array(keys, dtype=np.uint64) ^ SALTS[: len(keys)]


class BandFilter:
    """Bloom filter of (band, key) pairs; `keys`: how many were added."""

    def __init__(self, words: np.ndarray, keys: int = 0) -> None:
        assert len(words) & (len(words) - 1) == 0, "a power of two words"
        self.words = words
        self.keys = keys

    @classmethod
    def for_keys(cls, expected: int) -> BandFilter:
        """An empty filter sized for `expected` keys (twice that before it is over-full)."""
        words = MIN_WORDS
        while words * 64 < 2 * expected * BITS_PER_KEY:
            words *= 2
        return cls(np.zeros(words, dtype=np.uint64))

    @classmethod
    def from_bytes(cls, blob: bytes, keys: int) -> BandFilter:
        return cls(np.frombuffer(blob, dtype="<u8").astype(np.uint64), keys)

    def to_bytes(self) -> bytes:
        return self.words.astype("<u8").tobytes()

    @property
    def capacity(self) -> int:
        """Keys it takes before its false-positive rate rises above the design."""
        return len(self.words) * 64 // BITS_PER_KEY

    def _cut(self, mixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(word index, bit mask) of each key, mixed with its band (mixed_keys)."""
        one = np.uint64(1)
        masks = ((one << ((mixed >> np.uint64(40)) & np.uint64(63)))
                 | (one << ((mixed >> np.uint64(46)) & np.uint64(63)))
                 | (one << ((mixed >> np.uint64(52)) & np.uint64(63))))
        return (mixed & np.uint64(len(self.words) - 1)).astype(np.intp), masks

    def add(self, bands: np.ndarray, keys: np.ndarray) -> None:
        self.add_mixed(keys.astype(np.uint64) ^ SALTS[bands])

    def add_mixed(self, mixed: np.ndarray) -> None:
        """Add keys already mixed with their bands (mixed_keys)."""
        where, masks = self._cut(mixed)
        np.bitwise_or.at(self.words, where, masks)
        self.keys += len(mixed)

    def might_contain(self, keys: Sequence[int]) -> list[bool]:
        """For an article's band keys (band i's key at index i): which may be present."""
        where, masks = self._cut(mixed_keys(keys))
        return ((self.words[where] & masks) == masks).tolist()
