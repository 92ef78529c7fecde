"""The near-duplicate index in the archive: LSH bands in an indexed table.

A lookup is one indexed query per band plus a signature comparison per candidate, so its
cost does not grow with the archive.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.dedup import THRESHOLD, Fingerprint


def index_fingerprint(db: sqlite_utils.Database, article_id: int, print_: Fingerprint) -> None:
    db.execute("insert or replace into article_minhash (article_id, hashvalues) values (?, ?)",
               [article_id, print_.hashvalues])
    db.execute("delete from lsh_bands where article_id = ?", [article_id])
    db.conn.executemany(
        "insert into lsh_bands (band, key, article_id) values (?, ?, ?)",
        [(band, key, article_id) for band, key in enumerate(print_.bands)],
    )


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
