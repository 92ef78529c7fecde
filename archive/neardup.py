"""The near-duplicate index in the archive: an LSM of LSH band keys.

What is stored (m009):

* `article_minhash`: each article's MinHash signature, the truth the rest derives from;
* `lsh_bands`: band keys of the articles folded so far, keyed (band, key, article_id);
* `lsh_pending`: one row per article (re)indexed since the last fold, with its band keys
  (an empty row: its keys withdrawn). The newest row of an article wins;
* `lsh_state`: how many folds there have been, and a Bloom filter of `lsh_bands`' keys
  (archive/bandfilter.py).

Why this shape (bench/dedup_cost.py, docs/deduplication.md): band keys are random, so a
B-tree that takes them one article at a time writes each article's 32 keys onto 32 pages
far apart, and a lookup reads 32 leaves no other lookup read lately. Here a store
appends one row to `lsh_pending`; its keys are looked up in memory (each writer keeps
the pending keys in a private in-memory table, read back from `lsh_pending` when it
starts and as other processes add rows); `lsh_bands` is read only for the keys the
filter lets through. Every FOLD_AFTER articles the pending keys are merged into
`lsh_bands` in key order, in one pass, and the filter with them.

A lookup or an index change must run inside a write transaction (the writer's lock
orders `lsh_pending`); when that transaction rolls back, call `forget()`. A fold takes
its own.
"""

from __future__ import annotations

import struct

import numpy as np
import sqlite_utils

from archive.bandfilter import BandFilter, mix
from archive.transactions import write_transaction
from pipelines.dedup import THRESHOLD, Fingerprint, band_keys

# Articles pending before they are folded into lsh_bands. A fold passes over all of
# lsh_bands (~0.4 s at 100,000 archived), so its share of a store falls as this grows;
# the pending keys take ~1 KB of the writer's memory an article (10 MB at 10,000).
FOLD_AFTER = 10_000


def pack_keys(keys: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(keys)}q", *keys)


