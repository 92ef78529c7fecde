"""The near-duplicate index as stored: pending keys, folds, the filter, several writers,
rollbacks and the migrations that brought older archives to it (archive/neardup.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

import archive.bandfilter
import archive.neardup
from archive import open_archive
from archive.bandfilter import BandFilter
from archive.migrations import MIGRATIONS
from archive.neardup import NearDuplicateIndex
from archive.store import ArchiveWriter
from archive.transactions import write_transaction
from conftest import make_article, make_page, store_text, truth_text
from pipelines.dedup import fingerprint

ORIGINAL = truth_text("netease/dy-post2020-reference")
REPOST = truth_text("netease/dy-repost")
OTHER = truth_text("netease/dy-same-topic")


@pytest.fixture
def writer(tmp_path: Path) -> ArchiveWriter:
    return ArchiveWriter(open_archive(tmp_path / "a.db"))


def index_keys(db: sqlite_utils.Database) -> dict[int, list[tuple[int, int]]]:
    """Each article's (band, key) entries as stored: folded, or its newest pending row."""
    keys: dict[int, list[tuple[int, int]]] = {}
    for band, key, article_id in db.execute("select band, key, article_id from lsh_bands"):
        keys.setdefault(article_id, []).append((band, key))
    for article_id, packed in db.execute("select article_id, keys from lsh_pending "
                                         "order by id"):
        keys[article_id] = list(enumerate(json.loads(packed)))
    return {article_id: sorted(entries) for article_id, entries in keys.items() if entries}


def counts(db: sqlite_utils.Database) -> tuple[int, int, int]:
    """(rows in lsh_pending, entries in lsh_bands, folds)."""
    return (db.execute("select count(*) from lsh_pending").fetchone()[0],
            db.execute("select count(*) from lsh_bands").fetchone()[0],
            db.execute("select folds from lsh_state").fetchone()[0])


def article_id(db: sqlite_utils.Database, url: str) -> int:
    return db.execute("select id from articles where url = ?", [url]).fetchone()[0]


def test_a_store_appends_one_pending_row_and_nothing_to_lsh_bands(writer: ArchiveWriter) -> None:
    assert store_text(writer, "https://x.test/original", ORIGINAL) == "new"
    assert counts(writer.db) == (1, 0, 0)
    original_id = article_id(writer.db, "https://x.test/original")
    assert index_keys(writer.db) == {original_id: list(enumerate(fingerprint(ORIGINAL).bands))}


