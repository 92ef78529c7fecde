"""The near-duplicate index in the archive: an LSM of LSH band keys.

What is stored (m009):

* `article_minhash`: each article's MinHash signature, the truth the rest derives from;
* `lsh_bands`: band keys of the articles folded so far, keyed (band, key, article_id);
* `lsh_pending`: one row per article (re)indexed since the last fold: its band keys as
  a JSON array, band i's key at index i;
* `lsh_state`: how many folds there have been, and a Bloom filter of `lsh_bands`' keys
  (archive/bandfilter.py).

Why this shape (bench/dedup_cost.py, docs/deduplication.md): band keys are random, so a
B-tree that takes them one article at a time writes each article's 32 keys onto 32 pages
far apart, and a lookup reads 32 leaves that no recent lookup read. Here a store appends
one row to `lsh_pending`; pending keys are looked up in the writer's memory (read back
from `lsh_pending` when it starts, and as other writers add rows); `lsh_bands` is read
only for the keys its filter lets through. Every FOLD_AFTER articles the pending keys
are merged into `lsh_bands` in key order, in one pass of SQL, and into the filter.

A lookup or an index change must run inside a write transaction (the writer's lock
orders `lsh_pending`): `writing()`, which makes the writer read the pending keys again if
it rolls back. A fold takes a transaction of its own.

Another writer's memory may hold keys of an article withdrawn since (a revision, or a
text now too short): they only make it verify a candidate that is no longer one, against
`article_minhash`, until its next fold or restart.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence

import numpy as np
import sqlite_utils

from archive.bandfilter import BandFilter, mixed_keys
from archive.pendingkeys import PendingKeys
from archive.transactions import write_transaction
from pipelines.dedup import THRESHOLD, Fingerprint, band_keys

# Articles pending before they are folded into lsh_bands. A fold inserts their keys
# (~0.3 s for 10,000 articles into a small index) and passes over lsh_bands (~0.4 s more
# at 100,000 archived), so its share of a store falls as this grows; the pending keys
# take ~0.5 KB of the writer's memory an article (~5 MB at 10,000: archive/pendingkeys.py).
FOLD_AFTER = 10_000

def keys_json(keys: Sequence[int]) -> str:
    return json.dumps(list(keys), separators=(",", ":"))


def _or_terms(count: int) -> str:
    return " or ".join(["(band = ? and key = ?)"] * count)


class NearDuplicateIndex:
    """One writer connection's view of the near-duplicate index."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.forget()

    # State -----------------------------------------------------------------------

    def forget(self) -> None:
        """Drop what this process holds in memory; it is read again from the archive at
        the next lookup. For a rolled-back transaction, which may have undone rows the
        memory already took."""
        # The pending keys, by (band, key) mixed into one int (bandfilter.mixed_keys), to the
        # articles holding them. In memory, not an in-memory SQLite table: 32 inserts
        # and 32 lookups an article cost ~25 µs against ~190 µs.
        self._recent = PendingKeys()
        self._held: dict[int, tuple[int, np.ndarray]] = {}  # article -> (its row, keys)
        self._seen = 0  # the last lsh_pending id taken
        self._folds: int | None = None  # lsh_state.folds when the memory was filled
        self.filter: BandFilter | None = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A write transaction (archive.transactions) for lookups and index changes: when
        it rolls back, what the memory took in it is forgotten with it."""
        try:
            with write_transaction(self.db):
                yield
        except BaseException:
            self.forget()
            raise

    @property
    def pending(self) -> int:
        """Articles whose keys wait to be folded (as last synced)."""
        return len(self._held)

    def fold_due(self) -> bool:
        return self.pending >= FOLD_AFTER

    def sync(self) -> None:
        """Take what other writers changed: a fold (start again) or new pending rows."""
        folds = self.db.execute("select folds from lsh_state").fetchone()[0]
        if folds != self._folds:
            self.forget()
            self.filter = self._load_filter()
            self._folds = folds
        for row_id, article_id, keys in self.db.execute(
                "select id, article_id, keys from lsh_pending where id > ? order by id",
                [self._seen]):
            self._hold(article_id, row_id, json.loads(keys))
            self._seen = row_id

    def _hold(self, article_id: int, row_id: int, keys: Sequence[int]) -> None:
        """Hold the article's pending keys in memory, instead of any it had."""
        self._release(article_id)
        mixed = mixed_keys(keys)
        self._recent.add(article_id, mixed)
        self._held[article_id] = (row_id, mixed)

    def _release(self, article_id: int) -> int | None:
        """Forget the article's pending keys, if it has any; the row they came from."""
        held = self._held.pop(article_id, None)
        if held is None:
            return None
        self._recent.remove(article_id, held[1])
        return held[0]

    def _load_filter(self) -> BandFilter:
        """The stored filter; built from lsh_bands when there is none (m009 leaves none:
        the filter's layout is this module's, not a migration's)."""
        blob, keys = self.db.execute("select filter, filter_keys from lsh_state").fetchone()
        if blob is not None:
            return BandFilter.from_bytes(blob, keys)
        built = self._build_filter()
        self._save_filter(built)
        return built

    def _build_filter(self) -> BandFilter:
        """A filter of every key in lsh_bands, with room for as many again; read in
        chunks, never all at once."""
        total = self.db.execute("select count(*) from lsh_bands").fetchone()[0]
        built = BandFilter.for_keys(total)
        cursor = self.db.execute("select band, key from lsh_bands")
        while rows := cursor.fetchmany(100_000):
            pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
            built.add(pairs[:, 0], pairs[:, 1])
        return built

    def _save_filter(self, built: BandFilter) -> None:
        self.db.execute("update lsh_state set filter = ?, filter_keys = ?",
                        [built.to_bytes(), built.keys])

    # Lookups and changes -------------------------------------------------------------

    def find(self, print_: Fingerprint, threshold: float = THRESHOLD,
             exclude: int | None = None) -> tuple[int, float] | None:
        """The first-seen article this text nearly copies, with the estimated Jaccard
        similarity. A near-copy of a near-copy points at the original: `duplicate_of`
        always names the root."""
        self.sync()
        assert self.filter is not None
        ids = self._recent.holders(mixed_keys(print_.bands))
        stored = [v for pair, hit in zip(enumerate(print_.bands),
                                         self.filter.might_contain(print_.bands),
                                         strict=True) if hit for v in pair]
        if stored:
            ids.update(row[0] for row in self.db.execute(
                f"select article_id from lsh_bands where {_or_terms(len(stored) // 2)}",
                stored))
        if exclude is not None:
            ids.discard(exclude)
        return self._best(print_, ids, threshold)

    def _best(self, print_: Fingerprint, ids: set[int],
              threshold: float) -> tuple[int, float] | None:
        """The candidate most similar to the text (the first-seen of equals), at the root
        of its cluster; None below the threshold."""
        if not ids:
            return None
        marks = ", ".join("?" * len(ids))
        scored = [(print_.jaccard(hashvalues), -article_id) for article_id, hashvalues in
                  self.db.execute(f"select article_id, hashvalues from article_minhash "
                                  f"where article_id in ({marks})", list(ids))]
        similarity, negative_id = max(scored, default=(0.0, 0))
        if similarity < threshold:
            return None
        root = self.db.execute("select coalesce(duplicate_of, id) from articles where id = ?",
                               [-negative_id]).fetchone()[0]
        return int(root), similarity

    def index(self, article_id: int, print_: Fingerprint) -> None:
        """Index (or re-index) the article's fingerprint."""
        self.sync()
        self._withdraw(article_id)
        self.db.execute("insert into article_minhash (article_id, hashvalues) values (?, ?)",
                        [article_id, print_.hashvalues])
        cursor = self.db.execute("insert into lsh_pending (article_id, keys) values (?, ?)",
                                 [article_id, keys_json(print_.bands)])
        self._seen = int(cursor.lastrowid)
        self._hold(article_id, self._seen, print_.bands)

    def unindex(self, article_id: int) -> None:
        """Remove the article's fingerprint from the index, if it has one."""
        self.sync()
        self._withdraw(article_id)

    def _withdraw(self, article_id: int) -> None:
        """Take the article's current keys out of the index and drop its signature."""
        row = self.db.execute("select hashvalues from article_minhash where article_id = ?",
                              [article_id]).fetchone()
        if row is None:
            return
        pending_row = self._release(article_id)
        if pending_row is not None:  # pending: its keys are not in lsh_bands
            self.db.execute("delete from lsh_pending where id = ?", [pending_row])
        else:
            self.db.conn.executemany(
                "delete from lsh_bands where band = ? and key = ? and article_id = ?",
                [(band, key, article_id) for band, key in enumerate(band_keys(row[0]))])
        self.db.execute("delete from article_minhash where article_id = ?", [article_id])

    # Folding -------------------------------------------------------------------------

    def fold(self) -> int:
        """Merge the pending keys into lsh_bands, in key order, and into the filter, in
        one transaction of its own (a fold interrupted leaves the index as it was); how
        many articles."""
        with self.writing():
            return self._fold()

    def _fold(self) -> int:
        self.sync()
        assert self.filter is not None
        if not self._held:
            return 0
        self.db.execute(  # in key order: each page of lsh_bands is written once
            "insert or ignore into lsh_bands (band, key, article_id) "
            "select j.key, j.value, p.article_id from lsh_pending p, json_each(p.keys) j "
            "order by 1, 2, 3")
        grown = BandFilter(self.filter.words.copy(), self.filter.keys)
        if grown.keys + len(self._recent) > grown.capacity:
            grown = self._build_filter()  # lsh_bands holds the new keys already
        else:  # every pending key is in memory (and perhaps a few withdrawn: no harm)
            grown.add_mixed(self._recent.all_keys())
        self._save_filter(grown)
        self.db.execute("delete from lsh_pending")
        self.db.execute("update lsh_state set folds = folds + 1")
        folds, articles = self._folds, len(self._held)
        self.forget()  # nothing is pending now
        self.filter, self._folds = grown, (folds or 0) + 1
        return articles

