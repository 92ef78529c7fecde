"""Raw pages in zstd with a dictionary per site (archive/pagecodec.py), the contentless
search index (m005) and the migrations that bring an older archive to both."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import sqlite_utils
from backports import zstd
from browse_data import REFERENCE_TITLE, build_archive, reference_article

from archive import open_archive, pagedicts
from archive.fts import FTS_TABLE, search, segment, text_snippet
from archive.migrations import MIGRATIONS
from archive.pagecodec import (
    compress_for_archive,
    decompress_page,
    site_dictionary,
    site_of,
)
from archive.store import ArchiveWriter
from conftest import FIXTURES, make_article, make_page

PAGE = (FIXTURES / "netease" / "dy-post2020-reference" / "page.html").read_bytes()


def site_page(i: int, rng: random.Random) -> bytes:
    """A page of one site: the reference page's template around its own words."""
    words = "".join(rng.choice("乌镇桐乡互联网小镇智能网联汽车的了在是") for _ in range(2000))
    return PAGE.replace(b"</body>", f"<p>{i} {words}</p></body>".encode())


def store_site_pages(writer: ArchiveWriter, count: int, seed: int,
                     prefix: str) -> dict[str, bytes]:
    """`count` pages of www.163.com stored by `writer`, oldest first: {url: page}."""
    rng = random.Random(seed)
    bodies: dict[str, bytes] = {}
    for i in range(count):
        url = f"https://www.163.com/dy/article/{prefix}{i:015d}.html"
        bodies[url] = site_page(i, rng)
        writer.store(None, "s", make_page(url, bodies[url]), make_article(url, text=f"第{i}段。"))
    return bodies


def pages_of(db: sqlite_utils.Database, site: str) -> list[dict]:
    return [dict(zip(("id", "url", "body", "codec"), row, strict=True)) for row in db.execute(
        "select id, url, body, codec from pages where url like ? order by id",
        [f"https://{site}/%"])]