def test_keys_are_found_pending_then_folded(writer: ArchiveWriter,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Lookups find an original while its keys are pending, and through the filter once
    they are folded into lsh_bands; a fold moves every pending row at once."""
    monkeypatch.setattr(archive.neardup, "FOLD_AFTER", 2)
    assert store_text(writer, "https://x.test/original", ORIGINAL) == "new"
    assert store_text(writer, "https://x.test/repost", REPOST) == "near-duplicate"  # pending
    assert counts(writer.db) == (0, 64, 1)  # the second article folded both
    filter_keys = writer.db.execute("select filter_keys from lsh_state").fetchone()[0]
    assert filter_keys == writer.db.execute(  # the copy shares some keys with its original
        "select count(*) from (select distinct band, key from lsh_bands)").fetchone()[0]
    assert store_text(writer, "https://x.test/again", "（原标题：转载）\n" + ORIGINAL) \
        == "near-duplicate"  # found in lsh_bands, through the filter
    original_id = article_id(writer.db, "https://x.test/original")
    assert writer.db.execute("select duplicate_of from articles where url = ?",
                             ["https://x.test/again"]).fetchone()[0] == original_id
    # A restarted writer reads the pending rows and the filter back from the archive.
    reopened = ArchiveWriter(open_archive(writer.db.conn.execute(
        "pragma database_list").fetchone()[2]))
    assert store_text(reopened, "https://x.test/third", ORIGINAL + "\n责任编辑：李明") \
        == "near-duplicate"
    assert reopened.near.pending == 0  # the fourth article folded the third's and its own


def test_a_folded_articles_keys_are_replaced_when_it_is_revised(
        writer: ArchiveWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive.neardup, "FOLD_AFTER", 1)
    url = "https://x.test/edited"
    store_text(writer, url, ORIGINAL)
    assert counts(writer.db) == (0, 32, 1)
    monkeypatch.setattr(archive.neardup, "FOLD_AFTER", 10)
    assert writer.store(None, "s", make_page(url), make_article(url, text=OTHER),
                        fingerprint=fingerprint(OTHER), revisit=True) == "revised"
    assert counts(writer.db) == (1, 0, 1)  # old keys deleted, new ones pending
    assert index_keys(writer.db) == {article_id(writer.db, url):
                                     list(enumerate(fingerprint(OTHER).bands))}
    # The old text is no longer found; the new one is.
    assert writer.near.find(fingerprint(ORIGINAL)) is None
    assert writer.near.find(fingerprint(OTHER)) is not None


def test_a_pending_articles_keys_are_replaced_when_it_is_revised(writer: ArchiveWriter) -> None:
    url = "https://x.test/edited"
    store_text(writer, url, ORIGINAL)
    writer.store(None, "s", make_page(url), make_article(url, text=OTHER),
                 fingerprint=fingerprint(OTHER), revisit=True)
    assert counts(writer.db) == (1, 0, 0)  # the old row is gone
    assert index_keys(writer.db) == {article_id(writer.db, url):
                                     list(enumerate(fingerprint(OTHER).bands))}
    fresh = NearDuplicateIndex(writer.db)  # another writer reading the rows back
    with write_transaction(writer.db):
        assert fresh.find(fingerprint(ORIGINAL)) is None
        assert fresh.find(fingerprint(OTHER)) is not None


def test_an_unindexed_pending_article_is_not_read_back(writer: ArchiveWriter) -> None:
    store_text(writer, "https://x.test/original", ORIGINAL)
    original_id = article_id(writer.db, "https://x.test/original")
    with write_transaction(writer.db):
        writer.near.unindex(original_id)
    assert index_keys(writer.db) == {}  # its pending row is gone
    fresh = NearDuplicateIndex(writer.db)
    with write_transaction(writer.db):
        assert fresh.find(fingerprint(ORIGINAL)) is None
        assert fresh.pending == 0


def test_two_writers_see_each_others_articles_and_folds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two crawls into one archive: each finds what the other stored, pending or folded."""
    monkeypatch.setattr(archive.neardup, "FOLD_AFTER", 2)
    first = ArchiveWriter(open_archive(tmp_path / "a.db"))
    second = ArchiveWriter(open_archive(tmp_path / "a.db"))
    assert store_text(first, "https://x.test/original", ORIGINAL) == "new"
    assert store_text(second, "https://x.test/repost", REPOST) == "near-duplicate"
    assert counts(first.db) == (0, 64, 1)  # the second writer folded the first's article
    assert store_text(first, "https://x.test/other", OTHER) == "new"
    assert store_text(second, "https://x.test/again", "（原标题：转载）\n" + OTHER) \
        == "near-duplicate"  # pending, stored by the first writer after the fold
    assert store_text(first, "https://x.test/third", ORIGINAL + "\n责任编辑：李明") \
        == "near-duplicate"  # folded, by the other writer


def test_a_writer_sees_rows_added_after_the_newest_it_read_was_deleted(
        tmp_path: Path) -> None:
    """Pending row ids are never reused (AUTOINCREMENT): a row added after the newest
    one was deleted is still after what another writer read."""
    first = ArchiveWriter(open_archive(tmp_path / "a.db"))
    second = ArchiveWriter(open_archive(tmp_path / "a.db"))
    store_text(first, "https://x.test/original", ORIGINAL)
    store_text(second, "https://x.test/other", OTHER)  # the second writer read up to it
    with write_transaction(second.db):
        second.near.unindex(article_id(second.db, "https://x.test/other"))
    assert_sees_the_others_article(first, second)


def assert_sees_the_others_article(storing: ArchiveWriter, finding: ArchiveWriter) -> None:
    """One writer stores a new article; a copy of it, stored by the other, is found."""
    third = truth_text("netease/gbk-2004")
    assert store_text(storing, "https://x.test/third", third) == "new"
    assert store_text(finding, "https://x.test/copy", "（原标题：转载）\n" + third) \
        == "near-duplicate"


def test_a_rolled_back_store_leaves_nothing_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that fails after indexing its fingerprint is rolled back, and so is what
    the writer's memory took of it: the pending row id it had read up to is given again,
    to another writer's article, which must still be seen."""
    import archive.store

    first = ArchiveWriter(open_archive(tmp_path / "a.db"))
    second = ArchiveWriter(open_archive(tmp_path / "a.db"))

    def failing_index(*args: object, **kwargs: object) -> None:
        raise RuntimeError("search index failed")

    monkeypatch.setattr(archive.store, "index_article", failing_index)
    with pytest.raises(RuntimeError):
        store_text(first, "https://x.test/original", ORIGINAL)
    monkeypatch.undo()
    assert counts(first.db) == (0, 0, 0) and first.near.pending == 0
    assert_sees_the_others_article(second, first)


def test_a_fold_builds_a_bigger_filter_when_it_is_full(
        writer: ArchiveWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive.neardup, "FOLD_AFTER", 1)
    monkeypatch.setattr(archive.bandfilter, "MIN_WORDS", 1)  # room for 5 keys
    writer.near.forget()  # the filter sized before the patch is read again
    with write_transaction(writer.db):
        writer.db.execute("update lsh_state set filter = null")
    store_text(writer, "https://x.test/original", ORIGINAL)
    store_text(writer, "https://x.test/other", OTHER)
    blob, keys = writer.db.execute("select filter, filter_keys from lsh_state").fetchone()
    assert keys == 64 and len(blob) > 8  # rebuilt bigger than the one word it began with
    assert BandFilter.from_bytes(blob, keys).capacity >= keys
    assert store_text(writer, "https://x.test/repost", REPOST) == "near-duplicate"


def build_archive(path: Path, migrations: int) -> sqlite_utils.Database:
    """An archive as the first `migrations` migrations left it."""
    db = sqlite_utils.Database(path)
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for migration in MIGRATIONS[:migrations]:
        migration(db)
        db["_migrations"].insert({"name": migration.__name__, "applied_at": "2025-11-01"})
    return db


def old_article(db: sqlite_utils.Database, url: str, text: str) -> int:
    print_ = fingerprint(text)
    assert print_ is not None
    row = {**make_article(url, text=text), "images": "[]", "content_hash": url,
           "fetched_at": "2025-11-01T00:00:00+00:00",
           "first_seen_at": "2025-11-01T00:00:00+00:00"}
    columns = db["articles"].columns_dict  # the old schema: later columns left out
    new_id = db["articles"].insert({k: v for k, v in row.items() if k in columns}).last_pk
    db["article_minhash"].insert({"article_id": new_id, "hashvalues": print_.hashvalues})
    return int(new_id)


def test_archive_from_before_m007_keeps_its_near_duplicate_index(tmp_path: Path) -> None:
    """m002's rowid table of band keys ends as m009's keyed table, every entry kept."""
    db = build_archive(tmp_path / "old.db", 6)
    original_id = old_article(db, "https://x.test/original", ORIGINAL)
    db["lsh_bands"].insert_all({"band": band, "key": key, "article_id": original_id}
                               for band, key in enumerate(fingerprint(ORIGINAL).bands))
    db.close()
    writer = ArchiveWriter(open_archive(tmp_path / "old.db"))
    assert_m009_layout(writer.db)
    assert counts(writer.db) == (0, 32, 1)  # re-fingerprinted when opened (m016): a fold
    assert store_text(writer, "https://x.test/repost", REPOST) == "near-duplicate"
    assert writer.db.execute("select duplicate_of from articles where url = ?",
                             ["https://x.test/repost"]).fetchone()[0] == original_id


def test_archive_from_m008_folds_lsh_recent_into_lsh_bands(tmp_path: Path) -> None:
    """Keys folded and keys still waiting in m008's lsh_recent all end in lsh_bands."""
    db = build_archive(tmp_path / "old.db", 8)
    folded = old_article(db, "https://x.test/original", ORIGINAL)
    waiting = old_article(db, "https://x.test/other", OTHER)
    for table, article, text in (("lsh_bands", folded, ORIGINAL),
                                 ("lsh_recent", waiting, OTHER)):
        db[table].insert_all({"band": band, "key": key, "article_id": article}
                             for band, key in enumerate(fingerprint(text).bands))
    db.close()
    writer = ArchiveWriter(open_archive(tmp_path / "old.db"))
    assert_m009_layout(writer.db)
    assert index_keys(writer.db) == {folded: list(enumerate(fingerprint(ORIGINAL).bands)),
                                     waiting: list(enumerate(fingerprint(OTHER).bands))}
    assert store_text(writer, "https://x.test/repost", REPOST) == "near-duplicate"
    assert store_text(writer, "https://x.test/again", "（原标题：转载）\n" + OTHER) \
        == "near-duplicate"


def assert_m009_layout(db: sqlite_utils.Database) -> None:
    sql = db.execute("select sql from sqlite_master where name = 'lsh_bands'").fetchone()[0]
    assert "without rowid" in sql.lower() and "references" not in sql.lower()
    assert not db["lsh_recent"].exists()


def test_lookup_is_indexed(writer: ArchiveWriter) -> None:
    plan = " ".join(row[3] for row in writer.db.execute(
        "explain query plan select article_id from lsh_bands where band = 1 and key = 2"))
    assert "USING PRIMARY KEY (band=? AND key=?)" in plan  # the table is the index
    plan = " ".join(row[3] for row in writer.db.execute(
        "explain query plan select id, article_id, keys from lsh_pending where id > 5"))
    assert "USING INTEGER PRIMARY KEY (rowid>?)" in plan  # a writer reads only what is new
