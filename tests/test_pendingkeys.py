"""The near-duplicate index's pending keys in memory (archive/pendingkeys.py): the same
answers as a plain dict of sets, across merges, withdrawals and re-indexing."""

from __future__ import annotations

import random

import numpy as np
import pytest

from archive import pendingkeys
from archive.bandfilter import mixed_keys
from archive.pendingkeys import PendingKeys


def _bands(rng: random.Random, shared: list[int]) -> list[int]:
    """32 band keys, some drawn from a small shared pool so that articles share keys."""
    return [rng.choice(shared) if rng.random() < 0.3 else rng.getrandbits(63)
            for _ in range(32)]


@pytest.mark.parametrize("merge_at", [1, 40, 300, 10**9])
def test_same_answers_as_a_dict_across_merges(monkeypatch, merge_at):
    monkeypatch.setattr(pendingkeys, "MERGE_AT", merge_at)
    rng = random.Random(merge_at)
    shared = [rng.getrandbits(63) for _ in range(20)]
    keys = PendingKeys()
    model: dict[int, np.ndarray] = {}  # article -> its mixed keys
    for step in range(600):
        article = rng.randrange(60)
        if article in model and rng.random() < 0.4:  # withdrawn (a re-index or a delete)
            keys.remove(article, model.pop(article))
        else:  # indexed (again: its old keys go first, as NearDuplicateIndex does)
            if article in model:
                keys.remove(article, model.pop(article))
            model[article] = mixed_keys(_bands(rng, shared))
            keys.add(article, model[article])
        probe = mixed_keys(_bands(rng, shared))
        if model and step % 3 == 0:  # sometimes an indexed article's own keys
            probe = model[rng.choice(list(model))]
        expected = {a for a, held in model.items() if np.isin(probe, held).any()}
        assert keys.holders(probe) == expected, step
    every = set(np.concatenate(list(model.values())).tolist())
    assert every <= set(keys.all_keys().tolist())
    assert len(keys) >= sum(len(held) for held in model.values())


def test_a_merge_keeps_memory_small():
    """16 bytes a key once merged: 10,000 articles' 320,000 keys in ~5 MB."""
    keys = PendingKeys()
    rng = np.random.default_rng(1)
    for article in range(10_000):
        keys.add(article, rng.integers(0, 2**63, size=32, dtype=np.uint64))
    held = keys._keys.nbytes + keys._ids.nbytes
    assert held + 200 * keys._fresh_count < 6 * 2**20
    assert len(keys) == 320_000
