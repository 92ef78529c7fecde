"""One MinHash algorithm per archive: re-fingerprint the archive when its stored
signatures were computed by another.

Signatures of two algorithms never compare (each estimates Jaccard similarity only
against its own kind), so an archive records which one it holds (`lsh_state.signature`,
m016) and, when that is not pipelines.dedup.SIGNATURE (an archive from before m016 holds
datasketch's; a rensa upgrade may change its algorithm), every article's signature is
computed again from its stored text and the band index rebuilt from them. It runs once,
when the archive is opened (archive/db.py), in one write transaction: a process killed
in it leaves the archive as it was, and the next open starts again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import sqlite_utils

from archive.transactions import write_transaction
from pipelines.dedup import SIGNATURE, fingerprint

CHUNK = 2_000  # articles read, fingerprinted and written at a time
logger = logging.getLogger(__name__)


def signatures_current(db: sqlite_utils.Database) -> bool:
    """Whether the archive's signatures are this version's (after m016)."""
    try:
        row = db.execute("select signature from lsh_state").fetchone()
    except sqlite3.OperationalError:  # before m009 or m016
        return False
    return row is not None and row[0] == SIGNATURE


def refingerprint_if_stale(db: sqlite_utils.Database) -> int | None:
    """Re-fingerprint the archive if its signatures are another algorithm's; how many
    articles were, or None if they were current (checked again under the write lock:
    another process may have done it meanwhile)."""
    if signatures_current(db):
        return None
    with write_transaction(db):
        if signatures_current(db):
            return None
        return refingerprint(db)


def refingerprint(db: sqlite_utils.Database) -> int:
    """Compute every signature again from the articles' texts and rebuild the band index
    from them, in the caller's write transaction; how many articles are indexed now.

    The rows of `lsh_bands` are inserted in key order, as a fold does, from a temporary
    table; the Bloom filter is left empty for the index to build, and the fold counter
    moves on, so that every writer drops the pending keys it holds in memory."""
    total = db.execute("select count(*) from article_minhash").fetchone()[0]
    if not total:
        db.execute("update lsh_state set signature = ?", [SIGNATURE])  # a new archive
        return 0
    # Once after an upgrade, ~1 ms an article: say why the command has not started yet.
    logger.warning("computing the near-duplicate signatures of %d articles again (%s), "
                   "once", total, SIGNATURE)
    db.execute("create temp table refingerprinted (band integer not null, "
               "key integer not null, article_id integer not null)")
    indexed = 0
    for chunk in _article_chunks(db):
        signatures, bands, unfit = [], [], []
        for article_id, text in chunk:
            print_ = fingerprint(text or "")
            if print_ is None:  # too short now (the text shrank since it was indexed)
                unfit.append((article_id,))
                continue
            signatures.append((print_.hashvalues, article_id))
            bands += [(band, key, article_id) for band, key in enumerate(print_.bands)]
        db.conn.executemany("update article_minhash set hashvalues = ? where article_id = ?",
                            signatures)
        db.conn.executemany("delete from article_minhash where article_id = ?", unfit)
        db.conn.executemany("insert into temp.refingerprinted values (?, ?, ?)", bands)
        indexed += len(signatures)
    db.execute("delete from lsh_pending")
    db.execute("delete from lsh_bands")
    db.execute("insert or ignore into lsh_bands (band, key, article_id) "
               "select band, key, article_id from temp.refingerprinted order by 1, 2, 3")
    db.execute("drop table temp.refingerprinted")
    db.execute("update lsh_state set filter = null, filter_keys = null, folds = folds + 1, "
               "signature = ?", [SIGNATURE])
    return indexed


def _article_chunks(db: sqlite_utils.Database) -> Iterator[list[tuple[int, str]]]:
    """(article id, text) of every fingerprinted article, CHUNK at a time, by id: each
    chunk is read before its rows are written."""
    last = 0
    while chunk := db.execute(
            "select m.article_id, a.text from article_minhash m "
            "left join articles a on a.id = m.article_id "
            "where m.article_id > ? order by m.article_id limit ?", [last, CHUNK]).fetchall():
        yield chunk
        last = chunk[-1][0]
