"""The near-duplicate index in the archive: LSH band keys in two keyed tables.

A lookup is one indexed query per band plus a signature comparison per candidate, so its
cost does not grow with the archive.

Writes are kept from growing with it too. Band keys are random: stored straight into one
big B-tree, each article's 32 keys land on 32 pages far apart, and every one of those
pages is written again (to the WAL, then into the file) for that article alone. So an
article's keys go first to `lsh_recent`, a small table whose pages are all written often
anyway; once it holds FOLD_AFTER articles, `fold_recent` moves them into `lsh_bands` in key
order, one pass over the big tree in which each of its pages is written once for many
keys (m008). Lookups read both tables.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.dedup import THRESHOLD, Fingerprint, band_keys

FOLD_AFTER = 2000  # articles in lsh_recent (~64,000 keys, ~1.5 MB) before a fold
INDEX_TABLES = ("lsh_recent", "lsh_bands")


def index_fingerprint(db: sqlite_utils.Database, article_id: int, print_: Fingerprint) -> None:
    """Index (or re-index) the article's fingerprint."""
    unindex_fingerprint(db, article_id)
    db.execute("insert into article_minhash (article_id, hashvalues) values (?, ?)",
               [article_id, print_.hashvalues])
    db.conn.executemany(
        "insert into lsh_recent (band, key, article_id) values (?, ?, ?)",
        [(band, key, article_id) for band, key in enumerate(print_.bands)],
    )


def unindex_fingerprint(db: sqlite_utils.Database, article_id: int) -> None:
    """Remove the article's fingerprint from the index, if it has one.

    The index tables are keyed by (band, key, article_id) alone (m007): an article's
    entries are found again from its stored signature, not through an index on
    article_id that every insert would also have to update.
    """
    row = db.execute("select hashvalues from article_minhash where article_id = ?",
                     [article_id]).fetchone()
    if row is None:
        return
    entries = [(band, key, article_id) for band, key in enumerate(band_keys(row[0]))]
    for table in INDEX_TABLES:
        db.conn.executemany(
            f"delete from {table} where band = ? and key = ? and article_id = ?", entries)
    db.execute("delete from article_minhash where article_id = ?", [article_id])


def articles_waiting(db: sqlite_utils.Database) -> int:
    """How many articles' keys are in lsh_recent (band 0 has one row per article)."""
    return int(db.execute("select count(*) from lsh_recent where band = 0").fetchone()[0])


def fold_recent(db: sqlite_utils.Database) -> int:
    """Move lsh_recent's keys into lsh_bands, in key order; how many. Call it inside a
    write transaction: a fold interrupted leaves both tables as they were."""
    moved = db.execute("insert or ignore into lsh_bands (band, key, article_id) "
                       "select band, key, article_id from lsh_recent "
                       "order by band, key, article_id").rowcount
    db.execute("delete from lsh_recent")
    return int(moved)


def find_near_duplicate(db: sqlite_utils.Database, print_: Fingerprint,
                        threshold: float = THRESHOLD,
                        exclude: int | None = None) -> tuple[int, float] | None:
    """The first-seen article this text nearly copies, with the estimated Jaccard similarity.

    A near-copy of a near-copy points at the original: `duplicate_of` always names the root.
    """
    placeholders = " or ".join("(band = ? and key = ?)" for _ in print_.bands)
    params: list[int] = [v for pair in enumerate(print_.bands) for v in pair]
    matches = " union all ".join(f"select article_id from {table} where {placeholders}"
                                 for table in INDEX_TABLES)
    candidates = db.execute(
        f"select distinct b.article_id, m.hashvalues from ({matches}) b "
        f"join article_minhash m on m.article_id = b.article_id",
        params * len(INDEX_TABLES),
    ).fetchall()
    scored = [(print_.jaccard(hashvalues), -article_id)
              for article_id, hashvalues in candidates if article_id != exclude]
    similarity, negative_id = max(scored, default=(0.0, 0))
    if similarity < threshold:
        return None
    best = (-negative_id, similarity)
    root = db.execute("select coalesce(duplicate_of, id) from articles where id = ?",
                      [best[0]]).fetchone()[0]
    return int(root), best[1]
