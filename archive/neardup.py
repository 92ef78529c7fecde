"""The near-duplicate index in the archive: LSH bands in an indexed table.

A lookup is one indexed query per band plus a signature comparison per candidate, so its
cost does not grow with the archive.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.dedup import THRESHOLD, Fingerprint, band_keys


def index_fingerprint(db: sqlite_utils.Database, article_id: int, print_: Fingerprint) -> None:
    """Index (or re-index) the article's fingerprint."""
    unindex_fingerprint(db, article_id)
    db.execute("insert into article_minhash (article_id, hashvalues) values (?, ?)",
               [article_id, print_.hashvalues])
    db.conn.executemany(
        "insert into lsh_bands (band, key, article_id) values (?, ?, ?)",
        [(band, key, article_id) for band, key in enumerate(print_.bands)],
    )


def unindex_fingerprint(db: sqlite_utils.Database, article_id: int) -> None:
    """Remove the article's fingerprint from the index, if it has one.

    `lsh_bands` is keyed by (band, key, article_id) alone (m007): its entries for an
    article are found again from the article's stored signature, not through an index
    on article_id that every insert would also have to update.
    """
    row = db.execute("select hashvalues from article_minhash where article_id = ?",
                     [article_id]).fetchone()
    if row is None:
        return
    db.conn.executemany(
        "delete from lsh_bands where band = ? and key = ? and article_id = ?",
        [(band, key, article_id) for band, key in enumerate(band_keys(row[0]))],
    )
    db.execute("delete from article_minhash where article_id = ?", [article_id])


def find_near_duplicate(db: sqlite_utils.Database, print_: Fingerprint,
                        threshold: float = THRESHOLD,
                        exclude: int | None = None) -> tuple[int, float] | None:
    """The first-seen article this text nearly copies, with the estimated Jaccard similarity.

    A near-copy of a near-copy points at the original: `duplicate_of` always names the root.
    """
    placeholders = " or ".join("(band = ? and key = ?)" for _ in print_.bands)
    params: list[int] = [v for pair in enumerate(print_.bands) for v in pair]
    candidates = db.execute(
        f"select distinct b.article_id, m.hashvalues from lsh_bands b "
        f"join article_minhash m on m.article_id = b.article_id where {placeholders}",
        params,
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
