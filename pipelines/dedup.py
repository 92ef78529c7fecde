"""Near-duplicate fingerprints: MinHash over character shingles, cut into LSH bands.

Character shingles, not words, so Chinese needs no segmentation. The bands are stored in
the archive (archive/neardup.py), so the index survives restarts and a lookup is a few
indexed queries whatever the archive's size.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

NUM_PERM = 128
SHINGLE = 5  # characters: about two Chinese words, or one English word
# Chosen on the dedup fixtures (tests/test_dedup.py; docs/deduplication.md): near-copies
# score 0.6-0.95 estimated Jaccard, distinct stories on one topic below 0.1.
THRESHOLD = 0.5
SEED = 1
# band_layout(THRESHOLD, NUM_PERM): datasketch.lsh._optimal_param(0.5, 128, 0.1, 0.9), as
# a constant so that no process imports datasketch.lsh (and scipy) for it;
# tests/test_dedup.py checks it against datasketch.
LAYOUT = (32, 4)
NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Fingerprint:
    """The MinHash signature of a text and its LSH band keys."""

    hashvalues: bytes  # NUM_PERM uint64, little-endian
    bands: tuple[int, ...]  # one 63-bit key per band

    def jaccard(self, other_hashvalues: bytes) -> float:
        """The estimated Jaccard similarity: the share of equal hash values. Compared
        as 8-byte words in plain Python (equality does not depend on byte order): for
        one pair, quicker than making numpy arrays of them."""
        mine = memoryview(self.hashvalues).cast("Q")
        theirs = memoryview(other_hashvalues).cast("Q")
        return sum(a == b for a, b in zip(mine, theirs, strict=True)) / len(mine)


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
    if (threshold, num_perm) == (THRESHOLD, NUM_PERM):
        return LAYOUT
    from datasketch.lsh import _optimal_param  # scipy: only for another threshold

    bands, rows = _optimal_param(threshold, num_perm, 0.1, 0.9)
    return int(bands), int(rows)


@cache
def minhash_class() -> Any:
    """datasketch's MinHash, imported without datasketch's package `__init__`.

    That `__init__` imports all of datasketch, its LSH classes and through them scipy
    (~50 MB in every process that fingerprints, for nothing used here): `datasketch.minhash`
    needs only numpy and `datasketch.hashfunc`. Its modules are loaded under a package
    module that is not executed, then taken out of sys.modules again, so that a later
    `import datasketch` elsewhere in the process loads the whole package as usual.
    """
    if "datasketch" in sys.modules:
        from datasketch import MinHash

        return MinHash
    spec = importlib.util.find_spec("datasketch")
    if spec is None or spec.submodule_search_locations is None:  # pragma: no cover
        from datasketch import MinHash

        return MinHash
    sys.modules["datasketch"] = importlib.util.module_from_spec(spec)
    try:
        return importlib.import_module("datasketch.minhash").MinHash
    finally:
        for name in ("datasketch", "datasketch.minhash", "datasketch.hashfunc"):
            sys.modules.pop(name, None)


def fingerprint(text: str, threshold: float = THRESHOLD) -> Fingerprint | None:
    """The text's fingerprint, or None for a text too short to compare."""
    grams = shingles(text)
    if len(grams) < 8:
        return None
    minhash = minhash_class()(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([g.encode("utf-8") for g in grams])
    hashvalues = minhash.hashvalues.astype("<u8").tobytes()
    return Fingerprint(hashvalues, band_keys(hashvalues, threshold))


def band_keys(hashvalues: bytes, threshold: float = THRESHOLD) -> tuple[int, ...]:
    """The LSH band keys of a signature: each band's rows hashed to one 63-bit key (SQLite
    integers are signed). From the stored signature alone, so that the archive can find
    an article's index entries again (archive/neardup.py) without storing them twice."""
    bands, rows = band_layout(threshold)
    width = 8 * rows
    return tuple(
        int.from_bytes(hashlib.blake2b(hashvalues[b * width : (b + 1) * width],
                                       digest_size=8).digest(), "little") >> 1
        for b in range(bands)
    )
