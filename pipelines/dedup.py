"""Near-duplicate fingerprints: MinHash over character shingles, cut into LSH bands.

Character shingles, not words, so Chinese needs no segmentation. The MinHash is rensa's
(compiled: 0.8 ms a text with its shingles, against 4.4 ms for datasketch's, which the
archive used before m016; archive/signatures.py). The bands are stored in
the archive (archive/neardup.py), so the index survives restarts and a lookup is a few
indexed queries whatever the archive's size.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from rensa import RMinHash

NUM_PERM = 128
HASH_BYTES = 4  # rensa's hash values are uint32
SIGNATURE_LAYOUT = struct.Struct(f"<{NUM_PERM}I")  # little-endian on every machine
SHINGLE = 5  # characters: about two Chinese words, or one English word
# Chosen on the dedup fixtures (tests/test_dedup.py; docs/deduplication.md): near-copies
# score 0.6-0.95 estimated Jaccard, distinct stories on one topic below 0.1.
THRESHOLD = 0.5
SEED = 1
# What a stored signature was computed with. An archive whose signatures were computed
# otherwise (datasketch's MinHash before m016, or another rensa algorithm) is
# re-fingerprinted from its texts when opened (archive/signatures.py): signatures of two
# algorithms never compare.
SIGNATURE = (f"rensa RMinHash algorithm {RMinHash.ALGORITHM_VERSION}, {NUM_PERM} permutations, "
             f"seed {SEED}, {SHINGLE}-character shingles")
# (bands, rows per band) for THRESHOLD, weighted towards recall. Every LSH candidate is
# verified against its stored signature, so a false positive costs one comparison while
# a false negative loses a duplicate: 32 bands of 4 rows make a pair at Jaccard 0.5 a
# candidate 87% of the time and at 0.6 99% (25x5, the balanced choice, gives 55% and
# 87%). datasketch.lsh._optimal_param(0.5, 128, 0.1, 0.9), checked by
# tests/test_pagecodec.py; a constant, so that nothing at run time needs datasketch and
# scipy. Changing the layout needs the index rebuilt.
LAYOUT = (32, 4)
NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Fingerprint:
    """The MinHash signature of a text and its LSH band keys."""

    hashvalues: bytes  # NUM_PERM uint32, little-endian (SIGNATURE_LAYOUT)
    bands: tuple[int, ...]  # one 63-bit key per band

    def jaccard(self, other_hashvalues: bytes) -> float:
        """The estimated Jaccard similarity: the share of equal hash values. Compared
        as 4-byte words in plain Python (equality does not depend on byte order): for
        one pair, quicker than making numpy arrays of them."""
        mine = memoryview(self.hashvalues).cast("I")
        theirs = memoryview(other_hashvalues).cast("I")
        return sum(a == b for a, b in zip(mine, theirs, strict=True)) / len(mine)


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Overlapping character n-grams of the text with punctuation and spaces removed."""
    letters = NOT_WORD.sub("", text.casefold())
    if len(letters) <= size:
        return {letters} if letters else set()
    return {letters[i : i + size] for i in range(len(letters) - size + 1)}


def fingerprint(text: str) -> Fingerprint | None:
    """The text's fingerprint, or None for a text too short to compare."""
    grams = shingles(text)
    if len(grams) < 8:
        return None
    minhash = RMinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update(grams)
    hashvalues = SIGNATURE_LAYOUT.pack(*minhash.digest())
    return Fingerprint(hashvalues, band_keys(hashvalues))


def band_keys(hashvalues: bytes) -> tuple[int, ...]:
    """The LSH band keys of a signature: each band's rows hashed to one 63-bit key (SQLite
    integers are signed). From the stored signature alone, so that the archive can find
    an article's index entries again (archive/neardup.py) without storing them twice."""
    bands, rows = LAYOUT
    width = HASH_BYTES * rows
    return tuple(
        int.from_bytes(hashlib.blake2b(hashvalues[b * width : (b + 1) * width],
                                       digest_size=8).digest(), "little") >> 1
        for b in range(bands)
    )