@pytest.fixture
def small_training(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(pagedicts, "TRAIN_AFTER", 12)
    monkeypatch.setattr(pagedicts, "SAMPLES", 12)
    return 12


def test_a_site_gets_its_dictionary_after_its_first_pages(tmp_path: Path,
                                                           small_training: int) -> None:
    db = open_archive(tmp_path / "archive.db")
    writer = ArchiveWriter(db)
    rng = random.Random(1)
    bodies: dict[str, bytes] = {}
    for i in range(small_training + 5):
        url = f"https://www.163.com/dy/article/P{i:015d}.html"
        bodies[url] = site_page(i, rng)
        writer.store(None, "s", make_page(url, bodies[url]), make_article(url, text=f"第{i}段。"))
        if i < small_training - 1:
            assert site_dictionary(db, "www.163.com") is None
    # Another site's pages are not its business.
    other = "https://news.example.org/a.html"
    writer.store(None, "s", make_page(other, PAGE), None)

    dict_id = site_dictionary(db, "www.163.com")
    assert dict_id is not None
    [(site, trained_on, size)] = db.execute("select site, pages, size from page_dicts")
    assert (site, trained_on) == ("www.163.com", small_training) and size >= 4096
    rows = pages_of(db, "www.163.com")
    # The pages stored before it was trained were re-stored with it: every one has it.
    assert {row["codec"] for row in rows} == {f"zstd-dict:{dict_id}"}
    assert all(decompress_page(db, row) == bodies[row["url"]] for row in rows)
    for row in rows:
        plain = compress_for_archive(None, None, bodies[row["url"]])[0]
        assert len(row["body"]) < 0.8 * len(plain)
    [other_row] = pages_of(db, "news.example.org")
    assert other_row["codec"] == "zstd" and decompress_page(db, other_row) == PAGE


def test_samples_are_read_joined_and_train_what_zstd_would(
        tmp_path: Path, small_training: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The newest SAMPLES pages of the site, read into one buffer in id order, train the
    dictionary zstd.train_dict trains on the same pages given one by one."""
    db = open_archive(tmp_path / "archive.db")
    monkeypatch.setattr(pagedicts, "TRAIN_AFTER", 10**6)  # the writer trains none
    bodies = list(store_site_pages(ArchiveWriter(db), small_training + 4, 5, "S").values())
    monkeypatch.setattr(pagedicts, "TRAIN_AFTER", small_training)
    samples = pagedicts.training_samples(db, "www.163.com")
    assert samples is not None
    newest = bodies[-small_training:]
    assert samples.pages == small_training
    assert samples.sizes == tuple(map(len, newest))
    assert samples.joined == b"".join(newest)
    size = len(samples.joined) // pagedicts.SAMPLE_BYTES_PER_DICT_BYTE
    assert pagedicts.train_dictionary(samples) == zstd.train_dict(newest, size).dict_content


def test_a_crawl_trains_in_the_background_and_stores_the_dictionary_at_the_end(
        tmp_path: Path, small_training: int) -> None:
    """The crawl's writer (train_in_background) goes on storing pages while zstd trains;
    the dictionary is kept, and every page re-stored with it, by a later page or finish()."""
    db = open_archive(tmp_path / "archive.db")
    writer = ArchiveWriter(db, train_in_background=True)
    bodies = store_site_pages(writer, small_training + 3, 3, "B")
    writer.finish()
    dict_id = site_dictionary(db, "www.163.com")
    assert dict_id is not None
    assert db.execute("select site, pages from page_dicts").fetchall() == [
        ("www.163.com", small_training)]
    rows = pages_of(db, "www.163.com")
    assert len(rows) == small_training + 3
    assert {row["codec"] for row in rows} == {f"zstd-dict:{dict_id}"}
    assert all(decompress_page(db, row) == bodies[row["url"]] for row in rows)


def test_workers_compress_with_the_dictionary_they_find_in_the_archive(
        tmp_path: Path, small_training: int) -> None:
    path = tmp_path / "archive.db"
    db = open_archive(path)
    writer = ArchiveWriter(db)
    rng = random.Random(2)
    blob, codec = compress_for_archive(str(path), "www.163.com", PAGE)
    assert codec == "zstd"
    for i in range(small_training):
        url = f"https://www.163.com/dy/article/Q{i:015d}.html"
        writer.store(None, "s", make_page(url, site_page(i, rng)), None)
    body = site_page(99, rng)
    blob, codec = compress_for_archive(str(path), "www.163.com", body)
    assert codec == f"zstd-dict:{site_dictionary(db, 'www.163.com')}"
    # What a worker computed is stored as given, and reads back in another process's view.
    url = "https://www.163.com/dy/article/Q999999999999999.html"
    writer.store(None, "s", make_page(url, body), None, body_blob=blob, body_codec=codec)
    fresh = sqlite3.connect(path)
    row = fresh.execute("select body, codec from pages where url = ?", [url]).fetchone()
    assert row == (blob, codec) and decompress_page(fresh, row) == body


def test_tiny_pages_train_no_dictionary_and_stay_plain(tmp_path: Path,
                                                       small_training: int) -> None:
    db = open_archive(tmp_path / "archive.db")
    writer = ArchiveWriter(db)
    for i in range(2 * small_training):
        url = f"https://tiny.example.org/{i}.html"
        writer.store(None, "s", make_page(url, f"<html>{i}</html>".encode()), None)
    assert db.execute("select count(*) from page_dicts").fetchone()[0] == 0
    assert {row["codec"] for row in pages_of(db, "tiny.example.org")} == {"zstd"}


def test_site_of_is_the_requested_host() -> None:
    assert site_of("https://WWW.163.com/dy/article/X.html?a=1") == "www.163.com"
    assert site_of("http://127.0.0.1:8123/a") == "127.0.0.1:8123"


def test_decompress_page_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="codec"):
        decompress_page(None, (b"", "brotli"))
    with pytest.raises(ValueError, match="codec"):
        decompress_page(None, (b"", "zstd-dict:1"))  # no archive to find it in
    conn = sqlite3.connect(":memory:")
    conn.execute("create table page_dicts (id integer primary key, dict blob)")
    with pytest.raises(LookupError):
        decompress_page(conn, (b"", "zstd-dict:7"))


# An archive from before m005 and m006 -------------------------------------------------

def old_archive(path: Path) -> None:
    """An archive as m001-m004 left it: zlib pages, the FTS table keeping its text."""
    db = sqlite_utils.Database(path)
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for migration in MIGRATIONS[:4]:
        migration(db)
        db["_migrations"].insert({"name": migration.__name__, "applied_at": "2025-11-01"})
    article = reference_article()
    article_id = db["articles"].insert({
        **article, "images": "[]", "fetched_at": "2025-11-01T00:00:00+00:00",
        "first_seen_at": "2025-11-01T00:00:00+00:00", "content_hash": "x"}).last_pk
    db["pages"].insert({"url": article["url"], "final_url": article["url"], "status": 200,
                        "fetched_at": "2025-11-01T00:00:00+00:00",
                        "body": zlib.compress(PAGE, 6), "body_size": len(PAGE),
                        "article_id": article_id})
    db.execute(f"insert into {FTS_TABLE} (rowid, title, text) values (?, ?, ?)",
               [article_id, segment(article["title"]), segment(article["text"])])
    db.conn.commit()
    db.close()


def test_migrations_bring_an_old_archive_to_contentless_search_and_page_codecs(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_archive(path)
    db = open_archive(path)
    names = [row[0] for row in db.execute("select name from _migrations order by name")]
    assert {"m005_contentless_fts", "m006_page_codecs"} <= set(names)
    sql = db.execute("select sql from sqlite_master where name = ?", [FTS_TABLE]).fetchone()[0]
    assert "content = ''" in sql
    # The index came over as it was: found, with its snippet, from articles' own text.
    [hit] = search(db, "乌镇")
    assert hit["title"] == REFERENCE_TITLE
    assert "\ue000乌镇\ue001" in hit["snippet"]
    assert db.execute(f"select title, text from {FTS_TABLE}").fetchall() == [(None, None)]
    # The zlib page is read as zlib; a new page is zstd.
    [row] = pages_of(db, "www.163.com")
    assert row["codec"] == "zlib" and decompress_page(db, row) == PAGE
    writer = ArchiveWriter(db)
    url = "https://www.163.com/dy/article/NEW0000000000001.html"
    writer.store(None, "s", make_page(url, PAGE), None)
    new = next(r for r in pages_of(db, "www.163.com") if r["url"] == url)
    assert new["codec"] == "zstd" and decompress_page(db, new) == PAGE


def test_search_snippet_marks_words_as_the_index_matched_them(tmp_path: Path) -> None:
    build_archive(tmp_path / "archive.db")
    db = open_archive(tmp_path / "archive.db")
    [hit] = search(db, "互联 小镇")  # 互联 is a part of 互联网: found and marked as the word
    assert "\ue000互联网\ue001" in hit["snippet"] and "\ue000小镇\ue001" in hit["title_marked"]
    text = "第一行没有。\n这里说到智能网联汽车。\n" + "后面" * 100
    assert text_snippet(text, "汽车") == "…这里说到智能网联\ue000汽车\ue001。 " + "后面" * 34 + "…"
    assert text_snippet(text, "联网小镇") == snippet_of_start(text)  # no match: the start


def snippet_of_start(text: str) -> str:
    from archive.fts import snippet

    return snippet(text)


def test_a_fingerprint_needs_neither_scipy_nor_datasketch() -> None:
    """A worker fingerprints with rensa alone (datasketch's package imports scipy, ~50 MB
    a process); the band layout is datasketch's optimum, kept as a constant."""
    text = "世界互联网大会乌镇峰会十周年系列重要活动之一,国际互联网小镇发布活动"
    code = ("import sys; from pipelines.dedup import fingerprint; "
            f"f = fingerprint({text!r}); "
            "print('scipy' in sys.modules, 'datasketch' in sys.modules, f.hashvalues.hex())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).parents[1])
    scipy, package, values = done.stdout.split()
    assert (scipy, package) == ("False", "False")
    from datasketch.lsh import _optimal_param
    from rensa import RMinHash

    from pipelines.dedup import LAYOUT, NUM_PERM, SEED, THRESHOLD, shingles

    reference = RMinHash(num_perm=NUM_PERM, seed=SEED)
    reference.update(list(shingles(text)))
    assert values == b"".join(v.to_bytes(4, "little") for v in reference.digest()).hex()
    assert tuple(int(v) for v in _optimal_param(THRESHOLD, NUM_PERM, 0.1, 0.9)) == LAYOUT


def test_a_site_whose_pages_drift_gets_a_new_dictionary(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         small_training: int) -> None:
    monkeypatch.setattr(pagedicts, "BASELINE", 5)
    monkeypatch.setattr(pagedicts, "RETRAIN_AFTER", 10)
    db = open_archive(tmp_path / "archive.db")
    writer = ArchiveWriter(db)
    rng = random.Random(3)
    for i in range(small_training + 10):  # the template it was trained on: no drift
        url = f"https://www.163.com/dy/article/R{i:015d}.html"
        writer.store(None, "s", make_page(url, site_page(i, rng)), None)
    first = site_dictionary(db, "www.163.com")
    assert first is not None
    # A new template, nothing like the old: its pages compress worse and worse with the
    # old dictionary, until a new one is trained on the newest pages.
    redesign = bytes(rng.randrange(256) for _ in range(30000))
    bodies = {}
    for i in range(3 * small_training):
        url = f"https://www.163.com/dy/article/S{i:015d}.html"
        bodies[url] = redesign + f"<p>{i}</p>".encode() + site_page(i, rng)[-3000:]
        writer.store(None, "s", make_page(url, bodies[url]), None)
    second = site_dictionary(db, "www.163.com")
    assert second is not None and second > first
    assert db.execute("select count(*) from page_dicts").fetchone()[0] == 2
    rows = pages_of(db, "www.163.com")
    assert {row["codec"] for row in rows} == {f"zstd-dict:{first}", f"zstd-dict:{second}"}
    assert all(decompress_page(db, row) == bodies[row["url"]] for row in rows
               if row["url"] in bodies)
    # Every page reads back, whichever dictionary it has.
    assert all(decompress_page(db, row) for row in rows)
