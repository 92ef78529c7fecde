"""Near-duplicates: MinHash fingerprints, the LSH index in SQLite, the chosen threshold."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import sqlite_utils

import archive.neardup
import archive.store
from archive import open_archive
from archive.migrations import MIGRATIONS
from archive.store import ArchiveWriter
from conftest import article_cases, load_json, make_article, make_page
from pipelines.dedup import THRESHOLD, fingerprint, shingles


def truth_text(case: str) -> str:
    return load_json(Path(__file__).parent / "fixtures" / case / "truth.json")["text"]


def near_copies(text: str, rng: random.Random) -> list[str]:
    """The ways a syndicated copy differs: a 原标题 line, another outlet's boilerplate,
    sentences edited, the ending cut."""
    lines = text.split("\n")
    edited = [line.replace("，", ",", 1) + ("据悉。" if rng.random() < 0.15 else "")
              for line in lines]
    for index in rng.sample(range(len(edited)), k=max(1, len(edited) // 10)):
        edited[index] = edited[index][: len(edited[index]) // 2]
    return [
        "（原标题：" + lines[0][:20] + "）\n" + text,
        text + "\n特别声明：本文为转载，版权归原作者所有。\n责任编辑：李明_NB1234",
        "\n".join(edited),
        "\n".join(lines[: max(1, int(len(lines) * 0.8))]),
    ]


def test_shingles_ignore_spaces_and_punctuation() -> None:
    assert shingles("乌镇，互联网 大会") == shingles("乌镇互联网大会")
    assert "乌镇互联网" in shingles("乌镇互联网大会")
    assert fingerprint("太短了") is None


def test_repost_is_near_and_same_topic_is_not() -> None:
    reference = fingerprint(truth_text("netease/dy-post2020-reference"))
    repost = fingerprint(truth_text("netease/dy-repost"))
    other = fingerprint(truth_text("netease/dy-same-topic"))
    assert reference and repost and other
    assert reference.jaccard(repost.hashvalues) >= THRESHOLD
    assert reference.jaccard(other.hashvalues) < THRESHOLD / 4


def test_threshold_separates_copies_from_distinct_stories() -> None:
    """Precision and recall at THRESHOLD on every fixture: its near copies match, distinct
    stories do not (the www/m copy pair is one story and excluded from the distinct set)."""
    rng = random.Random(7)
    texts = {case.parent.name + "/" + case.name: load_json(case / "truth.json")["text"]
             for case in article_cases()}
    same_story = {frozenset({"netease/mobile-2025", "netease/news-post2020"}),
                  frozenset({"netease/dy-post2020-reference", "netease/dy-repost"})}
    prints = {name: fingerprint(text) for name, text in texts.items()}
    found = missed = 0
    for name, text in texts.items():
        for copy in near_copies(text, rng):
            similar = prints[name].jaccard(fingerprint(copy).hashvalues) >= THRESHOLD
            found, missed = found + similar, missed + (not similar)
    false_matches = [
        (a, b) for a, b in itertools.combinations(texts, 2)
        if frozenset({a, b}) not in same_story
        and prints[a].jaccard(prints[b].hashvalues) >= THRESHOLD
    ]
    assert missed == 0 and found == 4 * len(texts)
    assert false_matches == []


@pytest.fixture
def writer(tmp_path: Path) -> ArchiveWriter:
    return ArchiveWriter(open_archive(tmp_path / "a.db"))


def store_text(writer: ArchiveWriter, url: str, text: str) -> str:
    return writer.store(None, "s", make_page(url), make_article(url, text=text),
                        fingerprint=fingerprint(text))


def test_near_copy_points_at_the_first_seen_article(writer: ArchiveWriter,
                                                   tmp_path: Path) -> None:
    original = truth_text("netease/dy-post2020-reference")
    assert store_text(writer, "https://x.test/original", original) == "new"
    assert store_text(writer, "https://x.test/repost",
                      truth_text("netease/dy-repost")) == "near-duplicate"
    assert store_text(writer, "https://x.test/other",
                      truth_text("netease/dy-same-topic")) == "new"
    # The index lives in the archive: a new connection (a restart) still finds copies,
    # and a copy of the copy points at the original, not at the copy.
    reopened = ArchiveWriter(open_archive(tmp_path / "a.db"))
    copy_of_copy = "（原标题：转载）\n" + truth_text("netease/dy-repost")
    assert store_text(reopened, "https://x.test/again", copy_of_copy) == "near-duplicate"
    rows = {r["url"]: r for r in reopened.db["articles"].rows}
    original_id = rows["https://x.test/original"]["id"]
    assert rows["https://x.test/repost"]["duplicate_of"] == original_id
    assert rows["https://x.test/again"]["duplicate_of"] == original_id
    assert rows["https://x.test/other"]["duplicate_of"] is None
    assert rows["https://x.test/original"]["duplicate_of"] is None


def test_revision_replaces_the_articles_band_keys(writer: ArchiveWriter) -> None:
    url = "https://x.test/edited"
    store_text(writer, url, truth_text("netease/dy-post2020-reference"))
    other = truth_text("netease/dy-same-topic")
    assert writer.store(None, "s", make_page(url), make_article(url, text=other),
                        fingerprint=fingerprint(other), revisit=True) == "revised"
    assert index_keys(writer) == list(enumerate(fingerprint(other).bands))


def index_keys(writer: ArchiveWriter) -> list[tuple[int, int]]:
    return writer.db.execute("select band, key from lsh_recent union all "
                             "select band, key from lsh_bands order by band").fetchall()


def test_keys_fold_from_level_to_level_and_are_found_on_every_level(
        writer: ArchiveWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    """New keys go to lsh_recent; a full level is folded into the next; lookups find an
    original wherever its keys are. Three levels here (LEVELS takes any number)."""
    monkeypatch.setattr(archive.neardup, "LEVELS",
                        (("lsh_recent", 3), ("lsh_more", 6), ("lsh_bands", None)))
    db = writer.db
    db.execute("create table lsh_more (band integer not null, key integer not null, "
               "article_id integer not null, primary key (band, key, article_id)) without rowid")

    def rows() -> tuple[int, int, int]:
        return tuple(db.execute(f"select count(*) from {table}").fetchone()[0]
                     for table in ("lsh_recent", "lsh_more", "lsh_bands"))

    original = truth_text("netease/dy-post2020-reference")
    assert store_text(writer, "https://x.test/original", original) == "new"
    assert store_text(writer, "https://x.test/other", truth_text("netease/dy-same-topic")) == "new"
    assert rows() == (64, 0, 0)
    assert store_text(writer, "https://x.test/repost",
                      truth_text("netease/dy-repost")) == "near-duplicate"  # found in recent
    assert rows() == (0, 96, 0)  # the third article folded lsh_recent
    assert store_text(writer, "https://x.test/again",
                      "（原标题：转载）\n" + original) == "near-duplicate"  # found in the middle
    for case in ("netease/gbk-2004", "generic/sina-gbk"):
        store_text(writer, f"https://x.test/{case}", truth_text(case))
    assert rows() == (0, 0, 192)  # lsh_recent full: folded, which filled the middle level
    assert store_text(writer, "https://x.test/third",
                      original + "\n责任编辑：李明") == "near-duplicate"  # found in bands
    # A folded article's keys are replaced when it is revised.
    url = "https://x.test/other"
    edited = truth_text("netease/pc2019")
    assert writer.store(None, "s", make_page(url), make_article(url, text=edited),
                        fingerprint=fingerprint(edited), revisit=True) == "revised"
    assert rows() == (64, 0, 160)


def test_archive_from_before_m007_keeps_its_near_duplicate_index(tmp_path: Path) -> None:
    """m002's rowid table of band keys becomes m007's keyed table, every entry kept."""
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for migration in MIGRATIONS[:6]:
        migration(db)
        db["_migrations"].insert({"name": migration.__name__, "applied_at": "2025-11-01"})
    original = truth_text("netease/dy-post2020-reference")
    old_print = fingerprint(original)
    assert old_print is not None
    article_id = db["articles"].insert(
        {**make_article("https://x.test/original", text=original), "images": "[]",
         "fetched_at": "2025-11-01T00:00:00+00:00", "content_hash": "old",
         "first_seen_at": "2025-11-01T00:00:00+00:00"}).last_pk
    db["article_minhash"].insert({"article_id": article_id, "hashvalues": old_print.hashvalues})
    db["lsh_bands"].insert_all({"band": band, "key": key, "article_id": article_id}
                               for band, key in enumerate(old_print.bands))
    db.close()

    writer = ArchiveWriter(open_archive(path))
    sql = writer.db.execute("select sql from sqlite_master where name = 'lsh_bands'").fetchone()
    assert "without rowid" in sql[0].lower()
    assert writer.db.execute("select count(*) from lsh_bands").fetchone()[0] == 32
    assert writer.db.execute("select count(*) from lsh_recent").fetchone()[0] == 0
    assert store_text(writer, "https://x.test/repost",
                      truth_text("netease/dy-repost")) == "near-duplicate"
    row = writer.db.execute("select duplicate_of from articles where url = ?",
                            ["https://x.test/repost"]).fetchone()
    assert row[0] == article_id


def test_lookup_is_indexed(writer: ArchiveWriter) -> None:
    plan = " ".join(row[3] for row in writer.db.execute(
        "explain query plan select article_id from lsh_bands where band = 1 and key = 2"))
    assert "USING PRIMARY KEY (band=? AND key=?)" in plan  # m007: the table is the index
    plan = " ".join(row[3] for row in writer.db.execute(
        "explain query plan select 1 from article_urls where url = 'x'"))
    assert "USING" in plan and "INDEX" in plan