def unpack_keys(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(blob) // 8}q", blob)


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
        # The pending keys, looked up by (band, key) mixed into one int (bandfilter.mix):
        # each to the article holding it, or to a tuple of the articles. A dict, not an
        # in-memory SQLite table: 32 inserts and 32 lookups an article cost ~25 µs
        # against ~190 µs through SQL, for ~70 bytes a key.
        self._recent: Holders = {}
        self._held: dict[int, bytes] = {}  # article id -> its pending keys, packed
        self._seen = 0  # the last lsh_pending rowid taken
        self._folds: int | None = None  # lsh_state.folds when the memory was filled
        self.filter: BandFilter | None = None

    @property
    def pending(self) -> int:
        """Articles whose keys wait to be folded (as last synced)."""
        return len(self._held)

    def fold_due(self) -> bool:
        return self.pending >= FOLD_AFTER

    def sync(self) -> None:
        """Take what other writers changed: a fold (start again) or pending rows."""
        folds = self.db.execute("select folds from lsh_state").fetchone()[0]
        if folds != self._folds:
            self.forget()
            self.filter = self._load_filter()
            self._folds = folds
        for rowid, article_id, keys in self.db.execute(
                "select rowid, article_id, keys from lsh_pending where rowid > ? "
                "order by rowid", [self._seen]):
            self._take(article_id, keys)
            self._seen = rowid

    def _take(self, article_id: int, packed: bytes) -> None:
        """Hold an article's pending keys in memory, instead of any it had."""
        old = self._held.pop(article_id, None)
        if old is not None:
            for band, key in enumerate(unpack_keys(old)):
                _release(self._recent, mix(band, key), article_id)
        if packed:
            for band, key in enumerate(unpack_keys(packed)):
                _hold(self._recent, mix(band, key), article_id)
            self._held[article_id] = packed

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
        bands = print_.bands
        ids: set[int] = set()
        for band, key in enumerate(bands):
            holders = self._recent.get(mix(band, key))
            if holders is not None:
                ids.update(holders if isinstance(holders, tuple) else (holders,))
        stored = [v for pair, hit in zip(enumerate(bands), self.filter.might_contain(bands),
                                         strict=True) if hit for v in pair]
        if stored:
            ids.update(row[0] for row in self.db.execute(
                f"select article_id from lsh_bands where {_or_terms(len(stored) // 2)}",
                stored))
        if exclude is not None:
            ids.discard(exclude)
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
        self._withdraw(article_id, mark=False)
        self.db.execute("insert into article_minhash (article_id, hashvalues) values (?, ?)",
                        [article_id, print_.hashvalues])
        self._append(article_id, pack_keys(print_.bands))

    def unindex(self, article_id: int) -> None:
        """Remove the article's fingerprint from the index, if it has one."""
        self.sync()
        self._withdraw(article_id, mark=True)

    def _withdraw(self, article_id: int, mark: bool) -> None:
        """Take the article's current keys out of the index and drop its signature.
        `mark`: leave an empty pending row, so that no other writer folds keys it read
        before (not needed when a newer row follows at once)."""
        row = self.db.execute("select hashvalues from article_minhash where article_id = ?",
                              [article_id]).fetchone()
        if row is None:
            return
        if article_id in self._held:  # pending: its keys are not in lsh_bands
            if mark:
                self._append(article_id, b"")
            else:
                self._take(article_id, b"")
        else:
            self.db.conn.executemany(
                "delete from lsh_bands where band = ? and key = ? and article_id = ?",
                _entries(article_id, band_keys(row[0])))
        self.db.execute("delete from article_minhash where article_id = ?", [article_id])

    def _append(self, article_id: int, packed: bytes) -> None:
        cursor = self.db.execute("insert into lsh_pending (article_id, keys) values (?, ?)",
                                 [article_id, packed])
        self._take(article_id, packed)
        self._seen = int(cursor.lastrowid)

    # Folding -------------------------------------------------------------------------

    def fold(self) -> int:
        """Merge the pending keys into lsh_bands, in key order, and into the filter, in
        one transaction of its own (a fold interrupted leaves the index as it was); how
        many articles."""
        try:
            with write_transaction(self.db):
                return self._fold()
        except BaseException:
            self.forget()
            raise

    def _fold(self) -> int:
        self.sync()
        assert self.filter is not None
        if not self._held:
            return 0
        ids = np.fromiter(self._held, dtype=np.int64, count=len(self._held))
        keys = np.frombuffer(b"".join(self._held.values()), dtype="<i8").reshape(len(ids), -1)
        bands = np.broadcast_to(np.arange(keys.shape[1]), keys.shape)
        owners = np.broadcast_to(ids[:, None], keys.shape)
        order = np.lexsort((owners.ravel(), keys.ravel(), bands.ravel()))
        self.db.conn.executemany(  # in key order: each page of lsh_bands written once
            "insert or ignore into lsh_bands (band, key, article_id) values (?, ?, ?)",
            zip(bands.ravel()[order].tolist(), keys.ravel()[order].tolist(),
                owners.ravel()[order].tolist(), strict=True))
        grown = BandFilter(self.filter.words.copy(), self.filter.keys)
        if grown.keys + keys.size > grown.capacity:
            grown = self._build_filter()  # lsh_bands holds the new keys already
        else:
            grown.add(bands.ravel(), keys.ravel())
        self._save_filter(grown)
        self.db.execute("delete from lsh_pending")
        self.db.execute("update lsh_state set folds = folds + 1")
        folds = self._folds
        self.forget()  # nothing is pending now
        self.filter, self._folds = grown, (folds or 0) + 1
        return len(ids)


Holders = dict[int, int | tuple[int, ...]]


def _hold(recent: Holders, mixed: int, article_id: int) -> None:
    holders = recent.get(mixed)
    if holders is None:
        recent[mixed] = article_id
    elif holders != article_id and not (isinstance(holders, tuple) and article_id in holders):
        recent[mixed] = (holders if isinstance(holders, tuple) else (holders,)) + (article_id,)


def _release(recent: Holders, mixed: int, article_id: int) -> None:
    holders = recent.pop(mixed, None)
    if isinstance(holders, tuple):
        rest = tuple(a for a in holders if a != article_id)
        recent[mixed] = rest[0] if len(rest) == 1 else rest
    elif holders is not None and holders != article_id:
        recent[mixed] = holders


def _entries(article_id: int, keys: tuple[int, ...]) -> list[tuple[int, int, int]]:
    return [(band, key, article_id) for band, key in enumerate(keys)]
