"""Near-duplicate fingerprints: MinHash over character shingles, cut into LSH bands.

Character shingles, not words, so Chinese needs no segmentation. The bands are stored in
the archive (archive/neardup.py), so the index survives restarts and a lookup is a few
indexed queries whatever the archive's size.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash
from datasketch.lsh import _optimal_param

NUM_PERM = 128
SHINGLE = 5  # characters: about two Chinese words, or one English word
# Chosen on the dedup fixtures (tests/test_dedup.py; docs/deduplication.md): near-copies
# score 0.6-0.95 estimated Jaccard, distinct stories on one topic below 0.1.
THRESHOLD = 0.5
SEED = 1
NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Fingerprint:
    """The MinHash signature of a text and its LSH band keys."""

    hashvalues: bytes  # NUM_PERM uint64, little-endian
    bands: tuple[int, ...]  # one 63-bit key per band

    def jaccard(self, other_hashvalues: bytes) -> float:
        mine = np.frombuffer(self.hashvalues, dtype="<u8")
        theirs = np.frombuffer(other_hashvalues, dtype="<u8")
        return float(np.count_nonzero(mine == theirs)) / len(mine)


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Overlapping character n-grams of the text with punctuation and spaces removed."""
    letters = NOT_WORD.sub("", text.casefold())
    if len(letters) <= size:
        return {letters} if letters else set()
    return {letters[i : i + size] for i in range(len(letters) - size + 1)}


@lru_cache(maxsize=4)
def band_layout(threshold: float = THRESHOLD, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """(bands, rows per band) for the threshold, weighted towards recall.

    Every LSH candidate is verified against its stored signature, so a false positive
    costs one comparison while a false negative loses a duplicate: 32 bands of 4 rows
    make a pair at Jaccard 0.5 a candidate 87% of the time and at 0.6 99% (25x5, the
    balanced choice, gives 55% and 87%). Changing the layout needs the index rebuilt.
    """
    bands, rows = _optimal_param(threshold, num_perm, 0.1, 0.9)
    return int(bands), int(rows)


def fingerprint(text: str, threshold: float = THRESHOLD) -> Fingerprint | None:
    """The text's fingerprint, or None for a text too short to compare."""
    grams = shingles(text)
    if len(grams) < 8:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([g.encode("utf-8") for g in grams])
    values = minhash.hashvalues.astype("<u8")
    bands, rows = band_layout(threshold)
    keys = tuple(
        int.from_bytes(hashlib.blake2b(values[b * rows : (b + 1) * rows].tobytes(),
                                       digest_size=8).digest(), "little") >> 1
        for b in range(bands)
    )
    return Fingerprint(values.tobytes(), keys)
