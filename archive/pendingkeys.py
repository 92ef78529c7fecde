"""The near-duplicate index's pending band keys, held in the writer's memory compactly.

archive/neardup.py keeps the keys of the articles indexed since the last fold in memory,
so that a lookup does not query `lsh_pending`. Up to FOLD_AFTER (10,000) articles of 32
keys each are pending. A dict of Python ints took ~2.9 KB an article (28 MB at 10,000);
these sorted numpy arrays take 16 bytes a key (~0.5 KB an article).

New keys go to a small dict first. Every MERGE_AT of them, the dict is merged into the
sorted arrays: a sort of at most 320,000 keys, ~20 ms once every ~2,000 articles. An
article withdrawn while its keys are in the arrays is remembered in a set and filtered
out of lookups until the next merge drops its entries.
"""

from __future__ import annotations

import numpy as np

MERGE_AT = 64_000  # keys in the dict before a merge: ~2,000 articles, ~5 MB


class PendingKeys:
    """Band key mixed with its band (archive.bandfilter.mixed_keys) -> the pending
    articles holding it."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)  # sorted
        self._ids = np.empty(0, dtype=np.int64)  # the article of each key
        self._fresh: dict[int, list[int]] = {}
        self._fresh_count = 0
        self._withdrawn: set[int] = set()  # articles whose keys in the arrays are stale

    def __len__(self) -> int:
        """Keys held, counted once per article holding them; withdrawn ones until the
        next merge too: an upper bound, which is what the filter's room is checked with."""
        return len(self._keys) + self._fresh_count

    def add(self, article_id: int, mixed: np.ndarray) -> None:
        for key in mixed.tolist():
            self._fresh.setdefault(key, []).append(article_id)
        self._fresh_count += len(mixed)
        if self._fresh_count >= MERGE_AT:
            self._merge()

    def remove(self, article_id: int, mixed: np.ndarray) -> None:
        """Forget the article's keys (the ones `add` was given for it)."""
        in_fresh = False
        for key in mixed.tolist():
            holders = self._fresh.get(key)
            if holders and article_id in holders:
                in_fresh = True
                holders.remove(article_id)
                self._fresh_count -= 1
                if not holders:
                    del self._fresh[key]
        if not in_fresh:
            self._withdrawn.add(article_id)

    def holders(self, mixed: np.ndarray) -> set[int]:
        """The articles holding any of these keys."""
        found: set[int] = set()
        if len(self._keys):
            left = np.searchsorted(self._keys, mixed, side="left")
            right = np.searchsorted(self._keys, mixed, side="right")
            for start, stop in zip(left.tolist(), right.tolist(), strict=True):
                if start < stop:
                    found.update(self._ids[start:stop].tolist())
            found -= self._withdrawn
        for key in mixed.tolist():
            found.update(self._fresh.get(key, ()))
        return found

    def all_keys(self) -> np.ndarray:
        """Every key held, for the filter a fold grows (withdrawn ones may be among them)."""
        fresh = np.fromiter(self._fresh, dtype=np.uint64, count=len(self._fresh))
        return np.unique(np.concatenate([self._keys, fresh]))

    def _merge(self) -> None:
        keys, ids = self._keys, self._ids
        if self._withdrawn:
            keep = ~np.isin(ids, list(self._withdrawn))
            keys, ids = keys[keep], ids[keep]
            self._withdrawn.clear()
        fresh_keys = np.repeat(np.fromiter(self._fresh, dtype=np.uint64, count=len(self._fresh)),
                               [len(holders) for holders in self._fresh.values()])
        fresh_ids = np.fromiter((a for holders in self._fresh.values() for a in holders),
                                dtype=np.int64, count=self._fresh_count)
        keys = np.concatenate([keys, fresh_keys])
        ids = np.concatenate([ids, fresh_ids])
        order = np.argsort(keys, kind="stable")
        self._keys, self._ids = keys[order], ids[order]
        self._fresh, self._fresh_count = {}, 0
