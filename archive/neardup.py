"""The near-duplicate index in the archive: LSH band keys in two keyed tables.

A lookup is one indexed query per band plus a signature comparison per candidate, so its
cost does not grow with the archive.

Writes are kept from growing with it as far as measured. Band keys are random: stored
straight into one big B-tree, each article's 32 keys land on 32 pages far apart, and
every one of those pages is written again (to the WAL, then into the file) for that
article alone. So an article's keys go first to `lsh_recent`, a small table whose pages
are all written often anyway; when it holds 2,000 articles they are folded, in key order,
into `lsh_bands`: one pass in which each page of the big table is written once for many
keys (m007, m008). Lookups read both tables.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.dedup import THRESHOLD, Fingerprint, band_keys

# The index's tables, newest first, with how many articles each holds before it is
# folded into the next (the last holds the rest). bench/dedup_cost.py at 100,000
# archived, as a ratio to the cost at 1,000: keys straight into lsh_bands x1.32; folded
# every 2,000 x1.25-1.27; every 5,000 x1.39 (lsh_recent itself too big); a middle level of
# 20,000 between them x1.34 (its folds cost more than they saved). fold_full_levels takes
# any number of levels.
LEVELS: tuple[tuple[str, int | None], ...] = (("lsh_recent", 2000), ("lsh_bands", None))


def index_tables() -> tuple[str, ...]:
    return tuple(table for table, _ in LEVELS)


def fold_after() -> int:
    """Articles in the first level (lsh_recent) before it is folded."""
    return LEVELS[0][1] or 0


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
    for table in index_tables():
        db.conn.executemany(
            f"delete from {table} where band = ? and key = ? and article_id = ?", entries)
    db.execute("delete from article_minhash where article_id = ?", [article_id])


def articles_in(db: sqlite_utils.Database, table: str = "lsh_recent") -> int:
    """How many articles' keys an index table holds (band 0 has one row per article)."""
    return int(db.execute(f"select count(*) from {table} where band = 0").fetchone()[0])


def fold(db: sqlite_utils.Database, level: int) -> int:
    """Move a level's keys into the next, in key order; how many. Call it inside a write
    transaction: a fold interrupted leaves both tables as they were."""
    source, target = index_tables()[level], index_tables()[level + 1]
    moved = db.execute(f"insert or ignore into {target} (band, key, article_id) "
                       f"select band, key, article_id from {source} "
                       "order by band, key, article_id").rowcount
    db.execute(f"delete from {source}")
    return int(moved)


def fold_full_levels(db: sqlite_utils.Database) -> None:
    """Fold every level that is full, newest first (a fold can fill the next level).
    Call it inside a write transaction."""
    for level, (table, limit) in enumerate(LEVELS[:-1]):
        if limit is None or articles_in(db, table) < limit:
            return
        fold(db, level)


def find_near_duplicate(db: sqlite_utils.Database, print_: Fingerprint,
                        threshold: float = THRESHOLD,
                        exclude: int | None = None) -> tuple[int, float] | None:
    """The first-seen article this text nearly copies, with the estimated Jaccard similarity.

    A near-copy of a near-copy points at the original: `duplicate_of` always names the root.
    """
    placeholders = " or ".join("(band = ? and key = ?)" for _ in print_.bands)
    params: list[int] = [v for pair in enumerate(print_.bands) for v in pair]
    matches = " union all ".join(f"select article_id from {table} where {placeholders}"
                                 for table in index_tables())
    candidates = db.execute(
        f"select distinct b.article_id, m.hashvalues from ({matches}) b "
        f"join article_minhash m on m.article_id = b.article_id",
        params * len(LEVELS),
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
